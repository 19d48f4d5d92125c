// The encrypted key-backup file of `signerctl keys backup/restore` (format: docs/keys.md).
//
// A backup is sealed under a passphrase: Argon2id (libsodium crypto_pwhash, random salt) derives a
// 256-bit key, and XChaCha20-Poly1305 (random nonce) encrypts a binary payload with the whole file
// header as associated data, so a file alone gives nothing and any change to it is detected.
// Thread safety: the functions are thread-safe; they share no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/custody.h"
#include "keymgr/keypair.h"

namespace keymgr {

// BackupEntry is one key in a backup. `secret` holds the canonical 64-byte sr25519 secret, or is
// empty for a key recorded by identity only (ed25519/ecdsa keys are non-extractable, so a backup
// can only say that they exist). Move-only because of the secret.
struct BackupEntry {
  base::KeyTypeId key_type{};
  base::Scheme scheme = base::Scheme::kSr25519;
  std::vector<uint8_t> public_key;
  bool generated_in_custody = false;
  int64_t created_at_unix = 0;
  // disabled records that the key was disabled on the token (`signerctl keys disable`); restore
  // stores it disabled again.
  bool disabled = false;
  base::SecretBytes secret;
};

// BackupKdfLimits are the Argon2id cost parameters written into a backup header.
struct BackupKdfLimits {
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;  // bytes
};

// ModerateBackupKdfLimits returns libsodium's MODERATE limits (3 passes, 256 MiB), which backups
// are made with.
BackupKdfLimits ModerateBackupKdfLimits();

// kMinBackupPassphraseSize is the shortest passphrase SealBackup accepts.
inline constexpr size_t kMinBackupPassphraseSize = 12;

// SealBackup encrypts `entries` under `passphrase` and returns the whole file. Fails with
// kInvalidArgument on a passphrase shorter than kMinBackupPassphraseSize, limits outside what
// OpenBackup accepts, or an entry that cannot be encoded (a key type base::MakeKeyTypeId refuses,
// a wrong-sized key or secret), and with kInternal if libsodium fails (for example when it cannot
// allocate the Argon2id memory).
base::Result<std::vector<uint8_t>> SealBackup(std::span<const BackupEntry> entries,
                                              std::span<const uint8_t> passphrase,
                                              const BackupKdfLimits& limits);

// OpenBackup decrypts and decodes a file SealBackup made. Fails with kInvalidArgument on anything
// else: not a backup, an unknown version, Argon2id limits out of bounds (a crafted file must not
// make us allocate gigabytes), a wrong passphrase or any modified byte (indistinguishable by
// design), or a payload that does not decode or holds an entry SealBackup would refuse (such as a
// key type the token cannot hold), so a restore refuses the file before storing anything.
base::Result<std::vector<BackupEntry>> OpenBackup(std::span<const uint8_t> file,
                                                  std::span<const uint8_t> passphrase);

// ReadPassphraseFile reads a backup passphrase from `path` with the PIN file's rules: a regular
// file (no symlink) owned by this user and readable by nobody else (mode 0600 or stricter), at
// most 1024 bytes; one trailing newline (or CRLF) is dropped. Fails with kInvalidArgument naming
// the rule broken (never the content), or kNotFound if the file does not exist.
base::Result<base::SecretBytes> ReadPassphraseFile(const std::string& path);

}  // namespace keymgr
