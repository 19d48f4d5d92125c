// Pkcs11Custody: ed25519/ecdsa signing in a PKCS#11 token; sr25519 secrets wrapped by an AES key.
#include "keymgr/pkcs11_custody.h"

#include <fcntl.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "base/hash.h"
#include "base/hex.h"
#include "pkcs11_module.h"

namespace keymgr {
namespace {

using pkcs11::Attr;
using pkcs11::AttrBytes;
using pkcs11::AttrOf;
using pkcs11::kFalse;
using pkcs11::kTrue;
using pkcs11::Session;

// DER OIDs for CKA_EC_PARAMS: id-Ed25519 (RFC 8410) and secp256k1 (SEC 2).
constexpr uint8_t kEd25519Oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
constexpr uint8_t kSecp256k1Oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};

// CKA_APPLICATION of the data objects that hold wrapped sr25519 secrets; the version is the record
// format.
constexpr std::string_view kWrappedApplication = "polkadot-remote-signer/sr25519-wrapped/v1";
constexpr std::string_view kWrappingKeyLabel = "polkadot-remote-signer/sr25519-wrapping-key/v1";
// CKA_APPLICATION of disable markers: data objects labelled "<key type>:<public key hex>" whose
// presence on the token is what makes a key disabled.
constexpr std::string_view kDisabledApplication = "polkadot-remote-signer/disabled/v1";
constexpr std::string_view kOriginGenerated = "generated";
constexpr std::string_view kOriginImported = "imported";
// Temporary CKA_ID of a freshly generated pair before its public key (and so its identity) is
// known.
constexpr std::string_view kPendingIdPrefix = "pending:";

constexpr size_t kMaxPinSize = 256;
constexpr size_t kSecp256k1UncompressedSize = 65;
constexpr size_t kEcdsaCompactSize = 64;
// A fixed message signed after import: proves the HSM took the key material the way we meant it.
constexpr uint8_t kImportProbe[] = {'k', 'e', 'y', 'm', 'g', 'r', ' ',
                                    'i', 'm', 'p', 'o', 'r', 't'};

static_assert(kSr25519SecretSize == 64);

int64_t SystemClock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const secp256k1_context* Secp256k1() {
  static secp256k1_context* context = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  return context;
}

std::string AsString(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<uint8_t> IdBytes(const KeyId& id) {
  std::vector<uint8_t> bytes(id.key_type.begin(), id.key_type.end());
  bytes.insert(bytes.end(), id.public_key.begin(), id.public_key.end());
  return bytes;
}

// The label is the human-readable identity any PKCS#11 tool shows: "<type>:<public hex>:<unix
// secs>:<origin>".
std::string MakeLabel(const KeyId& id, int64_t created_at, std::string_view origin) {
  return base::KeyTypeName(id.key_type) + ":" + base::HexEncode(id.public_key) + ":" +
         std::to_string(created_at) + ":" + std::string(origin);
}

struct ParsedLabel {
  KeyId id;
  int64_t created_at = 0;
  bool generated = false;
};

std::optional<ParsedLabel> ParseLabel(std::span<const uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<std::string_view> parts;
  while (true) {
    size_t colon = text.find(':');
    parts.push_back(text.substr(0, colon));
    if (colon == std::string_view::npos) break;
    text.remove_prefix(colon + 1);
  }
  if (parts.size() != 4) return std::nullopt;
  base::Result<base::KeyTypeId> key_type = base::MakeKeyTypeId(parts[0]);
  base::Result<std::vector<uint8_t>> public_key = base::HexDecode(parts[1]);
  if (!key_type.ok() || !public_key.ok()) return std::nullopt;
  ParsedLabel parsed;
  parsed.id = KeyId{*key_type, std::move(public_key).value()};
  auto [end, error] =
      std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), parsed.created_at);
  if (error != std::errc() || end != parts[2].data() + parts[2].size()) return std::nullopt;
  if (parts[3] == kOriginGenerated) {
    parsed.generated = true;
  } else if (parts[3] != kOriginImported) {
    return std::nullopt;
  }
  return parsed;
}

// DisabledLabel is the exact label of `id`'s disable marker, so a marker is found with one search.
std::string DisabledLabel(const KeyId& id) {
  return base::KeyTypeName(id.key_type) + ":" + base::HexEncode(id.public_key);
}

std::optional<KeyId> ParseDisabledLabel(std::span<const uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  base::Result<base::KeyTypeId> key_type = base::MakeKeyTypeId(text.substr(0, colon));
  base::Result<std::vector<uint8_t>> public_key = base::HexDecode(text.substr(colon + 1));
  if (!key_type.ok() || !public_key.ok() || public_key->empty()) return std::nullopt;
  return KeyId{*key_type, std::move(public_key).value()};
}

// DecodeEcPoint accepts CKA_EC_POINT either DER-wrapped in an OCTET STRING (PKCS#11 2.40) or raw
// (some modules).
std::vector<uint8_t> DecodeEcPoint(std::vector<uint8_t> point) {
  if (point.size() >= 2 && point[0] == 0x04 && point[1] < 0x80 && point[1] + 2u == point.size()) {
    return std::vector<uint8_t>(point.begin() + 2, point.end());
  }
  return point;
}

std::vector<uint8_t> DerOctetString(std::span<const uint8_t> bytes) {
  // Sized up front: GCC 12's -Warray-bounds misfires on insert() after an initializer list here.
  std::vector<uint8_t> der(2 + bytes.size());
  der[0] = 0x04;
  der[1] = static_cast<uint8_t>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), der.begin() + 2);
  return der;
}

base::Result<EcdsaPublic> CompressSecp256k1(std::span<const uint8_t> point) {
  secp256k1_pubkey parsed;
  if (secp256k1_ec_pubkey_parse(Secp256k1(), &parsed, point.data(), point.size()) != 1) {
    return base::Status::Internal("HSM returned an invalid secp256k1 point");
  }
  EcdsaPublic compressed{};
  size_t size = compressed.size();
  (void)secp256k1_ec_pubkey_serialize(Secp256k1(), compressed.data(), &size, &parsed,
                                      SECP256K1_EC_COMPRESSED);
  return compressed;
}

base::Result<std::array<uint8_t, kSecp256k1UncompressedSize>> UncompressSecp256k1(
    std::span<const uint8_t> point) {
  secp256k1_pubkey parsed;
  if (secp256k1_ec_pubkey_parse(Secp256k1(), &parsed, point.data(), point.size()) != 1) {
    return base::Status::InvalidArgument("invalid secp256k1 public key");
  }
  std::array<uint8_t, kSecp256k1UncompressedSize> uncompressed{};
  size_t size = uncompressed.size();
  (void)secp256k1_ec_pubkey_serialize(Secp256k1(), uncompressed.data(), &size, &parsed,
                                      SECP256K1_EC_UNCOMPRESSED);
  return uncompressed;
}

// FinishEcdsa turns the HSM's raw r || s into Substrate's form: low-S, then the recovery id that
// recovers `public_key`. Fails closed (kInternal) when no recovery id does, i.e. the HSM signed
// with another key.
base::Result<EcdsaSignature> FinishEcdsa(std::span<const uint8_t, kEcdsaCompactSize> raw,
                                         std::span<const uint8_t> digest,
                                         std::span<const uint8_t> public_key) {
  secp256k1_ecdsa_signature signature;
  if (secp256k1_ecdsa_signature_parse_compact(Secp256k1(), &signature, raw.data()) != 1) {
    return base::Status::Internal("HSM returned an unparsable ECDSA signature");
  }
  (void)secp256k1_ecdsa_signature_normalize(Secp256k1(), &signature, &signature);
  EcdsaSignature out{};
  (void)secp256k1_ecdsa_signature_serialize_compact(Secp256k1(), out.data(), &signature);
  for (int recovery_id = 0; recovery_id < 4; ++recovery_id) {
    secp256k1_ecdsa_recoverable_signature recoverable;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(Secp256k1(), &recoverable, out.data(),
                                                            recovery_id) != 1) {
      continue;
    }
    secp256k1_pubkey recovered;
    if (secp256k1_ecdsa_recover(Secp256k1(), &recovered, &recoverable, digest.data()) != 1)
      continue;
    EcdsaPublic compressed{};
    size_t size = compressed.size();
    (void)secp256k1_ec_pubkey_serialize(Secp256k1(), compressed.data(), &size, &recovered,
                                        SECP256K1_EC_COMPRESSED);
    if (std::equal(compressed.begin(), compressed.end(), public_key.begin(), public_key.end())) {
      out[kEcdsaSignatureSize - 1] = static_cast<uint8_t>(recovery_id);
      return out;
    }
  }
  return base::Status::Internal("HSM ECDSA signature does not recover the key's public key");
}

// ObjectGuard destroys a (session) object when it goes out of scope unless released: no half-made
// keys or transient plaintext key objects survive an error path.
class ObjectGuard {
 public:
  ObjectGuard(Session& session, CK_OBJECT_HANDLE object) : session_(session), object_(object) {}
  ~ObjectGuard() {
    if (object_ != CK_INVALID_HANDLE)
      (void)session_.fn()->C_DestroyObject(session_.handle(), object_);
  }
  ObjectGuard(const ObjectGuard&) = delete;
  ObjectGuard& operator=(const ObjectGuard&) = delete;
  void Release() { object_ = CK_INVALID_HANDLE; }

 private:
  Session& session_;
  CK_OBJECT_HANDLE object_;
};

// FindOne returns the single object matching `templ`: kNotFound if none, kInternal if several
// (ambiguous identities must never pick a key at random).
base::Result<CK_OBJECT_HANDLE> FindOne(Session& session, std::span<CK_ATTRIBUTE> templ,
                                       std::string_view what) {
  base::Result<std::vector<CK_OBJECT_HANDLE>> found = pkcs11::FindObjects(session, templ);
  if (!found.ok()) return found.status();
  if (found->empty()) return base::Status::NotFound(std::string(what) + " not found on the token");
  if (found->size() > 1)
    return base::Status::Internal(std::string(what) + " is ambiguous: several objects match");
  return found->front();
}

base::Result<CK_OBJECT_HANDLE> FindPrivateKey(Session& session, const KeyId& id,
                                              CK_KEY_TYPE key_type) {
  const std::vector<uint8_t> id_bytes = IdBytes(id);
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrOf(CKA_KEY_TYPE, key_type),
                          AttrBytes(CKA_ID, id_bytes)};
  return FindOne(session, templ, "private key");
}

