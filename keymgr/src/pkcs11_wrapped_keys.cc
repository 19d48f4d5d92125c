// sr25519 secrets on the token in HSM-wrapped form (CKM_AES_KEY_WRAP_PAD under a token AES key).
#include "pkcs11_wrapped_keys.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "base/secret_bytes.h"
#include "pkcs11_disable_markers.h"
#include "pkcs11_objects.h"

namespace keymgr::pkcs11 {
namespace {

static_assert(kSr25519SecretSize == 64);

std::vector<uint8_t> ApplicationBytes() {
  return std::vector<uint8_t>(kWrappedApplication.begin(), kWrappedApplication.end());
}

// ReadLabel reads CKA_LABEL in one attribute call when it fits a buffer that holds any label of
// ours (GetBytes asks for the size first, two calls); a listing reads every label.
base::Result<std::vector<uint8_t>> ReadLabel(Session& session, CK_OBJECT_HANDLE object) {
  std::array<uint8_t, 256> buffer{};
  CK_ATTRIBUTE label{CKA_LABEL, buffer.data(), static_cast<CK_ULONG>(buffer.size())};
  if (session.fn()->C_GetAttributeValue(session.handle(), object, &label, 1) == CKR_OK) {
    return std::vector<uint8_t>(buffer.begin(),
                                buffer.begin() + static_cast<ptrdiff_t>(label.ulValueLen));
  }
  return GetBytes(session, object, CKA_LABEL);
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

}  // namespace

base::Result<std::vector<uint8_t>> WrapSecret(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                              std::span<const uint8_t> secret) {
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE key_type = CKK_GENERIC_SECRET;
  CK_ATTRIBUTE templ[] = {
      AttrOf(CKA_CLASS, klass),     AttrOf(CKA_KEY_TYPE, key_type), AttrOf(CKA_TOKEN, kFalse),
      AttrOf(CKA_SENSITIVE, kTrue), AttrOf(CKA_EXTRACTABLE, kTrue), AttrBytes(CKA_VALUE, secret),
  };
  CK_OBJECT_HANDLE transient = CK_INVALID_HANDLE;
  const CK_RV created = session.ChangeTokenObjects([&] {
    return session.fn()->C_CreateObject(session.handle(), templ, std::size(templ), &transient);
  });
  SIGNER_RETURN_IF_ERROR(session.Check(created, "C_CreateObject (transient secret to wrap)"));
  ObjectGuard guard(session, transient);
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  // RFC 5649 adds at most 15 bytes; query anyway so modules with other framing still work.
  CK_ULONG size = 0;
  SIGNER_RETURN_IF_ERROR(
      session.Check(session.fn()->C_WrapKey(session.handle(), &mechanism, wrapping_key, transient,
                                            nullptr, &size),
                    "C_WrapKey"));
  std::vector<uint8_t> wrapped(size);
  SIGNER_RETURN_IF_ERROR(
      session.Check(session.fn()->C_WrapKey(session.handle(), &mechanism, wrapping_key, transient,
                                            wrapped.data(), &size),
                    "C_WrapKey"));
  wrapped.resize(size);
  return wrapped;
}

base::Result<base::SecretBytes> UnwrapSecret(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                             std::span<const uint8_t> wrapped, size_t max_size) {
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE key_type = CKK_GENERIC_SECRET;
  CK_ATTRIBUTE templ[] = {
      AttrOf(CKA_CLASS, klass),      AttrOf(CKA_KEY_TYPE, key_type), AttrOf(CKA_TOKEN, kFalse),
      AttrOf(CKA_SENSITIVE, kFalse), AttrOf(CKA_EXTRACTABLE, kTrue),
  };
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_OBJECT_HANDLE transient = CK_INVALID_HANDLE;
  // C_UnwrapKey takes a non-const pointer but only reads the wrapped bytes.
  std::vector<uint8_t> input(wrapped.begin(), wrapped.end());
  SIGNER_RETURN_IF_ERROR(
      session.Check(session.fn()->C_UnwrapKey(session.handle(), &mechanism, wrapping_key,
                                              input.data(), static_cast<CK_ULONG>(input.size()),
                                              templ, std::size(templ), &transient),
                    "C_UnwrapKey"));
  ObjectGuard guard(session, transient);
  base::SecretBytes secret(max_size);
  CK_ATTRIBUTE value{CKA_VALUE, secret.data(), static_cast<CK_ULONG>(secret.size())};
  SIGNER_RETURN_IF_ERROR(
      session.Check(session.fn()->C_GetAttributeValue(session.handle(), transient, &value, 1),
                    "C_GetAttributeValue (unwrapped secret)"));
  if (value.ulValueLen > max_size) return base::Status::Internal("unwrapped secret is too long");
  base::SecretBytes exact(value.ulValueLen);
  std::copy_n(secret.data(), value.ulValueLen, exact.data());
  return exact;
}

base::Result<std::vector<WrappedObject>> ListWrapped(Session& session) {
  const std::vector<uint8_t> application = ApplicationBytes();
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_APPLICATION, application)};
  const std::chrono::steady_clock::time_point searched_at = std::chrono::steady_clock::now();
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> found, FindObjects(session, templ));
  std::vector<WrappedObject> objects;
  for (CK_OBJECT_HANDLE handle : found) {
    SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> label, ReadLabel(session, handle));
    std::optional<ParsedLabel> parsed = ParseLabel(label);
    if (!parsed.has_value() || parsed->id.public_key.size() != kSr25519PublicSize) continue;
    objects.push_back(WrappedObject{handle, std::move(*parsed), searched_at});
  }
  return objects;
}

