// libFuzzer target: arbitrary bytes as a key-backup file opened with a fixed passphrase.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "keymgr/keys_backup.h"

namespace {

// Offsets of the Argon2id limits in the backup header (docs/keys.md).
constexpr size_t kOpsOffset = 12;
constexpr size_t kMemOffset = 20;

uint64_t GetU64(std::span<const uint8_t> bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value |= uint64_t{bytes[i]} << (8 * i);
  return value;
}

void PutU64(std::span<uint8_t> bytes, uint64_t value) {
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
}

// An in-range limit pair would make every input cost a real Argon2id run (up to 1 GiB); lowering
// it to libsodium's minimum keeps the fuzzer fast while out-of-range values still reach the check.
void CheapenKdf(std::vector<uint8_t>& file) {
  if (file.size() < kMemOffset + 8) return;
  const std::span<uint8_t> bytes(file);
  const uint64_t ops = GetU64(bytes.subspan(kOpsOffset, 8));
  const uint64_t mem = GetU64(bytes.subspan(kMemOffset, 8));
  if (ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= crypto_pwhash_OPSLIMIT_SENSITIVE &&
      mem >= crypto_pwhash_MEMLIMIT_MIN && mem <= crypto_pwhash_MEMLIMIT_SENSITIVE) {
    PutU64(bytes.subspan(kOpsOffset, 8), crypto_pwhash_OPSLIMIT_MIN);
    PutU64(bytes.subspan(kMemOffset, 8), crypto_pwhash_MEMLIMIT_MIN);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr uint8_t kPassphrase[] = "fuzzing passphrase";
  std::vector<uint8_t> file(data, data + size);
  CheapenKdf(file);
  auto entries = keymgr::OpenBackup(file, std::span(kPassphrase, sizeof kPassphrase - 1));
  if (entries.ok()) {
    // Whatever decodes must be what SealBackup could have written.
    for (const keymgr::BackupEntry& entry : entries.value()) {
      if (!entry.secret.empty() && entry.secret.size() != 64) __builtin_trap();
      if (entry.public_key.size() != 32 && entry.public_key.size() != 33) __builtin_trap();
    }
  }
  return 0;
}
