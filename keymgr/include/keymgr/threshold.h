// Threshold custody rules: which key types may be held as FROST shares, the safety rule on t-of-n,
// and the share record a key agent keeps (docs/threshold.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/substrate_types.h"
#include "keymgr/custody.h"
#include "keymgr/frost.h"

namespace keymgr {

// ThresholdSuiteForKeyType returns the FROST suite whose aggregate is the ordinary signature
// Substrate expects under `key_type`: ed25519 for ed25519 key types (gran), sr25519 for sr25519 key
// types that only sign. Fails with kInvalidArgument, saying why, for key types whose signatures a
// FROST aggregate cannot make: VRF outputs (babe, asgn) and ecdsa (beef).
base::Result<frost::Suite> ThresholdSuiteForKeyType(const base::KeyTypeId& key_type);

// CheckThresholdSafety enforces 2 <= t <= n and t > n/2. Two conflicting aggregates need two sets
// of t agents, which share at least 2t - n agents; one honest agent among those refuses, so safety
// against f compromised agents (and a compromised coordinator) needs 2t - n > f, and t <= n/2
// tolerates none. Fails with kInvalidArgument naming the rule.
base::Status CheckThresholdSafety(uint16_t min_signers, uint16_t max_signers);

// ToleratedCompromisedAgents is the largest f with 2t - n > f: how many agents may be compromised
// (together with the coordinator) before two conflicting aggregates become possible. Meaningful
// only for t-of-n that passes CheckThresholdSafety.
int ToleratedCompromisedAgents(uint16_t min_signers, uint16_t max_signers);

// DescribeThreshold is "t-of-n, tolerates f compromised agents" for operator output.
std::string DescribeThreshold(uint16_t min_signers, uint16_t max_signers);

// FrostShare is what a key agent holds for one threshold key: its own key package (secret) and the
// group's public package. `id` is (key type, group public key). Move-only.
struct FrostShare {
  KeyId id;
  frost::KeyPackage key_package;
  frost::PublicKeyPackage public_package;
  int64_t created_at_unix = 0;
  bool generated = false;  // made by distributed key generation, not split by a dealer
};

// FrostShareStore is where a key agent keeps its shares: Pkcs11Custody (wrapped on a token) in
// production, a map in memory for fuzzing. Thread-safe.
class FrostShareStore {
 public:
  virtual ~FrostShareStore() = default;
  // StoreFrostShare checks the share (CheckFrostShare) and stores it; kInvalidArgument when it is
  // inconsistent or a share of the same key is already stored.
  virtual base::Status StoreFrostShare(const base::KeyTypeId& key_type,
                                       const frost::KeyPackage& key_package,
                                       const frost::PublicKeyPackage& public_package,
                                       bool generated) = 0;
  // LoadFrostShares returns every stored share, or fails as a whole.
  virtual base::Result<std::vector<FrostShare>> LoadFrostShares() = 0;
  // DeleteFrostShare removes the share of `id`; kNotFound if there is none.
  virtual base::Status DeleteFrostShare(const KeyId& id) = 0;
};

// CheckFrostShare checks that the parts of one share belong together: the suite is the key type's,
// the key package and the public package name the same group key and threshold, the package's
// verifying share is the one the public package lists for this identifier, and t-of-n is safe.
// Fails with kInvalidArgument saying which.
base::Status CheckFrostShare(const base::KeyTypeId& key_type, const frost::KeyPackage& key_package,
                             const frost::PublicKeyPackage& public_package);

}  // namespace keymgr
