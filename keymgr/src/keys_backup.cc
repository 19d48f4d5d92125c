// Sealing and opening key backups: Argon2id-derived key, XChaCha20-Poly1305, header as AD.
#include "keymgr/keys_backup.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "base/substrate_types.h"
#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "keymgr/private_file.h"
#include "keymgr/sr25519.h"

namespace keymgr {
namespace {

using base::Result;
using base::SecretBytes;
using base::Status;

constexpr std::array<uint8_t, 8> kMagic = {'P', 'R', 'S', 'K', 'B', 'A', 'C', 'K'};
constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kKdfArgon2id13 = 1;
constexpr uint8_t kAeadXChaCha20Poly1305 = 1;
constexpr uint8_t kPayloadVersion = 1;
constexpr uint8_t kFlagGeneratedInCustody = 0x01;
// Readers that predate this bit refuse the file rather than restore a disabled key enabled.
constexpr uint8_t kFlagDisabled = 0x02;
constexpr uint8_t kKnownFlags = kFlagGeneratedInCustody | kFlagDisabled;

constexpr size_t kSaltSize = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kKeySize = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kSaltSize == 16 && kNonceSize == 24 && kKeySize == 32 && kTagSize == 16,
              "docs/keys.md states these sizes");

// Header layout: magic(8) version(1) kdf(1) aead(1) reserved(1) opslimit(8 LE) memlimit(8 LE)
// salt(16) nonce(24).
constexpr size_t kOpsOffset = 12;
constexpr size_t kMemOffset = 20;
constexpr size_t kSaltOffset = 28;
constexpr size_t kNonceOffset = kSaltOffset + kSaltSize;
constexpr size_t kHeaderSize = kNonceOffset + kNonceSize;
static_assert(kHeaderSize == 68);

// A backup of tens of thousands of keys is well under this; anything larger is not ours.
constexpr size_t kMaxBackupSize = 16u << 20;
constexpr size_t kMaxPassphraseSize = 1024;
constexpr size_t kMaxEntries = 1u << 20;

constexpr uint64_t kMinOps = crypto_pwhash_OPSLIMIT_MIN;
constexpr uint64_t kMaxOps = crypto_pwhash_OPSLIMIT_SENSITIVE;
constexpr uint64_t kMinMem = crypto_pwhash_MEMLIMIT_MIN;
constexpr uint64_t kMaxMem = crypto_pwhash_MEMLIMIT_SENSITIVE;

void PutU64(std::span<uint8_t> out, uint64_t value) {
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t GetU64(std::span<const uint8_t> in) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}

bool LimitsInRange(const BackupKdfLimits& limits) {
  return limits.opslimit >= kMinOps && limits.opslimit <= kMaxOps && limits.memlimit >= kMinMem &&
         limits.memlimit <= kMaxMem;
}

uint8_t SchemeCode(base::Scheme scheme) {
  switch (scheme) {
    case base::Scheme::kSr25519:
      return 0;
    case base::Scheme::kEd25519:
      return 1;
    case base::Scheme::kEcdsa:
      return 2;
  }
  return 0xff;
}

std::optional<base::Scheme> SchemeFromCode(uint8_t code) {
  switch (code) {
    case 0:
      return base::Scheme::kSr25519;
    case 1:
      return base::Scheme::kEd25519;
    case 2:
      return base::Scheme::kEcdsa;
    default:
      return std::nullopt;
  }
}

Status CheckEntry(const base::KeyTypeId& key_type, base::Scheme scheme, size_t public_size,
                  size_t secret_size) {
  // The token can only hold key types its labels can be read back with (base::MakeKeyTypeId);
  // restoring another would store a key that no listing, backup or delete could see.
  if (!base::MakeKeyTypeId(base::KeyTypeName(key_type)).ok()) {
    return Status::InvalidArgument(
        "backup entry has a key type that is not 4 printable ASCII characters other than ':'");
  }
  if (public_size != base::PublicKeySize(scheme)) {
    return Status::InvalidArgument("backup entry has a public key of the wrong size");
  }
  // Only sr25519 secrets can be in a backup: the others never leave the HSM.
  if (secret_size != 0 &&
      (scheme != base::Scheme::kSr25519 || secret_size != keymgr::kSr25519SecretSize)) {
    return Status::InvalidArgument("backup entry has a secret of the wrong kind or size");
  }
  return Status::Ok();
}

// DeriveKey runs Argon2id over the passphrase; the key goes straight into guarded memory.
Result<SecretBytes> DeriveKey(std::span<const uint8_t> passphrase, std::span<const uint8_t> salt,
                              const BackupKdfLimits& limits) {
  SecretBytes key(kKeySize);
  if (crypto_pwhash(key.data(), key.size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), salt.data(), limits.opslimit,
                    static_cast<size_t>(limits.memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Internal("Argon2id failed (out of memory?)");
  }
  return key;
}

}  // namespace

BackupKdfLimits ModerateBackupKdfLimits() {
  return BackupKdfLimits{crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}

Result<std::vector<uint8_t>> SealBackup(std::span<const BackupEntry> entries,
                                        std::span<const uint8_t> passphrase,
                                        const BackupKdfLimits& limits) {
  if (sodium_init() < 0) return Status::Internal("libsodium cannot be initialised");
  if (passphrase.size() < kMinBackupPassphraseSize) {
    return Status::InvalidArgument("the backup passphrase must be at least " +
                                   std::to_string(kMinBackupPassphraseSize) + " bytes");
  }
  if (!LimitsInRange(limits)) return Status::InvalidArgument("Argon2id limits out of range");
  if (entries.size() > kMaxEntries) return Status::InvalidArgument("too many keys for a backup");

  size_t payload_size = 1 + 4;
  for (const BackupEntry& entry : entries) {
    SIGNER_RETURN_IF_ERROR(
        CheckEntry(entry.key_type, entry.scheme, entry.public_key.size(), entry.secret.size()));
    payload_size += 4 + 1 + 1 + 8 + 1 + entry.public_key.size() + 1 + entry.secret.size();
  }
  // The payload holds secrets, so it is built in guarded memory and never copied out in plaintext.
  SecretBytes payload(payload_size);
  size_t at = 0;
  auto put = [&](std::span<const uint8_t> bytes) {
    std::copy(bytes.begin(), bytes.end(), payload.data() + at);
    at += bytes.size();
  };
  auto put_byte = [&](uint8_t byte) { payload.data()[at++] = byte; };
  put_byte(kPayloadVersion);
  const uint32_t count = static_cast<uint32_t>(entries.size());
  for (size_t i = 0; i < 4; ++i) put_byte(static_cast<uint8_t>(count >> (8 * i)));
  for (const BackupEntry& entry : entries) {
    put(entry.key_type);
    put_byte(SchemeCode(entry.scheme));
    put_byte(static_cast<uint8_t>((entry.generated_in_custody ? kFlagGeneratedInCustody : 0) |
                                  (entry.disabled ? kFlagDisabled : 0)));
    std::array<uint8_t, 8> created{};
    PutU64(created, static_cast<uint64_t>(entry.created_at_unix));
    put(created);
    put_byte(static_cast<uint8_t>(entry.public_key.size()));
    put(entry.public_key);
    put_byte(static_cast<uint8_t>(entry.secret.size()));
    put(entry.secret.span());
  }

  std::vector<uint8_t> file(kHeaderSize + payload.size() + kTagSize);
  std::copy(kMagic.begin(), kMagic.end(), file.begin());
  file[8] = kFormatVersion;
  file[9] = kKdfArgon2id13;
  file[10] = kAeadXChaCha20Poly1305;
  file[11] = 0;
  PutU64(std::span(file).subspan(kOpsOffset, 8), limits.opslimit);
  PutU64(std::span(file).subspan(kMemOffset, 8), limits.memlimit);
  randombytes_buf(file.data() + kSaltOffset, kSaltSize);
  randombytes_buf(file.data() + kNonceOffset, kNonceSize);

  Result<SecretBytes> key =
      DeriveKey(passphrase, std::span(file).subspan(kSaltOffset, kSaltSize), limits);
  if (!key.ok()) return key.status();
  unsigned long long ciphertext_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(
          file.data() + kHeaderSize, &ciphertext_size, payload.data(), payload.size(), file.data(),
          kHeaderSize, nullptr, file.data() + kNonceOffset, key->data()) != 0 ||
      ciphertext_size != payload.size() + kTagSize) {
    return Status::Internal("backup encryption failed");
  }
  return file;
}

Result<std::vector<BackupEntry>> OpenBackup(std::span<const uint8_t> file,
                                            std::span<const uint8_t> passphrase) {
  if (sodium_init() < 0) return Status::Internal("libsodium cannot be initialised");
  if (file.size() < kHeaderSize + kTagSize || file.size() > kMaxBackupSize ||
      !std::equal(kMagic.begin(), kMagic.end(), file.begin())) {
    return Status::InvalidArgument("not a signer key backup");
  }
  if (file[8] != kFormatVersion || file[9] != kKdfArgon2id13 ||
      file[10] != kAeadXChaCha20Poly1305 || file[11] != 0) {
    return Status::InvalidArgument("unsupported key backup version or algorithms");
  }
  const BackupKdfLimits limits{GetU64(file.subspan(kOpsOffset, 8)),
                               GetU64(file.subspan(kMemOffset, 8))};
  if (!LimitsInRange(limits)) {
    return Status::InvalidArgument("key backup has Argon2id limits out of range");
  }
  Result<SecretBytes> key = DeriveKey(passphrase, file.subspan(kSaltOffset, kSaltSize), limits);
  if (!key.ok()) return key.status();
  const std::span<const uint8_t> ciphertext = file.subspan(kHeaderSize);
  SecretBytes payload(ciphertext.size() - kTagSize);
  unsigned long long payload_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          payload.data(), &payload_size, nullptr, ciphertext.data(), ciphertext.size(), file.data(),
          kHeaderSize, file.data() + kNonceOffset, key->data()) != 0) {
    return Status::InvalidArgument(
        "the key backup cannot be decrypted: wrong passphrase or a modified file");
  }

  // The payload was authenticated, so a decoding failure here means a bug, not an attack; it is
  // still checked strictly rather than trusted.
  const auto malformed = [] { return Status::InvalidArgument("key backup payload is malformed"); };
  const std::span<const uint8_t> bytes = payload.span().first(static_cast<size_t>(payload_size));
  size_t at = 0;
  auto take = [&](size_t size) -> std::optional<std::span<const uint8_t>> {
    if (bytes.size() - at < size) return std::nullopt;
    std::span<const uint8_t> out = bytes.subspan(at, size);
    at += size;
    return out;
  };
  auto version = take(1);
  auto count_bytes = take(4);
  if (!version || !count_bytes || (*version)[0] != kPayloadVersion) return malformed();
  uint32_t count = 0;
  for (size_t i = 0; i < 4; ++i) count |= static_cast<uint32_t>((*count_bytes)[i]) << (8 * i);
  if (count > kMaxEntries) return malformed();
  std::vector<BackupEntry> entries;
  for (uint32_t i = 0; i < count; ++i) {
    auto key_type = take(base::kKeyTypeIdSize);
    auto scheme_code = take(1);
    auto flags = take(1);
    auto created = take(8);
    auto public_size = take(1);
    if (!key_type || !scheme_code || !flags || !created || !public_size) return malformed();
    auto public_key = take((*public_size)[0]);
    auto secret_size = take(1);
    if (!public_key || !secret_size) return malformed();
    auto secret = take((*secret_size)[0]);
    const std::optional<base::Scheme> scheme = SchemeFromCode((*scheme_code)[0]);
    if (!secret || !scheme.has_value() || ((*flags)[0] & ~kKnownFlags) != 0) return malformed();
    BackupEntry entry;
    std::copy(key_type->begin(), key_type->end(), entry.key_type.begin());
    SIGNER_RETURN_IF_ERROR(CheckEntry(entry.key_type, *scheme, public_key->size(), secret->size()));
    entry.scheme = *scheme;
    entry.generated_in_custody = ((*flags)[0] & kFlagGeneratedInCustody) != 0;
    entry.disabled = ((*flags)[0] & kFlagDisabled) != 0;
    entry.created_at_unix = static_cast<int64_t>(GetU64(*created));
    entry.public_key.assign(public_key->begin(), public_key->end());
    entry.secret = SecretBytes::CopyFrom(*secret);
    entries.push_back(std::move(entry));
  }
  if (at != bytes.size()) return malformed();
  return entries;
}

Result<SecretBytes> ReadPassphraseFile(const std::string& path) {
  SIGNER_ASSIGN_OR_RETURN(SecretBytes content,
                          ReadPrivateFile(path, "passphrase file", kMaxPassphraseSize));
  size_t size = content.size();
  if (size > 0 && content.data()[size - 1] == '\n') --size;
  if (size > 0 && content.data()[size - 1] == '\r') --size;
  if (size == 0) return Status::InvalidArgument("passphrase file is empty");
  return SecretBytes::CopyFrom(content.span().first(size));
}

}  // namespace keymgr
