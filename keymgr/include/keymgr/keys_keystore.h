// Reading a Substrate file keystore (`--keystore <dir>` of a node) for `signerctl keys import`.
//
// Substrate's LocalKeystore keeps one file per key: the name is hex(key type) followed by
// hex(public key), and the content is the key's SURI as a JSON string. Thread safety: the
// functions are thread-safe; they share no state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/custody.h"

namespace keymgr {

// KeystoreFile is one key file: the identity its name claims and the SURI it holds. The claim is
// not checked here; the caller derives the key and compares. Move-only because of the SURI.
struct KeystoreFile {
  std::string file_name;
  base::KeyTypeId key_type{};
  std::vector<uint8_t> public_key;  // 32 bytes, or 33 (ecdsa)
  base::SecretBytes suri;
};

// KeystoreDir is what ReadKeystoreDir found: key files, and the names of entries that are not key
// files (other names, directories, symlinks), which the caller reports.
struct KeystoreDir {
  std::vector<KeystoreFile> keys;
  std::vector<std::string> skipped;
};

// ParseKeystoreFileName splits "<8 hex digits><64 or 66 hex digits>" into key type and public key.
// Fails with kInvalidArgument on any other name.
base::Result<keymgr::KeyId> ParseKeystoreFileName(const std::string& name);

// DecodeKeystoreSuri decodes a key file's content, one JSON string (surrounding whitespace
// allowed), into guarded memory. Escapes \" \\ \/ \b \f \n \r \t and \u00XX..\u007F are accepted;
// any other content fails with kInvalidArgument, whose message never repeats the content.
base::Result<base::SecretBytes> DecodeKeystoreSuri(std::span<const uint8_t> content);

// ReadKeystoreDir reads every key file of `dir` (regular files only, symlinks not followed, each at
// most 4096 bytes). Fails with kInvalidArgument if the directory cannot be listed, a key file's
// name holds a key type base::MakeKeyTypeId refuses (which no key on the token can have), or a key
// file cannot be read or decoded (naming the file, never its content).
base::Result<KeystoreDir> ReadKeystoreDir(const std::string& dir);

}  // namespace keymgr