std::vector<uint8_t> ApplicationBytes() {
  return std::vector<uint8_t>(kWrappedApplication.begin(), kWrappedApplication.end());
}

struct WrappedObject {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  ParsedLabel label;
};

// ReadLabel reads CKA_LABEL in one attribute call when it fits a buffer that holds any label of
// ours (pkcs11::GetBytes asks for the size first, two calls); a listing reads every label.
base::Result<std::vector<uint8_t>> ReadLabel(Session& session, CK_OBJECT_HANDLE object) {
  std::array<uint8_t, 256> buffer{};
  CK_ATTRIBUTE label{CKA_LABEL, buffer.data(), static_cast<CK_ULONG>(buffer.size())};
  if (session.fn()->C_GetAttributeValue(session.handle(), object, &label, 1) == CKR_OK) {
    return std::vector<uint8_t>(buffer.begin(),
                                buffer.begin() + static_cast<ptrdiff_t>(label.ulValueLen));
  }
  return pkcs11::GetBytes(session, object, CKA_LABEL);
}

// ListWrapped returns every sr25519 data object of ours whose label parses.
base::Result<std::vector<WrappedObject>> ListWrapped(Session& session) {
  const std::vector<uint8_t> application = ApplicationBytes();
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_APPLICATION, application)};
  base::Result<std::vector<CK_OBJECT_HANDLE>> found = pkcs11::FindObjects(session, templ);
  if (!found.ok()) return found.status();
  std::vector<WrappedObject> objects;
  for (CK_OBJECT_HANDLE handle : *found) {
    base::Result<std::vector<uint8_t>> label = ReadLabel(session, handle);
    if (!label.ok()) return label.status();
    std::optional<ParsedLabel> parsed = ParseLabel(*label);
    if (!parsed.has_value() || parsed->id.public_key.size() != kSr25519PublicSize) continue;
    objects.push_back(WrappedObject{handle, std::move(*parsed)});
  }
  return objects;
}

// PickWrapped returns the one object of `objects` that is `id`.
base::Result<WrappedObject> PickWrapped(std::vector<WrappedObject>& objects, const KeyId& id) {
  std::optional<WrappedObject> match;
  for (WrappedObject& object : objects) {
    if (object.label.id != id) continue;
    if (match.has_value())
      return base::Status::Internal("wrapped sr25519 key is ambiguous: several objects match");
    match = std::move(object);
  }
  if (!match.has_value()) return base::Status::NotFound("sr25519 key not found on the token");
  return *std::move(match);
}

CK_KEY_TYPE Pkcs11KeyType(base::Scheme scheme) {
  return scheme == base::Scheme::kEd25519 ? CKK_EC_EDWARDS : CKK_EC;
}

std::span<const uint8_t> EcParams(base::Scheme scheme) {
  if (scheme == base::Scheme::kEd25519) return kEd25519Oid;
  return kSecp256k1Oid;
}

std::vector<uint8_t> DisabledApplicationBytes() {
  return std::vector<uint8_t>(kDisabledApplication.begin(), kDisabledApplication.end());
}

// FindMarkers returns the disable markers of `id` (normally none or one).
base::Result<std::vector<CK_OBJECT_HANDLE>> FindMarkers(Session& session, const KeyId& id) {
  const std::vector<uint8_t> application = DisabledApplicationBytes();
  const std::string label = DisabledLabel(id);
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_APPLICATION, application),
                          Attr(CKA_LABEL, label.data(), label.size())};
  return pkcs11::FindObjects(session, templ);
}

// ReadDisabled returns the identity of every disable marker on the token: one search, then one
// label per marker, so its cost grows with the disabled keys only.
base::Result<std::set<KeyId>> ReadDisabled(Session& session) {
  const std::vector<uint8_t> application = DisabledApplicationBytes();
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_APPLICATION, application)};
  base::Result<std::vector<CK_OBJECT_HANDLE>> found = pkcs11::FindObjects(session, templ);
  if (!found.ok()) return found.status();
  std::set<KeyId> disabled;
  for (CK_OBJECT_HANDLE handle : *found) {
    base::Result<std::vector<uint8_t>> label = pkcs11::GetBytes(session, handle, CKA_LABEL);
    if (!label.ok()) return label.status();
    // A marker we cannot read disables nothing we could name; it is not ours to judge.
    if (std::optional<KeyId> id = ParseDisabledLabel(*label)) disabled.insert(std::move(*id));
  }
  return disabled;
}

// WriteMarker creates the disable marker of `id`: a private, unmodifiable token data object whose
// value records when the key was disabled (Unix seconds, decimal), for an auditor's eyes only.
base::Result<CK_OBJECT_HANDLE> WriteMarker(Session& session, const KeyId& id, int64_t now) {
  const std::vector<uint8_t> application = DisabledApplicationBytes();
  const std::string label = DisabledLabel(id);
  const std::string value = std::to_string(now);
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {
      AttrOf(CKA_CLASS, klass),
      AttrOf(CKA_TOKEN, kTrue),
      AttrOf(CKA_PRIVATE, kTrue),
      AttrOf(CKA_MODIFIABLE, kFalse),
      AttrBytes(CKA_APPLICATION, application),
      Attr(CKA_LABEL, label.data(), label.size()),
      Attr(CKA_VALUE, value.data(), value.size()),
  };
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  if (base::Status s = session.Check(
          session.fn()->C_CreateObject(session.handle(), templ, std::size(templ), &object),
          "C_CreateObject (disable marker)");
      !s.ok()) {
    return s;
  }
  return object;
}

base::Status CheckSchemeForKeyType(const base::KeyTypeId& key_type, base::Scheme scheme) {
  std::optional<base::Scheme> required = base::RequiredSchemeForKeyType(key_type);
  if (required.has_value() && *required != scheme) {
    return base::Status::InvalidArgument("key type " + base::KeyTypeName(key_type) + " requires " +
                                         std::string(base::SchemeName(*required)));
  }
  return base::Status::Ok();
}

}  // namespace

base::Result<base::SecretBytes> ReadPinFromFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return base::Status::NotFound("PIN file does not exist: " + path);
    if (errno == ELOOP)
      return base::Status::InvalidArgument("PIN file must not be a symlink: " + path);
    return base::Status::InvalidArgument("cannot open PIN file " + path + ": " +
                                         std::strerror(errno));
  }
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return base::Status::InvalidArgument("PIN file is not a regular file: " + path);
  }
  // Checked on the open descriptor, so the file cannot be swapped between the check and the read.
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    close(fd);
    return base::Status::InvalidArgument("PIN file must have mode 0600 or stricter: " + path);
  }
  if (info.st_uid != geteuid()) {
    close(fd);
    return base::Status::InvalidArgument("PIN file must be owned by the signer's user: " + path);
  }
  base::SecretBytes buffer(kMaxPinSize + 1);
  size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t got = read(fd, buffer.data() + size, buffer.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      close(fd);
      return base::Status::InvalidArgument("cannot read PIN file " + path);
    }
    if (got == 0) break;
    size += static_cast<size_t>(got);
  }
  close(fd);
  if (size > kMaxPinSize) return base::Status::InvalidArgument("PIN file is too long: " + path);
  if (size > 0 && buffer.data()[size - 1] == '\n') --size;
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  if (size == 0) return base::Status::InvalidArgument("PIN file is empty: " + path);
  return base::SecretBytes::CopyFrom(buffer.span().first(size));
}

base::Result<base::SecretBytes> ReadPinFromEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0')
    return base::Status::NotFound("environment variable " + name + " is not set");
  const size_t size = std::strlen(value);
  if (size > kMaxPinSize) return base::Status::InvalidArgument("PIN in " + name + " is too long");
  return base::SecretBytes::CopyFrom(std::span(reinterpret_cast<const uint8_t*>(value), size));
}

struct Pkcs11Custody::Impl {
  std::unique_ptr<pkcs11::SessionPool> pool;
  int64_t (*clock)() = &SystemClock;
  // Serialises Generate/Import/Delete in this process so "is this identity already stored?" and the
  // write that follows are atomic, and the wrapping key is created at most once.
  std::mutex write_mutex;
  mutable std::mutex loaded_mutex;
  // An unwrapped sr25519 key and the token object it was unwrapped from. The plaintext is a copy
  // of a key another process may delete at any time (`signerctl keys delete` beside signerd), so
  // the entry is trusted only while that object still is the key: every use re-reads it, as an
  // HSM-native key's remembered handle is re-read (LoadSr25519).
  struct LoadedSr25519 {
    // shared_ptr so UnloadSecrets never frees a key under a signer: the secret is wiped when its
    // last user finishes.
    std::shared_ptr<const Sr25519Keypair> pair;
    CK_OBJECT_HANDLE wrapped_object = CK_INVALID_HANDLE;
  };
  std::map<KeyId, LoadedSr25519> loaded;

  // The disable markers last read from the token. Sign calls trust them for disabled_refresh, then
  // read them again, so a disable written by another process is honoured within that time.
  std::chrono::milliseconds disabled_refresh{std::chrono::seconds(2)};
  std::mutex disabled_mutex;
  std::set<KeyId> disabled_keys;
  bool disabled_known = false;
  std::chrono::steady_clock::time_point disabled_read_at;
  // Bumped by every marker change this instance makes: a read that started before the change may
  // miss it, so its result is thrown away.
  uint64_t disabled_generation = 0;

  std::mutex wrapping_key_mutex;
  CK_OBJECT_HANDLE wrapping_key_hint = CK_INVALID_HANDLE;

  // The background reader of the disable markers (none when disabled_refresh is zero): it keeps the
  // markers younger than disabled_refresh, so sign calls do not wait for a token search.
  std::thread refresher;
  std::mutex refresher_mutex;
  std::condition_variable refresher_wake;
  bool refresher_stopping = false;

  // RefreshDisabled reads the markers and installs them.
  base::Status RefreshDisabled() {
    const std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
    uint64_t generation = 0;
    {
      std::lock_guard lock(disabled_mutex);
      generation = disabled_generation;
    }
    base::Result<std::set<KeyId>> markers = base::Status::Internal("unset");
    {
      base::Result<Session> session = pool->Acquire();
      if (!session.ok()) return session.status();
      markers = ReadDisabled(*session);
    }
    if (!markers.ok()) return markers.status();
    (void)ApplyDisabled(std::move(markers).value(), now, generation);
    return base::Status::Ok();
  }

