// SignerConfig: the one configuration file signerd and `signerctl --config` read (strict YAML).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keymgr/status.h"

namespace signer {

// HsmConfig says where keys live. The PIN itself is never in the file: it comes from `pin_file`
// (mode 0600 or stricter) or the environment variable `pin_env`, exactly one of them.
struct HsmConfig {
  std::string module;       // PKCS#11 shared object, loaded with dlopen
  std::string token_label;  // token to use
  std::string pin_file;     // empty unless the PIN comes from a file
  std::string pin_env;      // empty unless the PIN comes from the environment
  size_t max_sessions = 4;  // PKCS#11 sessions open at once (one per signing thread)
};

// HistoryConfig says where the slashing-protection history lives and which chain it protects.
struct HistoryConfig {
  std::string data_dir;                         // RocksDB directory; one signer process at a time
  std::array<uint8_t, 32> genesis_hash{};       // history for another chain is refused
  std::vector<std::string> allow_unrecognised;  // slashable key types allowed to sign unknown bytes
};

// KeysConfig holds key-lifecycle policy.
struct KeysConfig {
  // A key that signed within this many seconds is not deleted unless forced.
  int64_t delete_guard_seconds = 7 * 24 * 3600;
};

// SignerConfig is the parsed file. Relative paths in it are resolved against the file's directory,
// so a config and its PIN file can move together.
struct SignerConfig {
  std::string signer_id;  // names this signer in logs, audit events and (later) Kafka claims
  HsmConfig hsm;
  HistoryConfig history;
  KeysConfig keys;
};

// ParseSignerConfig parses JSON text. `base_dir` resolves relative paths. Fails with
// kInvalidArgument naming the offending field on malformed JSON, an unknown field (a typo must not
// silently become a default), a missing required field, a wrong type, or a bad value.
keymgr::Result<SignerConfig> ParseSignerConfig(std::string_view json_text,
                                               std::string_view base_dir);

// LoadSignerConfig reads and parses `path` (at most 1 MiB). Fails with kNotFound if it cannot be
// read, otherwise as ParseSignerConfig.
keymgr::Result<SignerConfig> LoadSignerConfig(const std::string& path);

}  // namespace signer
