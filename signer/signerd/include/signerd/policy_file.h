// Policy: which client identity may do which operation on which of its keys (strict YAML, deny by
// default).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "keymgr/custody.h"

namespace signer {

// Operation is the closed set of things a client can ask for; every RPC maps to exactly one.
enum class Operation { kSign, kVrf, kGenerate, kInsert, kList };

// OperationName is the lower-case name used in the policy file and the audit log.
std::string_view OperationName(Operation operation);

// Policy maps identities (the client certificate identity, see tls/certificate.h) to grants. A
// grant names key types, operations and the public keys the identity owns. Anything not granted is
// denied: an unknown identity, an operation or key type missing from every grant, a key outside the
// grant. Immutable after parsing, so const methods are safe from any number of threads.
//
// File format (docs/signerd.md):
//   identities:
//     validator-alice:
//       - key_types: [gran, babe]
//         operations: [sign, vrf, list]
//         public_keys: ["0x88dc...", "d435..."]
//     intruder: []
class Policy {
 public:
  // Parse reads policy YAML. Fails with kInvalidArgument naming the place on malformed YAML, an
  // unknown or duplicate field, an unknown operation, a bad key type or a public key that is not
  // 32 or 33 bytes of hex.
  static base::Result<Policy> Parse(std::string_view yaml_text);
  // Load reads and parses `path` (at most 1 MiB). kNotFound if it cannot be read.
  static base::Result<Policy> Load(const std::string& path);

  // Allows is true when some grant of `identity` names both `operation` and `key_type`. This is
  // enough for generate and insert, which create keys; use Owns for anything that uses one.
  bool Allows(std::string_view identity, Operation operation,
              const base::KeyTypeId& key_type) const;
  // Owns is true when a grant of `identity` names `operation`, `key_type` and `public_key`.
  bool Owns(std::string_view identity, Operation operation, const base::KeyTypeId& key_type,
            std::span<const uint8_t> public_key) const;

 private:
  struct Grant {
    std::set<base::KeyTypeId> key_types;
    std::set<Operation> operations;
    std::set<std::vector<uint8_t>> public_keys;
  };
  std::map<std::string, std::vector<Grant>, std::less<>> grants_;
};

}  // namespace signer