  void StartRefresher() {
    if (disabled_refresh.count() == 0) return;
    // Half the bound, so a read that takes a while still lands in time; not below 100 ms, where
    // sign calls reading the markers themselves is the cheaper way to honour the bound.
    const std::chrono::milliseconds interval =
        std::max(disabled_refresh / 2, std::chrono::milliseconds(100));
    refresher = std::thread([this, interval] {
      std::unique_lock lock(refresher_mutex);
      // The first read is left to the first sign or list call; this thread only keeps it fresh.
      while (!refresher_wake.wait_for(lock, interval, [this] { return refresher_stopping; })) {
        lock.unlock();
        // A failed read is not fatal here: the markers age, and the next sign call reads them
        // itself and fails closed if it cannot.
        (void)RefreshDisabled();
        lock.lock();
      }
    });
  }

  void StopRefresher() {
    {
      std::lock_guard lock(refresher_mutex);
      refresher_stopping = true;
    }
    refresher_wake.notify_all();
    if (refresher.joinable()) refresher.join();
  }

  // Where each wrapped object was last seen. Only a hint: a hit is checked against the token, a
  // miss scans it. It makes finding one key cost a few attribute reads instead of one per key held.
  std::mutex hint_mutex;
  std::map<KeyId, CK_OBJECT_HANDLE> wrapped_hints;

  // ScanWrapped lists every wrapped object and remembers where each one is.
  base::Result<std::vector<WrappedObject>> ScanWrapped(Session& session) {
    base::Result<std::vector<WrappedObject>> objects = ListWrapped(session);
    if (!objects.ok()) return objects.status();
    std::lock_guard lock(hint_mutex);
    wrapped_hints.clear();
    for (const WrappedObject& object : *objects) wrapped_hints[object.label.id] = object.handle;
    return objects;
  }

  void RememberWrapped(const KeyId& id, CK_OBJECT_HANDLE handle) {
    std::lock_guard lock(hint_mutex);
    wrapped_hints[id] = handle;
  }

  // FindWrapped finds the wrapped object of `id`: where it was last seen if the object there still
  // is ours and still names `id`, otherwise by scanning every wrapped object (which also finds
  // duplicates, an error).
  base::Result<WrappedObject> FindWrapped(Session& session, const KeyId& id) {
    std::optional<CK_OBJECT_HANDLE> hint;
    {
      std::lock_guard lock(hint_mutex);
      if (auto it = wrapped_hints.find(id); it != wrapped_hints.end()) hint = it->second;
    }
    if (hint.has_value()) {
      base::Result<std::vector<uint8_t>> application =
          pkcs11::GetBytes(session, *hint, CKA_APPLICATION);
      base::Result<std::vector<uint8_t>> label = pkcs11::GetBytes(session, *hint, CKA_LABEL);
      if (application.ok() && label.ok() && *application == ApplicationBytes()) {
        std::optional<ParsedLabel> parsed = ParseLabel(*label);
        if (parsed.has_value() && parsed->id == id) {
          return WrappedObject{*hint, std::move(*parsed)};
        }
      }
    }
    base::Result<std::vector<WrappedObject>> objects = ScanWrapped(session);
    if (!objects.ok()) return objects.status();
    return PickWrapped(*objects, id);
  }

  // ApplyDisabled installs the markers a read begun at `read_at` found, unless this instance
  // changed markers since the read began (`generation`). Returns false when the read was dropped.
  bool ApplyDisabled(std::set<KeyId> markers, std::chrono::steady_clock::time_point read_at,
                     uint64_t generation) {
    std::lock_guard lock(disabled_mutex);
    if (generation != disabled_generation) return false;
    if (disabled_known && read_at < disabled_read_at) return true;  // a newer read is in place
    disabled_keys = std::move(markers);
    disabled_known = true;
    disabled_read_at = read_at;
    // A disabled key's secret has no business in memory; a later enable unwraps it again.
    for (const KeyId& id : disabled_keys) Forget(id);
    return true;
  }

  // MarkersChanged is called after this instance wrote or removed markers: the next sign call
  // reads them again.
  void MarkersChanged(const KeyId& id) {
    {
      std::lock_guard lock(disabled_mutex);
      ++disabled_generation;
      disabled_known = false;
    }
    Forget(id);
  }