base::Result<bool> WrappedObjectStillNames(Session& session, CK_OBJECT_HANDLE object,
                                           const KeyId& id) {
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
  if (HandleNamesAnotherObject(rv)) return false;
  SIGNER_RETURN_IF_ERROR(session.Check(rv, "C_GetAttributeValue (wrapped sr25519 secret)"));
  if (klass != CKO_DATA || templ[1].ulValueLen != kWrappedApplication.size() ||
      !std::equal(kWrappedApplication.begin(), kWrappedApplication.end(), application.begin())) {
    return false;
  }
  std::optional<ParsedLabel> parsed =
      ParseLabel(std::span<const uint8_t>(label.data(), templ[2].ulValueLen));
  return parsed.has_value() && parsed->id == id;
}

base::Result<CK_OBJECT_HANDLE> FindWrappingKey(Session& session) {
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE key_type = CKK_AES;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrOf(CKA_KEY_TYPE, key_type),
                          Attr(CKA_LABEL, kWrappingKeyLabel.data(), kWrappingKeyLabel.size())};
  return FindOne(session, templ, "sr25519 wrapping key");
}

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
  const CK_RV generated = session.ChangeTokenObjects([&] {
    return session.fn()->C_GenerateKey(session.handle(), &mechanism, templ, std::size(templ), &key);
  });
  SIGNER_RETURN_IF_ERROR(session.Check(generated, "C_GenerateKey (sr25519 wrapping key)"));
  return key;
}