  // CheckEnabled fails with kNotFound if `id` is disabled, going by markers read at most
  // disabled_refresh ago, and fails closed (as the token does) if they cannot be read.
  base::Status CheckEnabled(const KeyId& id) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
      uint64_t generation = 0;
      {
        std::lock_guard lock(disabled_mutex);
        if (disabled_known && now - disabled_read_at < disabled_refresh) {
          if (disabled_keys.contains(id)) return base::Status::NotFound("key is disabled");
          return base::Status::Ok();
        }
        generation = disabled_generation;
      }
      base::Result<std::set<KeyId>> markers = base::Status::Internal("unset");
      {
        base::Result<Session> session = pool->Acquire();
        if (!session.ok()) return session.status();
        markers = ReadDisabled(*session);
      }
      if (!markers.ok()) return markers.status();
      if (ApplyDisabled(std::move(markers).value(), now, generation)) {
        std::lock_guard lock(disabled_mutex);
        if (disabled_keys.contains(id)) return base::Status::NotFound("key is disabled");
        return base::Status::Ok();
      }
    }
    return base::Status::Unavailable("disable markers changed during every read");
  }

  // HoldsKey is true if the token has a private key or a wrapped secret for `id`.
  base::Result<bool> HoldsKey(Session& session, const KeyId& id) {
    const std::vector<uint8_t> id_bytes = IdBytes(id);
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_ID, id_bytes)};
    base::Result<std::vector<CK_OBJECT_HANDLE>> keys = pkcs11::FindObjects(session, templ);
    if (!keys.ok()) return keys.status();
    if (!keys->empty()) return true;
    if (id.public_key.size() != kSr25519PublicSize) return false;
    base::Result<WrappedObject> wrapped = FindWrapped(session, id);
    if (wrapped.ok()) return true;
    if (wrapped.status().code() == base::StatusCode::kNotFound) return false;
    return wrapped.status();
  }

  base::Result<CK_OBJECT_HANDLE> FindWrappingKey(Session& session) {
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE key_type = CKK_AES;
    CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrOf(CKA_KEY_TYPE, key_type),
                            Attr(CKA_LABEL, kWrappingKeyLabel.data(), kWrappingKeyLabel.size())};
    return FindOne(session, templ, "sr25519 wrapping key");
  }

  // EnsureWrappingKey finds the AES-256 wrapping key or creates it: a token key that can wrap and
  // unwrap but never be read, exported, or used to encrypt arbitrary data. Caller holds
  // write_mutex.
  base::Result<CK_OBJECT_HANDLE> EnsureWrappingKey(Session& session) {
    base::Result<CK_OBJECT_HANDLE> found = FindWrappingKey(session);
    if (found.ok() || found.status().code() != base::StatusCode::kNotFound) return found;
    CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
    CK_ULONG value_len = 32;
    CK_ATTRIBUTE templ[] = {
        AttrOf(CKA_TOKEN, kTrue),
        AttrOf(CKA_PRIVATE, kTrue),
        AttrOf(CKA_SENSITIVE, kTrue),
        AttrOf(CKA_EXTRACTABLE, kFalse),
        AttrOf(CKA_WRAP, kTrue),
        AttrOf(CKA_UNWRAP, kTrue),
        AttrOf(CKA_ENCRYPT, kFalse),
        AttrOf(CKA_DECRYPT, kFalse),
        AttrOf(CKA_SIGN, kFalse),
        AttrOf(CKA_VERIFY, kFalse),
        AttrOf(CKA_DERIVE, kFalse),
        AttrOf(CKA_MODIFIABLE, kFalse),
        AttrOf(CKA_VALUE_LEN, value_len),
        Attr(CKA_LABEL, kWrappingKeyLabel.data(), kWrappingKeyLabel.size()),
    };
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    if (base::Status s = session.Check(session.fn()->C_GenerateKey(session.handle(), &mechanism,
                                                                   templ, std::size(templ), &key),
                                       "C_GenerateKey (sr25519 wrapping key)");
        !s.ok()) {
      return s;
    }
    return key;
  }

  // Wrap returns the CKM_AES_KEY_WRAP_PAD wrapping of `secret`. The secret enters the HSM only as a
  // sensitive session object that is destroyed before returning; it is never written to the token.
  base::Result<std::vector<uint8_t>> Wrap(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                          std::span<const uint8_t> secret) {
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE key_type = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE templ[] = {
        AttrOf(CKA_CLASS, klass),     AttrOf(CKA_KEY_TYPE, key_type), AttrOf(CKA_TOKEN, kFalse),
        AttrOf(CKA_SENSITIVE, kTrue), AttrOf(CKA_EXTRACTABLE, kTrue), AttrBytes(CKA_VALUE, secret),
    };
    CK_OBJECT_HANDLE transient = CK_INVALID_HANDLE;
    if (base::Status s = session.Check(
            session.fn()->C_CreateObject(session.handle(), templ, std::size(templ), &transient),
            "C_CreateObject (transient sr25519 secret)");
        !s.ok()) {
      return s;
    }
    ObjectGuard guard(session, transient);
    CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    // RFC 5649 adds at most 15 bytes; query anyway so modules with other framing still work.
    CK_ULONG size = 0;
    if (base::Status s =
            session.Check(session.fn()->C_WrapKey(session.handle(), &mechanism, wrapping_key,
                                                  transient, nullptr, &size),
                          "C_WrapKey");
        !s.ok()) {
      return s;
    }
    std::vector<uint8_t> wrapped(size);
    if (base::Status s =
            session.Check(session.fn()->C_WrapKey(session.handle(), &mechanism, wrapping_key,
                                                  transient, wrapped.data(), &size),
                          "C_WrapKey");
        !s.ok()) {
      return s;
    }
    wrapped.resize(size);
    return wrapped;
  }

  // Unwrap recovers the 64-byte secret of `object` straight into SecretBytes and checks it against
  // the identity the object claims; a mismatch (swapped or corrupted object) fails closed.
  base::Result<Sr25519Keypair> Unwrap(Session& session, const WrappedObject& object) {
    // Searching for the wrapping key costs a pass over the whole token inside the module, so the
    // handle found last is tried first. A wrong key cannot pass: AES key wrap authenticates, and
    // the result must give the public key in the label; any failure searches again.
    CK_OBJECT_HANDLE hint = CK_INVALID_HANDLE;
    {
      std::lock_guard lock(wrapping_key_mutex);
      hint = wrapping_key_hint;
    }
    if (hint != CK_INVALID_HANDLE) {
      base::Result<Sr25519Keypair> pair = UnwrapWith(session, hint, object);
      if (pair.ok()) return pair;
    }
    base::Result<CK_OBJECT_HANDLE> wrapping_key = FindWrappingKey(session);
    if (!wrapping_key.ok()) return wrapping_key.status();
    {
      std::lock_guard lock(wrapping_key_mutex);
      wrapping_key_hint = *wrapping_key;
    }
    return UnwrapWith(session, *wrapping_key, object);
  }

  // UnwrapWith is Unwrap with the wrapping key already found (a pass over many keys finds it once).
  base::Result<Sr25519Keypair> UnwrapWith(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                          const WrappedObject& object) {
    base::Result<std::vector<uint8_t>> wrapped =
        pkcs11::GetBytes(session, object.handle, CKA_VALUE);
    if (!wrapped.ok()) return wrapped.status();
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE key_type = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE templ[] = {
        AttrOf(CKA_CLASS, klass),      AttrOf(CKA_KEY_TYPE, key_type), AttrOf(CKA_TOKEN, kFalse),
        AttrOf(CKA_SENSITIVE, kFalse), AttrOf(CKA_EXTRACTABLE, kTrue),
    };
    CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    CK_OBJECT_HANDLE transient = CK_INVALID_HANDLE;
    if (base::Status s = session.Check(
            session.fn()->C_UnwrapKey(session.handle(), &mechanism, wrapping_key, wrapped->data(),
                                      static_cast<CK_ULONG>(wrapped->size()), templ,
                                      std::size(templ), &transient),
            "C_UnwrapKey (sr25519 secret)");
        !s.ok()) {
      return s;
    }
    ObjectGuard guard(session, transient);
    base::SecretBytes secret(kSr25519SecretSize);
    CK_ATTRIBUTE value{CKA_VALUE, secret.data(), static_cast<CK_ULONG>(secret.size())};
    if (base::Status s =
            session.Check(session.fn()->C_GetAttributeValue(session.handle(), transient, &value, 1),
                          "C_GetAttributeValue (unwrapped sr25519 secret)");
        !s.ok()) {
      return s;
    }
    if (value.ulValueLen != kSr25519SecretSize)
      return base::Status::Internal("unwrapped sr25519 secret has wrong size");
    base::Result<Sr25519Keypair> pair = Sr25519Keypair::FromSecret(secret.span());
    if (!pair.ok()) return base::Status::Internal("unwrapped sr25519 secret is not a valid key");
    if (!std::equal(pair->public_key().begin(), pair->public_key().end(),
                    object.label.id.public_key.begin(), object.label.id.public_key.end())) {
      return base::Status::Internal(
          "wrapped sr25519 secret does not match the public key in its label");
    }
    return pair;
  }

  // StoreWrapped checks that `pair` is not stored yet, then stores it. Caller holds write_mutex.
  base::Result<KeyInfo> StoreWrapped(Session& session, const base::KeyTypeId& key_type,
                                     const Sr25519Keypair& pair, bool generated) {
    const KeyId id{key_type,
                   std::vector<uint8_t>(pair.public_key().begin(), pair.public_key().end())};
    if (base::Status exists = EnsureAbsent(session, id); !exists.ok()) return exists;
    base::Result<CK_OBJECT_HANDLE> wrapping_key = EnsureWrappingKey(session);
    if (!wrapping_key.ok()) return wrapping_key.status();
    return StoreWrappedWith(session, *wrapping_key, key_type, pair, generated, /*disabled=*/false);
  }

  // StoreWrappedWith wraps `pair` and writes the data object, then unwraps it again to prove the
  // stored form works before reporting success. With `disabled`, the disable marker is written
  // first, so no reader ever sees the key enabled. The caller has checked that the key is absent
  // and holds write_mutex.
  base::Result<KeyInfo> StoreWrappedWith(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                         const base::KeyTypeId& key_type,
                                         const Sr25519Keypair& pair, bool generated,
                                         bool disabled) {
    KeyInfo info;
    info.id =
        KeyId{key_type, std::vector<uint8_t>(pair.public_key().begin(), pair.public_key().end())};
    info.scheme = base::Scheme::kSr25519;
    info.protection = KeyProtection::kHsmWrapped;
    info.generated_in_custody = generated;
    info.created_at_unix = clock();
    info.disabled = disabled;
    std::optional<ObjectGuard> marker_guard;
    if (disabled) {
      base::Result<std::vector<CK_OBJECT_HANDLE>> markers = FindMarkers(session, info.id);
      if (!markers.ok()) return markers.status();
      if (markers->empty()) {
        base::Result<CK_OBJECT_HANDLE> marker = WriteMarker(session, info.id, info.created_at_unix);
        if (!marker.ok()) return marker.status();
        marker_guard.emplace(session, *marker);
      }
    }
    base::Result<std::vector<uint8_t>> wrapped = Wrap(session, wrapping_key, pair.secret());
    if (!wrapped.ok()) return wrapped.status();
    const std::string label =
        MakeLabel(info.id, info.created_at_unix, generated ? kOriginGenerated : kOriginImported);
    const std::vector<uint8_t> application = ApplicationBytes();
    CK_OBJECT_CLASS klass = CKO_DATA;
    CK_ATTRIBUTE templ[] = {
        AttrOf(CKA_CLASS, klass),
        AttrOf(CKA_TOKEN, kTrue),
        AttrOf(CKA_PRIVATE, kTrue),
        AttrOf(CKA_MODIFIABLE, kFalse),
        AttrBytes(CKA_APPLICATION, application),
        Attr(CKA_LABEL, label.data(), label.size()),
        AttrBytes(CKA_VALUE, *wrapped),
    };
    CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
    if (base::Status s = session.Check(
            session.fn()->C_CreateObject(session.handle(), templ, std::size(templ), &object),
            "C_CreateObject (wrapped sr25519 secret)");
        !s.ok()) {
      return s;
    }
    ObjectGuard guard(session, object);
    base::Result<Sr25519Keypair> check =
        UnwrapWith(session, wrapping_key,
                   WrappedObject{object, ParsedLabel{info.id, info.created_at_unix, generated}});
    if (!check.ok()) return check.status();
    guard.Release();
    if (marker_guard.has_value()) marker_guard->Release();
    RememberWrapped(info.id, object);
    return info;
  }

  // EnsureAbsent fails with kInvalidArgument if any object of ours already carries `id`.
  base::Status EnsureAbsent(Session& session, const KeyId& id) {
    const std::vector<uint8_t> id_bytes = IdBytes(id);
    CK_ATTRIBUTE templ[] = {AttrBytes(CKA_ID, id_bytes)};
    base::Result<std::vector<CK_OBJECT_HANDLE>> keys = pkcs11::FindObjects(session, templ);
    if (!keys.ok()) return keys.status();
    if (!keys->empty()) return base::Status::InvalidArgument("key already stored");
    base::Result<WrappedObject> wrapped = FindWrapped(session, id);
    if (wrapped.ok()) return base::Status::InvalidArgument("key already stored");
    if (wrapped.status().code() != base::StatusCode::kNotFound) return wrapped.status();
    return base::Status::Ok();
  }

  // Handles of HSM-native private keys, so a signature needs no C_FindObjects: SoftHSM2's file
  // store re-reads its object directory on every search, which cost ~8% of signerd's CPU. PKCS#11
  // token-object handles are shared by every session of the application, so one map serves the
  // pool. Only a hint: each use re-reads the handle's class, key type and CKA_ID (one attribute
  // call, much cheaper than a search), because another process may delete the key and the module
  // may reuse the number for a new object; a mismatch or an invalid handle falls back to a search.
  // Delete, Disable, Enable, Import and Generate drop the entry of their key.
  std::mutex private_key_hint_mutex;
  std::map<KeyId, CK_OBJECT_HANDLE> private_key_hints;

  static bool HandleGone(CK_RV rv) {
    return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID;
  }

  void ForgetPrivateKey(const KeyId& id) {
    std::lock_guard lock(private_key_hint_mutex);
    private_key_hints.erase(id);
  }

  // HintStillNames reads the class, key type and CKA_ID of `handle` in one call: true only if it is
  // still the private key of `id`; false if it is gone or now something else. Other module errors
  // (session lost, token removed) fail.
  base::Result<bool> HintStillNames(Session& session, CK_OBJECT_HANDLE handle, const KeyId& id,
                                    CK_KEY_TYPE key_type) {
    const std::vector<uint8_t> expected_id = IdBytes(id);
    std::vector<uint8_t> stored_id(expected_id.size());
    CK_OBJECT_CLASS klass = 0;
    CK_KEY_TYPE stored_type = 0;
    CK_ATTRIBUTE templ[] = {{CKA_CLASS, &klass, sizeof(klass)},
                            {CKA_KEY_TYPE, &stored_type, sizeof(stored_type)},
                            {CKA_ID, stored_id.data(), static_cast<CK_ULONG>(stored_id.size())}};
    const CK_RV rv = session.fn()->C_GetAttributeValue(session.handle(), handle, templ, 3);
    // Too small a buffer (or a missing attribute) means a different object now sits there.
    if (HandleGone(rv) || rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID)
      return false;
    if (base::Status s = session.Check(rv, "C_GetAttributeValue"); !s.ok()) return s;
    return klass == CKO_PRIVATE_KEY && stored_type == key_type &&
           templ[2].ulValueLen == expected_id.size() && stored_id == expected_id;
  }

  // CachedPrivateKey returns the private key of `id`: the remembered handle if it still names the
  // key (`from_cache` true), otherwise by one search, whose result is remembered.
  base::Result<CK_OBJECT_HANDLE> CachedPrivateKey(Session& session, const KeyId& id,
                                                  CK_KEY_TYPE key_type, bool& from_cache) {
    std::optional<CK_OBJECT_HANDLE> hint;
    {
      std::lock_guard lock(private_key_hint_mutex);
      if (auto it = private_key_hints.find(id); it != private_key_hints.end()) hint = it->second;
    }
    if (hint.has_value()) {
      base::Result<bool> still = HintStillNames(session, *hint, id, key_type);
      if (!still.ok()) return still.status();
      if (*still) {
        from_cache = true;
        return *hint;
      }
      ForgetPrivateKey(id);
    }
    from_cache = false;
    base::Result<CK_OBJECT_HANDLE> found = FindPrivateKey(session, id, key_type);
    if (!found.ok()) return found.status();
    std::lock_guard lock(private_key_hint_mutex);
    private_key_hints[id] = *found;
    return found;
  }

  // SignRaw runs one single-part signature with the private key of `id` and `scheme` into `out`.
  base::Status SignRaw(const KeyId& id, base::Scheme scheme, CK_MECHANISM_TYPE mechanism_type,
                       std::span<const uint8_t> data, std::span<uint8_t, 64> out) {
    base::Result<Session> session = pool->Acquire();
    if (!session.ok()) return session.status();
    return SignRawIn(*session, id, scheme, mechanism_type, data, out);
  }

  base::Status SignRawIn(Session& session, const KeyId& id, base::Scheme scheme,
                         CK_MECHANISM_TYPE mechanism_type, std::span<const uint8_t> data,
                         std::span<uint8_t, 64> out) {
    const CK_KEY_TYPE key_type = Pkcs11KeyType(scheme);
    bool from_cache = false;
    base::Result<CK_OBJECT_HANDLE> key = CachedPrivateKey(session, id, key_type, from_cache);
    if (!key.ok()) return key.status();
    CK_MECHANISM mechanism{mechanism_type, nullptr, 0};
    CK_RV init_rv = session.fn()->C_SignInit(session.handle(), &mechanism, *key);
    if (from_cache && HandleGone(init_rv)) {
      // Deleted (or made invisible) between the check and the init: search once, retry once.
      ForgetPrivateKey(id);
      key = CachedPrivateKey(session, id, key_type, from_cache);
      if (!key.ok()) return key.status();
      init_rv = session.fn()->C_SignInit(session.handle(), &mechanism, *key);
    }
    if (base::Status s = session.Check(init_rv, "C_SignInit"); !s.ok()) return s;
    CK_ULONG size = static_cast<CK_ULONG>(out.size());
    // Some modules reject a null data pointer even for an empty message (ed25519 signs those too).
    static const uint8_t kNothing = 0;
    CK_BYTE_PTR data_ptr = const_cast<uint8_t*>(data.empty() ? &kNothing : data.data());
    CK_RV rv = session.fn()->C_Sign(session.handle(), data_ptr, static_cast<CK_ULONG>(data.size()),
                                    out.data(), &size);
    if (rv == CKR_BUFFER_TOO_SMALL)
      session.MarkBroken();  // the operation stays active after this one
    if (base::Status s = session.Check(rv, "C_Sign"); !s.ok()) return s;
    if (size != out.size()) return base::Status::Internal("HSM signature has unexpected length");
    return base::Status::Ok();
  }

  base::Result<Ed25519Signature> SignEd25519(const KeyId& id, std::span<const uint8_t> message) {
    if (id.public_key.size() != kEd25519PublicSize)
      return base::Status::NotFound("ed25519 key not held");
    Ed25519Signature signature{};
    if (base::Status s = SignRaw(id, base::Scheme::kEd25519, CKM_EDDSA, message, signature);
        !s.ok())
      return s;
    // Fail closed on a faulty HSM or a key object that does not match its label.
    if (!Ed25519Verify(id.public_key, message, signature)) {
      return base::Status::Internal("HSM ed25519 signature does not verify");
    }
    return signature;
  }

  base::Result<EcdsaSignature> SignEcdsaDigest(const KeyId& id, std::span<const uint8_t> digest) {
    if (digest.size() != kEcdsaPrehashSize)
      return base::Status::InvalidArgument("ecdsa prehash must be 32 bytes");
    if (id.public_key.size() != kEcdsaPublicSize)
      return base::Status::NotFound("ecdsa key not held");
    std::array<uint8_t, kEcdsaCompactSize> raw{};
    if (base::Status s = SignRaw(id, base::Scheme::kEcdsa, CKM_ECDSA, digest, raw); !s.ok())
      return s;
    return FinishEcdsa(raw, digest, id.public_key);
  }

  // WrappedStillNames reads the class, application and label of `object` in one attribute call:
  // true only if it is still our wrapped secret of `id`; false if it is gone or now something else
  // (the module may reuse the number). Other module errors (session lost, token removed) fail.
  base::Result<bool> WrappedStillNames(Session& session, CK_OBJECT_HANDLE object, const KeyId& id) {
    CK_OBJECT_CLASS klass = 0;
    // One byte more than ours, so a longer application is told apart rather than cut to fit.
    std::array<uint8_t, kWrappedApplication.size() + 1> application{};
    // Our labels are under 100 bytes; anything that does not fit here is not one of them.
    std::array<uint8_t, 256> label{};
    CK_ATTRIBUTE templ[] = {
        {CKA_CLASS, &klass, sizeof(klass)},
        {CKA_APPLICATION, application.data(), static_cast<CK_ULONG>(application.size())},
        {CKA_LABEL, label.data(), static_cast<CK_ULONG>(label.size())}};
    const CK_RV rv =
        session.fn()->C_GetAttributeValue(session.handle(), object, templ, std::size(templ));
    if (HandleGone(rv) || rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID)
      return false;
    if (base::Status s = session.Check(rv, "C_GetAttributeValue (wrapped sr25519 secret)"); !s.ok())
      return s;
    if (klass != CKO_DATA || templ[1].ulValueLen != kWrappedApplication.size() ||
        !std::equal(kWrappedApplication.begin(), kWrappedApplication.end(), application.begin())) {
      return false;
    }
    std::optional<ParsedLabel> parsed =
        ParseLabel(std::span<const uint8_t>(label.data(), templ[2].ulValueLen));
    return parsed.has_value() && parsed->id == id;
  }

  // ForgetLoaded wipes the remembered secret of `id` if it is still `pair` (a concurrent call may
  // already have put a fresh one in its place).
  void ForgetLoaded(const KeyId& id, const std::shared_ptr<const Sr25519Keypair>& pair) {
    std::lock_guard lock(loaded_mutex);
    if (auto it = loaded.find(id); it != loaded.end() && it->second.pair == pair) loaded.erase(it);
  }

  // LoadSr25519 returns the unwrapped key `id`. A remembered one is used only after one attribute
  // read shows its wrapped object still on the token (WrappedStillNames); otherwise the token is
  // searched and the key unwrapped again, or kNotFound is returned and the stale secret wiped.
  // This is what makes a delete by another process stop sr25519 signing at the next call; disable
  // markers are checked by the callers (CheckEnabled) before this, as for every scheme.
  base::Result<std::shared_ptr<const Sr25519Keypair>> LoadSr25519(const KeyId& id) {
    if (id.public_key.size() != kSr25519PublicSize)
      return base::Status::NotFound("sr25519 key not held");
    std::optional<LoadedSr25519> remembered;
    {
      std::lock_guard lock(loaded_mutex);
      if (auto it = loaded.find(id); it != loaded.end()) remembered = it->second;
    }
    base::Result<Session> session = pool->Acquire();
    if (!session.ok()) return session.status();
    if (remembered.has_value()) {
      base::Result<bool> still = WrappedStillNames(*session, remembered->wrapped_object, id);
      if (!still.ok()) return still.status();
      if (*still) return remembered->pair;
      ForgetLoaded(id, remembered->pair);
    }
    base::Result<WrappedObject> object = FindWrapped(*session, id);
    if (!object.ok()) return object.status();
    base::Result<Sr25519Keypair> pair = Unwrap(*session, *object);
    if (!pair.ok()) return pair.status();
    auto shared = std::make_shared<const Sr25519Keypair>(std::move(pair).value());
    std::lock_guard lock(loaded_mutex);
    loaded[id] = LoadedSr25519{shared, object->handle};
    return shared;
  }

  // ImportNative creates the private and public key objects for an ed25519 or ecdsa secret, then
  // signs a probe to prove the HSM interpreted the key material as intended. `check_absent` false
  // means the caller already knows the key is absent; `disabled` writes the disable marker first.
  // Caller holds write_mutex.
  base::Result<KeyInfo> ImportNative(Session& session, const base::KeyTypeId& key_type,
                                     base::Scheme scheme, std::span<const uint8_t> secret,
                                     std::span<const uint8_t> public_key, bool check_absent = true,
                                     bool disabled = false) {
    KeyInfo info;
    info.id = KeyId{key_type, std::vector<uint8_t>(public_key.begin(), public_key.end())};
    info.scheme = scheme;
    info.protection = KeyProtection::kHsmNonExtractable;
    info.generated_in_custody = false;
    info.created_at_unix = clock();
    info.disabled = disabled;
    if (check_absent) {
      if (base::Status exists = EnsureAbsent(session, info.id); !exists.ok()) return exists;
    }
    std::optional<ObjectGuard> marker_guard;
    if (disabled) {
      base::Result<std::vector<CK_OBJECT_HANDLE>> markers = FindMarkers(session, info.id);
      if (!markers.ok()) return markers.status();
      if (markers->empty()) {
        base::Result<CK_OBJECT_HANDLE> marker = WriteMarker(session, info.id, info.created_at_unix);
        if (!marker.ok()) return marker.status();
        marker_guard.emplace(session, *marker);
      }
    }

    std::vector<uint8_t> ec_point;
    if (scheme == base::Scheme::kEd25519) {
      ec_point = DerOctetString(public_key);
    } else {
      base::Result<std::array<uint8_t, kSecp256k1UncompressedSize>> uncompressed =
          UncompressSecp256k1(public_key);
      if (!uncompressed.ok()) return uncompressed.status();
      ec_point = DerOctetString(*uncompressed);
    }
    const std::vector<uint8_t> id_bytes = IdBytes(info.id);
    const std::string label = MakeLabel(info.id, info.created_at_unix, kOriginImported);
    const std::span<const uint8_t> params = EcParams(scheme);
    CK_KEY_TYPE p11_key_type = Pkcs11KeyType(scheme);

    CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE private_templ[] = {
        AttrOf(CKA_CLASS, private_class), AttrOf(CKA_KEY_TYPE, p11_key_type),
        AttrOf(CKA_TOKEN, kTrue),         AttrOf(CKA_PRIVATE, kTrue),
        AttrOf(CKA_SENSITIVE, kTrue),     AttrOf(CKA_EXTRACTABLE, kFalse),
        AttrOf(CKA_SIGN, kTrue),          AttrOf(CKA_DERIVE, kFalse),
        AttrOf(CKA_DECRYPT, kFalse),      AttrOf(CKA_UNWRAP, kFalse),
        AttrBytes(CKA_EC_PARAMS, params), AttrBytes(CKA_VALUE, secret),
        AttrBytes(CKA_ID, id_bytes),      Attr(CKA_LABEL, label.data(), label.size()),
    };
    CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
    if (base::Status s =
            session.Check(session.fn()->C_CreateObject(session.handle(), private_templ,
                                                       std::size(private_templ), &private_key),
                          "C_CreateObject (private key)");
        !s.ok()) {
      return s;
    }
    ObjectGuard private_guard(session, private_key);
    CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE public_templ[] = {
        AttrOf(CKA_CLASS, public_class),
        AttrOf(CKA_KEY_TYPE, p11_key_type),
        AttrOf(CKA_TOKEN, kTrue),
        AttrOf(CKA_PRIVATE, kFalse),
        AttrOf(CKA_VERIFY, kTrue),
        AttrBytes(CKA_EC_PARAMS, params),
        AttrBytes(CKA_EC_POINT, ec_point),
        AttrBytes(CKA_ID, id_bytes),
        Attr(CKA_LABEL, label.data(), label.size()),
    };
    CK_OBJECT_HANDLE public_object = CK_INVALID_HANDLE;
    if (base::Status s =
            session.Check(session.fn()->C_CreateObject(session.handle(), public_templ,
                                                       std::size(public_templ), &public_object),
                          "C_CreateObject (public key)");
        !s.ok()) {
      return s;
    }
    ObjectGuard public_guard(session, public_object);
    if (base::Status s = ProbeNew(session, info.id, scheme, private_key); !s.ok()) return s;
    private_guard.Release();
    public_guard.Release();
    if (marker_guard.has_value()) marker_guard->Release();
    return info;
  }

  // ProbeNew proves the private key just stored at `private_key` signs as `id`. Its handle is
  // remembered first (replacing any handle of an earlier key of this id), so the probe checks it
  // with one attribute read instead of searching the token, which walks every object and so made
  // storing n keys (a restore) cost O(n^2). On failure the handle is forgotten; the caller's guards
  // destroy the objects.
  base::Status ProbeNew(Session& session, const KeyId& id, base::Scheme scheme,
                        CK_OBJECT_HANDLE private_key) {
    {
      std::lock_guard lock(private_key_hint_mutex);
      private_key_hints[id] = private_key;
    }
    base::Status probe = ProbeSign(session, id, scheme);
    if (!probe.ok()) ForgetPrivateKey(id);
    return probe;
  }

  // ProbeSign signs kImportProbe with the stored key and verifies it against the key's identity.
  base::Status ProbeSign(Session& session, const KeyId& id, base::Scheme scheme) {
    std::array<uint8_t, 64> raw{};
    if (scheme == base::Scheme::kEd25519) {
      if (base::Status s = SignRawIn(session, id, scheme, CKM_EDDSA, kImportProbe, raw); !s.ok())
        return s;
      if (!Ed25519Verify(id.public_key, kImportProbe, raw)) {
        return base::Status::Internal("HSM does not sign with the stored ed25519 key as expected");
      }
      return base::Status::Ok();
    }
    const base::Hash256 digest = base::Blake2b256(kImportProbe);
    if (base::Status s = SignRawIn(session, id, scheme, CKM_ECDSA, digest, raw); !s.ok()) return s;
    base::Result<EcdsaSignature> finished = FinishEcdsa(raw, digest, id.public_key);
    return finished.ok() ? base::Status::Ok() : finished.status();
  }

  // GenerateNative generates the pair inside the HSM under a pending CKA_ID, reads the public key,
  // then relabels both objects with their identity. Caller holds write_mutex.
  base::Result<KeyInfo> GenerateNative(Session& session, const base::KeyTypeId& key_type,
                                       base::Scheme scheme) {
    std::array<uint8_t, 16> nonce{};
    if (base::Status s = session.Check(
            session.fn()->C_GenerateRandom(session.handle(), nonce.data(), nonce.size()),
            "C_GenerateRandom");
        !s.ok()) {
      return s;
    }
    const std::string pending_id = std::string(kPendingIdPrefix) + base::HexEncode(nonce);
    const std::span<const uint8_t> params = EcParams(scheme);
    CK_ATTRIBUTE public_templ[] = {
        AttrOf(CKA_TOKEN, kTrue),
        AttrOf(CKA_PRIVATE, kFalse),
        AttrOf(CKA_VERIFY, kTrue),
        AttrBytes(CKA_EC_PARAMS, params),
        Attr(CKA_ID, pending_id.data(), pending_id.size()),
    };
    CK_ATTRIBUTE private_templ[] = {
        AttrOf(CKA_TOKEN, kTrue),
        AttrOf(CKA_PRIVATE, kTrue),
        AttrOf(CKA_SENSITIVE, kTrue),
        AttrOf(CKA_EXTRACTABLE, kFalse),
        AttrOf(CKA_SIGN, kTrue),
        AttrOf(CKA_DERIVE, kFalse),
        AttrOf(CKA_DECRYPT, kFalse),
        AttrOf(CKA_UNWRAP, kFalse),
        Attr(CKA_ID, pending_id.data(), pending_id.size()),
    };
    CK_MECHANISM mechanism{
        scheme == base::Scheme::kEd25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN,
        nullptr, 0};
    CK_OBJECT_HANDLE public_object = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
    if (base::Status s = session.Check(
            session.fn()->C_GenerateKeyPair(session.handle(), &mechanism, public_templ,
                                            std::size(public_templ), private_templ,
                                            std::size(private_templ), &public_object, &private_key),
            "C_GenerateKeyPair");
        !s.ok()) {
      return s;
    }
    ObjectGuard public_guard(session, public_object);
    ObjectGuard private_guard(session, private_key);
    base::Result<std::vector<uint8_t>> point =
        pkcs11::GetBytes(session, public_object, CKA_EC_POINT);
    if (!point.ok()) return point.status();
    std::vector<uint8_t> public_key = DecodeEcPoint(std::move(point).value());
    if (scheme == base::Scheme::kEcdsa) {
      base::Result<EcdsaPublic> compressed = CompressSecp256k1(public_key);
      if (!compressed.ok()) return compressed.status();
      public_key.assign(compressed->begin(), compressed->end());
    } else if (public_key.size() != kEd25519PublicSize) {
      return base::Status::Internal("HSM returned an ed25519 public key of unexpected size");
    }
    KeyInfo info;
    info.id = KeyId{key_type, std::move(public_key)};
    info.scheme = scheme;
    info.protection = KeyProtection::kHsmNonExtractable;
    info.generated_in_custody = true;
    info.created_at_unix = clock();
    if (base::Status exists = EnsureAbsent(session, info.id); !exists.ok()) return exists;
    const std::vector<uint8_t> id_bytes = IdBytes(info.id);
    const std::string label = MakeLabel(info.id, info.created_at_unix, kOriginGenerated);
    CK_ATTRIBUTE identity[] = {AttrBytes(CKA_ID, id_bytes),
                               Attr(CKA_LABEL, label.data(), label.size())};
    for (CK_OBJECT_HANDLE object : {public_object, private_key}) {
      if (base::Status s =
              session.Check(session.fn()->C_SetAttributeValue(session.handle(), object, identity,
                                                              std::size(identity)),
                            "C_SetAttributeValue (key identity)");
          !s.ok()) {
        return s;
      }
    }
    if (base::Status s = ProbeNew(session, info.id, scheme, private_key); !s.ok()) return s;
    public_guard.Release();
    private_guard.Release();
    return info;
  }

  // PrivateKeyAttributes is what a listing reads of one private key object.
  struct PrivateKeyAttributes {
    CK_ULONG key_type = 0;
    std::vector<uint8_t> label;
    std::vector<uint8_t> id;
    CK_BBOOL local = CK_FALSE;
    CK_BBOOL never_extractable = CK_FALSE;
    CK_BBOOL sensitive = CK_FALSE;
    CK_BBOOL extractable = CK_TRUE;
  };

  // ReadAllAtOnce reads every attribute a listing needs in one C_GetAttributeValue, or nullopt if
  // that one call does not succeed (a label or id that does not fit, an attribute the object lacks,
  // a lost session); the caller then reads them one by one for its exact errors. A listing reads
  // every key of every validator, and SoftHSM2's file store re-validates the object on each call,
  // so one call instead of nine per key is most of a listing's cost.
  static std::optional<PrivateKeyAttributes> ReadAllAtOnce(Session& session,
                                                           CK_OBJECT_HANDLE object) {
    PrivateKeyAttributes read;
    // Our labels are under 100 bytes and our ids 37; anything longer is not one of ours anyway.
    std::array<uint8_t, 256> label{};
    std::array<uint8_t, 64> id{};
    CK_ATTRIBUTE templ[] = {
        AttrOf(CKA_KEY_TYPE, read.key_type),
        {CKA_LABEL, label.data(), static_cast<CK_ULONG>(label.size())},
        {CKA_ID, id.data(), static_cast<CK_ULONG>(id.size())},
        AttrOf(CKA_LOCAL, read.local),
        AttrOf(CKA_NEVER_EXTRACTABLE, read.never_extractable),
        AttrOf(CKA_SENSITIVE, read.sensitive),
        AttrOf(CKA_EXTRACTABLE, read.extractable),
    };
    if (session.fn()->C_GetAttributeValue(session.handle(), object, templ, std::size(templ)) !=
        CKR_OK) {
      return std::nullopt;
    }
    read.label.assign(label.begin(), label.begin() + static_cast<ptrdiff_t>(templ[1].ulValueLen));
    read.id.assign(id.begin(), id.begin() + static_cast<ptrdiff_t>(templ[2].ulValueLen));
    return read;
  }

  // SchemeOfKeyType returns the scheme and public key size of a PKCS#11 key type of ours.
  static std::optional<std::pair<base::Scheme, size_t>> SchemeOfKeyType(CK_ULONG key_type) {
    if (key_type == CKK_EC_EDWARDS) return std::pair{base::Scheme::kEd25519, kEd25519PublicSize};
    if (key_type == CKK_EC) return std::pair{base::Scheme::kEcdsa, kEcdsaPublicSize};
    return std::nullopt;
  }

  // OurIdentity returns the identity a private key's label gives, if the object is one of ours:
  // a key type we use, a label that parses, and a CKA_ID that agrees with it.
  static std::optional<ParsedLabel> OurIdentity(const PrivateKeyAttributes& read) {
    std::optional<std::pair<base::Scheme, size_t>> scheme = SchemeOfKeyType(read.key_type);
    if (!scheme.has_value()) return std::nullopt;
    std::optional<ParsedLabel> parsed = ParseLabel(read.label);
    if (!parsed.has_value() || parsed->id.public_key.size() != scheme->second ||
        IdBytes(parsed->id) != read.id) {
      return std::nullopt;
    }
    return parsed;
  }

  // Describe builds KeyInfo from what was read, or nullopt if the object is not one of ours.
  static base::Result<std::optional<KeyInfo>> Describe(const PrivateKeyAttributes& read) {
    std::optional<ParsedLabel> parsed = OurIdentity(read);
    if (!parsed.has_value()) return std::optional<KeyInfo>();
    if (read.sensitive != CK_TRUE || read.extractable != CK_FALSE) {
      // Reported rather than hidden: an operator must see a key that lost its protection.
      return base::Status::Internal("private key " +
                                    std::string(read.label.begin(), read.label.end()) +
                                    " is extractable or not sensitive");
    }
    KeyInfo info;
    info.id = std::move(parsed->id);
    info.scheme = SchemeOfKeyType(read.key_type)->first;
    info.protection = KeyProtection::kHsmNonExtractable;
    // The HSM's own attestation, not our label: generated on the token and never extractable since.
    info.generated_in_custody = read.local == CK_TRUE && read.never_extractable == CK_TRUE;
    info.created_at_unix = parsed->created_at;
    return std::optional<KeyInfo>(std::move(info));
  }

  // DescribePrivateKey builds KeyInfo for one private key object, or nullopt if it is not one of
  // ours: one attribute call when it can, otherwise attribute by attribute, failing on the first
  // one that cannot be read.
  base::Result<std::optional<KeyInfo>> DescribePrivateKey(Session& session,
                                                          CK_OBJECT_HANDLE object) {
    if (std::optional<PrivateKeyAttributes> read = ReadAllAtOnce(session, object)) {
      return Describe(*read);
    }
    PrivateKeyAttributes read;
    base::Result<CK_ULONG> key_type = pkcs11::GetUlong(session, object, CKA_KEY_TYPE);
    if (!key_type.ok()) return key_type.status();
    read.key_type = *key_type;
    if (!SchemeOfKeyType(read.key_type).has_value()) return std::optional<KeyInfo>();
    base::Result<std::vector<uint8_t>> label = pkcs11::GetBytes(session, object, CKA_LABEL);
    base::Result<std::vector<uint8_t>> id_bytes = pkcs11::GetBytes(session, object, CKA_ID);
    if (!label.ok()) return label.status();
    if (!id_bytes.ok()) return id_bytes.status();
    read.label = std::move(label).value();
    read.id = std::move(id_bytes).value();
    if (!OurIdentity(read).has_value()) return std::optional<KeyInfo>();
    base::Result<bool> local = pkcs11::GetBool(session, object, CKA_LOCAL);
    base::Result<bool> never_extractable = pkcs11::GetBool(session, object, CKA_NEVER_EXTRACTABLE);
    base::Result<bool> sensitive = pkcs11::GetBool(session, object, CKA_SENSITIVE);
    base::Result<bool> extractable = pkcs11::GetBool(session, object, CKA_EXTRACTABLE);
    if (!local.ok() || !never_extractable.ok() || !sensitive.ok() || !extractable.ok()) {
      return base::Status::Internal("cannot read key protection attributes");
    }
    read.local = *local ? CK_TRUE : CK_FALSE;
    read.never_extractable = *never_extractable ? CK_TRUE : CK_FALSE;
    read.sensitive = *sensitive ? CK_TRUE : CK_FALSE;
    read.extractable = *extractable ? CK_TRUE : CK_FALSE;
    return Describe(read);
  }

  void Forget(const KeyId& id) {
    {
      std::lock_guard lock(loaded_mutex);
      loaded.erase(id);
    }
    ForgetPrivateKey(id);
  }
};

Pkcs11Custody::Pkcs11Custody(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pkcs11Custody::~Pkcs11Custody() {
  // Before the session pool goes: the refresher uses it.
  if (impl_ != nullptr) impl_->StopRefresher();
}

base::Result<std::unique_ptr<Pkcs11Custody>> Pkcs11Custody::Open(Pkcs11Config config) {
  if (config.pin.empty()) return base::Status::InvalidArgument("PKCS#11 user PIN is empty");
  base::Result<std::shared_ptr<pkcs11::Module>> module = pkcs11::Module::Load(config.module_path);
  if (!module.ok()) return module.status();
  base::Result<CK_SLOT_ID> slot = (*module)->FindSlotByTokenLabel(config.token_label);
  if (!slot.ok()) return base::Status::Unavailable(slot.status().message());
  base::Result<std::unique_ptr<pkcs11::SessionPool>> pool =
      pkcs11::SessionPool::Open(*module, *slot, std::move(config.pin), config.max_sessions);
  if (!pool.ok()) return pool.status();
  auto impl = std::make_unique<Impl>();
  impl->pool = std::move(pool).value();
  if (config.clock != nullptr) impl->clock = config.clock;
  if (config.disabled_refresh.count() < 0) {
    return base::Status::InvalidArgument("disabled_refresh must not be negative");
  }
  impl->disabled_refresh = config.disabled_refresh;
  impl->StartRefresher();
  return std::unique_ptr<Pkcs11Custody>(new Pkcs11Custody(std::move(impl)));
}

base::Result<std::vector<KeyInfo>> Pkcs11Custody::List() {
  base::Result<std::vector<KeyInfo>> all = ListAll();
  if (!all.ok()) return all.status();
  std::erase_if(*all, [](const KeyInfo& info) { return info.disabled; });
  return all;
}

base::Result<std::vector<KeyInfo>> Pkcs11Custody::ListAll() {
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  uint64_t generation = 0;
  {
    std::lock_guard lock(impl_->disabled_mutex);
    generation = impl_->disabled_generation;
  }
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  // Markers first: a key disabled while the keys are being read is then at worst reported
  // disabled after it was enabled again, never the other way round.
  base::Result<std::set<KeyId>> disabled = ReadDisabled(*session);
  if (!disabled.ok()) return disabled.status();
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass)};
  base::Result<std::vector<CK_OBJECT_HANDLE>> private_keys = pkcs11::FindObjects(*session, templ);
  if (!private_keys.ok()) return private_keys.status();
  std::vector<KeyInfo> infos;
  for (CK_OBJECT_HANDLE object : *private_keys) {
    base::Result<std::optional<KeyInfo>> info = impl_->DescribePrivateKey(*session, object);
    if (!info.ok()) return info.status();
    if (info->has_value()) infos.push_back(std::move(**info));
  }
  base::Result<std::vector<WrappedObject>> wrapped = impl_->ScanWrapped(*session);
  if (!wrapped.ok()) return wrapped.status();
  for (WrappedObject& object : *wrapped) {
    KeyInfo info;
    info.id = std::move(object.label.id);
    info.scheme = base::Scheme::kSr25519;
    info.protection = KeyProtection::kHsmWrapped;
    info.generated_in_custody = object.label.generated;
    info.created_at_unix = object.label.created_at;
    infos.push_back(std::move(info));
  }
  for (KeyInfo& info : infos) info.disabled = disabled->contains(info.id);
  // Validators list keys often, so this keeps the signing path's view fresh at no extra cost.
  (void)impl_->ApplyDisabled(std::move(disabled).value(), started, generation);
  return infos;
}