base::Result<Sr25519Keypair> UnwrapWith(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                        const WrappedObject& object) {
  SIGNER_ASSIGN_OR_RETURN(std::vector<uint8_t> wrapped,
                          GetBytes(session, object.handle, CKA_VALUE));
  SIGNER_ASSIGN_OR_RETURN(base::SecretBytes secret,
                          UnwrapSecret(session, wrapping_key, wrapped, kSr25519SecretSize));
  if (secret.size() != kSr25519SecretSize)
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

base::Result<std::vector<WrappedObject>> WrappedKeys::Scan(Session& session) {
  base::Result<std::vector<WrappedObject>> objects = ListWrapped(session);
  if (!objects.ok()) return objects.status();
  RememberListed(*objects);
  return objects;
}

void WrappedKeys::RememberListed(const std::vector<WrappedObject>& objects) {
  base::MutexLock lock(hint_mutex_);
  hints_.clear();
  for (const WrappedObject& object : objects) {
    hints_[object.label.id] = Hint{object.handle, object.found_at};
  }
}

void WrappedKeys::RememberWrappingKey(CK_OBJECT_HANDLE handle) {
  base::MutexLock lock(wrapping_key_mutex_);
  wrapping_key_hint_ = handle;
}

void WrappedKeys::Remember(const KeyId& id, CK_OBJECT_HANDLE handle) {
  base::MutexLock lock(hint_mutex_);
  // Stored by this process (Store), so no marker older than the object can concern it; one
  // stored disabled was written by this instance, which then reads the markers again.
  hints_[id] = Hint{handle, std::chrono::steady_clock::time_point{}};
}

base::Result<WrappedObject> WrappedKeys::Find(Session& session, const KeyId& id) {
  std::optional<Hint> hint;
  {
    base::MutexLock lock(hint_mutex_);
    if (auto it = hints_.find(id); it != hints_.end()) hint = it->second;
  }
  if (hint.has_value()) {
    base::Result<std::vector<uint8_t>> application =
        GetBytes(session, hint->handle, CKA_APPLICATION);
    base::Result<std::vector<uint8_t>> label = GetBytes(session, hint->handle, CKA_LABEL);
    if (application.ok() && label.ok() && *application == ApplicationBytes()) {
      std::optional<ParsedLabel> parsed = ParseLabel(*label);
      if (parsed.has_value() && parsed->id == id) {
        return WrappedObject{hint->handle, std::move(*parsed), hint->found_at};
      }
    }
  }
  SIGNER_ASSIGN_OR_RETURN(std::vector<WrappedObject> objects, Scan(session));
  return PickWrapped(objects, id);
}

base::Result<Sr25519Keypair> WrappedKeys::Unwrap(Session& session, const WrappedObject& object) {
  // Searching for the wrapping key costs a pass over the whole token inside the module, so the
  // handle found last is tried first. A wrong key cannot pass: AES key wrap authenticates, and
  // the result must give the public key in the label; any failure searches again.
  CK_OBJECT_HANDLE hint = CK_INVALID_HANDLE;
  {
    base::MutexLock lock(wrapping_key_mutex_);
    hint = wrapping_key_hint_;
  }
  if (hint != CK_INVALID_HANDLE) {
    base::Result<Sr25519Keypair> pair = UnwrapWith(session, hint, object);
    if (pair.ok()) return pair;
  }
  SIGNER_ASSIGN_OR_RETURN(const CK_OBJECT_HANDLE wrapping_key, FindWrappingKey(session));
  {
    base::MutexLock lock(wrapping_key_mutex_);
    wrapping_key_hint_ = wrapping_key;
  }
  return UnwrapWith(session, wrapping_key, object);
}

base::Result<KeyInfo> WrappedKeys::Store(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                         const base::KeyTypeId& key_type,
                                         const Sr25519Keypair& pair, bool generated,
                                         bool disabled) {
  KeyInfo info;
  info.id =
      KeyId{key_type, std::vector<uint8_t>(pair.public_key().begin(), pair.public_key().end())};
  info.scheme = base::Scheme::kSr25519;
  info.protection = KeyProtection::kHsmWrapped;
  info.generated_in_custody = generated;
  info.created_at_unix = clock_();
  info.disabled = disabled;
  std::optional<ObjectGuard> marker_guard;
  if (disabled) {
    SIGNER_ASSIGN_OR_RETURN(const std::optional<CK_OBJECT_HANDLE> marker,
                            WriteMarkerIfAbsent(session, info.id, info.created_at_unix));
    if (marker.has_value()) marker_guard.emplace(session, *marker);
  }
  SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> wrapped,
                          WrapSecret(session, wrapping_key, pair.secret()));
  const std::string label =
      MakeLabel(info.id, info.created_at_unix, generated ? kOriginGenerated : kOriginImported);
  SIGNER_ASSIGN_OR_RETURN(
      const CK_OBJECT_HANDLE object,
      CreateDataObject(session, ApplicationBytes(), label, wrapped, "wrapped sr25519 secret"));
  ObjectGuard guard(session, object);
  SIGNER_RETURN_IF_ERROR(
      UnwrapWith(session, wrapping_key,
                 WrappedObject{object, ParsedLabel{info.id, info.created_at_unix, generated}}));
  guard.Release();
  if (marker_guard.has_value()) marker_guard->Release();
  Remember(info.id, object);
  return info;
}

}  // namespace keymgr::pkcs11