base::Result<KeyInfo> Pkcs11Custody::Generate(const base::KeyTypeId& key_type,
                                              base::Scheme scheme) {
  if (base::Status s = CheckSchemeForKeyType(key_type, scheme); !s.ok()) return s;
  std::lock_guard lock(impl_->write_mutex);
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  if (scheme != base::Scheme::kSr25519) return impl_->GenerateNative(*session, key_type, scheme);
  // The mini-secret comes from the HSM's generator, so a weak host RNG cannot weaken sr25519 keys.
  base::SecretBytes mini_secret(kSr25519MiniSecretSize);
  if (base::Status s =
          session->Check(session->fn()->C_GenerateRandom(session->handle(), mini_secret.data(),
                                                         mini_secret.size()),
                         "C_GenerateRandom");
      !s.ok()) {
    return s;
  }
  base::Result<Sr25519Keypair> pair = Sr25519Keypair::FromMiniSecret(mini_secret.span());
  if (!pair.ok()) return pair.status();
  return impl_->StoreWrapped(*session, key_type, *pair, /*generated=*/true);
}

base::Result<KeyInfo> Pkcs11Custody::Import(const base::KeyTypeId& key_type, const Keypair& pair) {
  if (base::Status s = CheckSchemeForKeyType(key_type, pair.scheme()); !s.ok()) return s;
  std::lock_guard lock(impl_->write_mutex);
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  if (const Sr25519Keypair* sr = pair.sr25519()) {
    return impl_->StoreWrapped(*session, key_type, *sr, /*generated=*/false);
  }
  if (const Ed25519Keypair* ed = pair.ed25519()) {
    return impl_->ImportNative(*session, key_type, base::Scheme::kEd25519, ed->seed(),
                               ed->public_key());
  }
  const EcdsaKeypair* ecdsa = pair.ecdsa();
  return impl_->ImportNative(*session, key_type, base::Scheme::kEcdsa, ecdsa->seed(),
                             ecdsa->public_key());
}

base::Status Pkcs11Custody::Delete(const KeyId& id) {
  std::lock_guard lock(impl_->write_mutex);
  impl_->Forget(id);
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  const std::vector<uint8_t> id_bytes = IdBytes(id);
  CK_ATTRIBUTE templ[] = {AttrBytes(CKA_ID, id_bytes)};
  base::Result<std::vector<CK_OBJECT_HANDLE>> objects = pkcs11::FindObjects(*session, templ);
  if (!objects.ok()) return objects.status();
  base::Result<std::vector<WrappedObject>> wrapped = ListWrapped(*session);
  if (!wrapped.ok()) return wrapped.status();
  for (const WrappedObject& object : *wrapped) {
    if (object.label.id == id) objects->push_back(object.handle);
  }
  if (objects->empty()) return base::Status::NotFound("key not held");
  // The marker goes last, so a failure part-way never leaves the key enabled.
  base::Result<std::vector<CK_OBJECT_HANDLE>> markers = FindMarkers(*session, id);
  if (!markers.ok()) return markers.status();
  objects->insert(objects->end(), markers->begin(), markers->end());
  for (CK_OBJECT_HANDLE object : *objects) {
    if (base::Status s = session->Check(session->fn()->C_DestroyObject(session->handle(), object),
                                        "C_DestroyObject");
        !s.ok()) {
      return s;
    }
  }
  // Again after the objects are gone, in case a concurrent signer unwrapped the key in between.
  impl_->MarkersChanged(id);
  return base::Status::Ok();
}

base::Result<bool> Pkcs11Custody::Holds(const KeyId& id) {
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  return impl_->HoldsKey(*session, id);
}

base::Status Pkcs11Custody::Disable(const KeyId& id) {
  std::lock_guard lock(impl_->write_mutex);
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  base::Result<bool> held = impl_->HoldsKey(*session, id);
  if (!held.ok()) return held.status();
  if (!*held) return base::Status::NotFound("key not held");
  base::Result<std::vector<CK_OBJECT_HANDLE>> markers = FindMarkers(*session, id);
  if (!markers.ok()) return markers.status();
  if (markers->empty()) {
    base::Result<CK_OBJECT_HANDLE> marker = WriteMarker(*session, id, impl_->clock());
    if (!marker.ok()) return marker.status();
  }
  impl_->MarkersChanged(id);
  return base::Status::Ok();
}

base::Status Pkcs11Custody::Enable(const KeyId& id) {
  std::lock_guard lock(impl_->write_mutex);
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  base::Result<bool> held = impl_->HoldsKey(*session, id);
  if (!held.ok()) return held.status();
  if (!*held) return base::Status::NotFound("key not held");
  base::Result<std::vector<CK_OBJECT_HANDLE>> markers = FindMarkers(*session, id);
  if (!markers.ok()) return markers.status();
  for (CK_OBJECT_HANDLE marker : *markers) {
    if (base::Status s = session->Check(session->fn()->C_DestroyObject(session->handle(), marker),
                                        "C_DestroyObject (disable marker)");
        !s.ok()) {
      return s;
    }
  }
  impl_->MarkersChanged(id);
  return base::Status::Ok();
}

struct Pkcs11Custody::BulkImport::State {
  Impl* impl = nullptr;
  std::unique_lock<std::mutex> write_lock;
  std::optional<Session> session;
  // CKA_ID values (key type || public key) of every key object and wrapped secret on the token, as
  // strings: GCC 12 misreads the memcmp bound of a set of byte vectors (-Wstringop-overread).
  std::set<std::string> present;
  CK_OBJECT_HANDLE wrapping_key = CK_INVALID_HANDLE;
};

Pkcs11Custody::BulkImport::BulkImport(std::unique_ptr<State> state) : state_(std::move(state)) {}

Pkcs11Custody::BulkImport::~BulkImport() {
  if (state_ == nullptr) return;
  state_->session.reset();  // back to the pool before the write lock is released
}

base::Result<std::unique_ptr<Pkcs11Custody::BulkImport>> Pkcs11Custody::BeginBulkImport() {
  auto state = std::make_unique<BulkImport::State>();
  state->impl = impl_.get();
  state->write_lock = std::unique_lock(impl_->write_mutex);
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  state->session.emplace(std::move(session).value());
  Session& s = *state->session;
  for (CK_OBJECT_CLASS klass : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass)};
    base::Result<std::vector<CK_OBJECT_HANDLE>> objects = pkcs11::FindObjects(s, templ);
    if (!objects.ok()) return objects.status();
    for (CK_OBJECT_HANDLE object : *objects) {
      base::Result<std::vector<uint8_t>> id_bytes = pkcs11::GetBytes(s, object, CKA_ID);
      if (!id_bytes.ok()) return id_bytes.status();
      state->present.insert(AsString(*id_bytes));
    }
  }
  base::Result<std::vector<WrappedObject>> wrapped = impl_->ScanWrapped(s);
  if (!wrapped.ok()) return wrapped.status();
  for (const WrappedObject& object : *wrapped)
    state->present.insert(AsString(IdBytes(object.label.id)));
  return std::unique_ptr<BulkImport>(new BulkImport(std::move(state)));
}

base::Result<KeyInfo> Pkcs11Custody::BulkImport::Import(const base::KeyTypeId& key_type,
                                                        const Keypair& pair, bool disabled) {
  if (base::Status s = CheckSchemeForKeyType(key_type, pair.scheme()); !s.ok()) return s;
  State& state = *state_;
  Session& session = *state.session;
  const std::vector<uint8_t> public_key = pair.public_key();
  std::vector<uint8_t> id_bytes(key_type.begin(), key_type.end());
  id_bytes.insert(id_bytes.end(), public_key.begin(), public_key.end());
  if (state.present.contains(AsString(id_bytes)))
    return base::Status::InvalidArgument("key already stored");
  base::Result<KeyInfo> stored = base::Status::Internal("unset");
  if (const Sr25519Keypair* sr = pair.sr25519()) {
    if (state.wrapping_key == CK_INVALID_HANDLE) {
      base::Result<CK_OBJECT_HANDLE> wrapping_key = state.impl->EnsureWrappingKey(session);
      if (!wrapping_key.ok()) return wrapping_key.status();
      state.wrapping_key = *wrapping_key;
    }
    stored = state.impl->StoreWrappedWith(session, state.wrapping_key, key_type, *sr,
                                          /*generated=*/false, disabled);
  } else if (const Ed25519Keypair* ed = pair.ed25519()) {
    stored = state.impl->ImportNative(session, key_type, base::Scheme::kEd25519, ed->seed(),
                                      ed->public_key(), /*check_absent=*/false, disabled);
  } else {
    const EcdsaKeypair* ecdsa = pair.ecdsa();
    stored = state.impl->ImportNative(session, key_type, base::Scheme::kEcdsa, ecdsa->seed(),
                                      ecdsa->public_key(), /*check_absent=*/false, disabled);
  }
  if (!stored.ok()) return stored.status();
  state.present.insert(AsString(id_bytes));
  if (disabled) state.impl->MarkersChanged(stored->id);
  return stored;
}

base::Result<std::vector<uint8_t>> Pkcs11Custody::Sign(const KeyId& id, base::Scheme scheme,
                                                       std::span<const uint8_t> message) {
  if (base::Status s = impl_->CheckEnabled(id); !s.ok()) return s;
  switch (scheme) {
    case base::Scheme::kEd25519: {
      base::Result<Ed25519Signature> signature = impl_->SignEd25519(id, message);
      if (!signature.ok()) return signature.status();
      return std::vector<uint8_t>(signature->begin(), signature->end());
    }
    case base::Scheme::kEcdsa: {
      const base::Hash256 digest = base::Blake2b256(message);
      base::Result<EcdsaSignature> signature = impl_->SignEcdsaDigest(id, digest);
      if (!signature.ok()) return signature.status();
      return std::vector<uint8_t>(signature->begin(), signature->end());
    }
    case base::Scheme::kSr25519: {
      base::Result<std::shared_ptr<const Sr25519Keypair>> pair = impl_->LoadSr25519(id);
      if (!pair.ok()) return pair.status();
      const Sr25519Signature signature = (*pair)->Sign(message);
      return std::vector<uint8_t>(signature.begin(), signature.end());
    }
  }
  return base::Status::InvalidArgument("unknown scheme");
}

base::Result<EcdsaSignature> Pkcs11Custody::EcdsaSignPrehashed(const KeyId& id,
                                                               std::span<const uint8_t> digest) {
  if (base::Status s = impl_->CheckEnabled(id); !s.ok()) return s;
  return impl_->SignEcdsaDigest(id, digest);
}

base::Result<Sr25519VrfSignature> Pkcs11Custody::VrfSign(
    const KeyId& id, const VrfTranscriptData& input,
    const std::optional<VrfTranscriptData>& extra) {
  if (base::Status s = impl_->CheckEnabled(id); !s.ok()) return s;
  base::Result<std::shared_ptr<const Sr25519Keypair>> pair = impl_->LoadSr25519(id);
  if (!pair.ok()) return pair.status();
  std::optional<MerlinTranscript> extra_transcript;
  if (extra.has_value()) extra_transcript.emplace(extra->Build());
  return (*pair)->VrfSign(input.Build(), extra_transcript);
}

base::Result<Sr25519VrfPreOutput> Pkcs11Custody::VrfPreOutput(const KeyId& id,
                                                              const VrfTranscriptData& input) {
  if (base::Status s = impl_->CheckEnabled(id); !s.ok()) return s;
  base::Result<std::shared_ptr<const Sr25519Keypair>> pair = impl_->LoadSr25519(id);
  if (!pair.ok()) return pair.status();
  return (*pair)->VrfPreOutput(input.Build());
}

base::Result<base::SecretBytes> Pkcs11Custody::ExportSr25519SecretForBackup(const KeyId& id) {
  base::Result<std::shared_ptr<const Sr25519Keypair>> pair = impl_->LoadSr25519(id);
  if (!pair.ok()) return pair.status();
  return base::SecretBytes::CopyFrom((*pair)->secret());
}

base::Result<std::vector<std::pair<KeyId, base::SecretBytes>>>
Pkcs11Custody::ExportAllSr25519SecretsForBackup() {
  base::Result<Session> session = impl_->pool->Acquire();
  if (!session.ok()) return session.status();
  base::Result<std::vector<WrappedObject>> objects = impl_->ScanWrapped(*session);
  if (!objects.ok()) return objects.status();
  std::vector<std::pair<KeyId, base::SecretBytes>> secrets;
  if (objects->empty()) return secrets;
  base::Result<CK_OBJECT_HANDLE> wrapping_key = impl_->FindWrappingKey(*session);
  if (!wrapping_key.ok()) return wrapping_key.status();
  for (const WrappedObject& object : *objects) {
    base::Result<Sr25519Keypair> pair = impl_->UnwrapWith(*session, *wrapping_key, object);
    if (!pair.ok()) return pair.status();
    secrets.emplace_back(object.label.id, base::SecretBytes::CopyFrom(pair->secret()));
  }
  return secrets;
}

void Pkcs11Custody::UnloadSecrets() {
  std::lock_guard lock(impl_->loaded_mutex);
  impl_->loaded.clear();
}

size_t Pkcs11Custody::LoadedSecretCount() const {
  std::lock_guard lock(impl_->loaded_mutex);
  return impl_->loaded.size();
}

}  // namespace keymgr
