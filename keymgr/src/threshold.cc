// Threshold custody rules: suites per key type, the 2t - n > f safety rule, share consistency.
#include "keymgr/threshold.h"

#include <algorithm>
#include <string>

namespace keymgr {

base::Result<frost::Suite> ThresholdSuiteForKeyType(const base::KeyTypeId& key_type) {
  const std::string name = base::KeyTypeName(key_type);
  if (key_type == base::kKeyTypeBabe || name == "asgn") {
    return base::Status::InvalidArgument(
        "key type " + name +
        " signs VRF outputs, which a FROST aggregate cannot make (no threshold DLEQ proof); keep "
        "it in HSM custody");
  }
  std::optional<base::Scheme> scheme = base::RequiredSchemeForKeyType(key_type);
  if (scheme == base::Scheme::kEd25519) return frost::Suite::kEd25519;
  if (scheme == base::Scheme::kEcdsa) {
    return base::Status::InvalidArgument(
        "key type " + name +
        " signs with ecdsa, which is not linear in its nonce and secret (no FROST); keep it in "
        "HSM custody");
  }
  return frost::Suite::kSr25519;
}

base::Status CheckThresholdSafety(uint16_t min_signers, uint16_t max_signers) {
  if (min_signers < 2 || min_signers > max_signers || max_signers > frost::kMaxParticipants) {
    return base::Status::InvalidArgument(
        "threshold " + std::to_string(min_signers) + "-of-" + std::to_string(max_signers) +
        " is not 2 <= t <= n <= " + std::to_string(frost::kMaxParticipants));
  }
  if (2 * min_signers <= max_signers) {
    return base::Status::InvalidArgument(
        "threshold " + std::to_string(min_signers) + "-of-" + std::to_string(max_signers) +
        " is unsafe: t must exceed n/2, or two disjoint agent sets could sign conflicting "
        "messages (safety needs 2t - n > f for f compromised agents)");
  }
  return base::Status::Ok();
}

int ToleratedCompromisedAgents(uint16_t min_signers, uint16_t max_signers) {
  return std::max(0, 2 * int{min_signers} - int{max_signers} - 1);
}

std::string DescribeThreshold(uint16_t min_signers, uint16_t max_signers) {
  const int tolerated = ToleratedCompromisedAgents(min_signers, max_signers);
  return std::to_string(min_signers) + "-of-" + std::to_string(max_signers) + ", tolerates " +
         std::to_string(tolerated) + " compromised agent" + (tolerated == 1 ? "" : "s");
}

base::Status CheckFrostShare(const base::KeyTypeId& key_type, const frost::KeyPackage& key_package,
                             const frost::PublicKeyPackage& public_package) {
  SIGNER_ASSIGN_OR_RETURN(const frost::Suite suite, ThresholdSuiteForKeyType(key_type));
  if (key_package.suite != suite || public_package.suite != suite) {
    return base::Status::InvalidArgument(
        "share is for suite " + std::string(frost::SuiteName(key_package.suite)) + ", key type " +
        base::KeyTypeName(key_type) + " needs " + std::string(frost::SuiteName(suite)));
  }
  if (key_package.group_public_key != public_package.group_public_key) {
    return base::Status::InvalidArgument(
        "key package and public package name different group keys");
  }
  if (key_package.min_signers != public_package.min_signers) {
    return base::Status::InvalidArgument(
        "key package and public package disagree on the threshold");
  }
  SIGNER_RETURN_IF_ERROR(CheckThresholdSafety(
      public_package.min_signers, static_cast<uint16_t>(public_package.verifying_shares.size())));
  base::Result<frost::Element> listed = public_package.VerifyingShare(key_package.identifier);
  if (!listed.ok() || *listed != key_package.verifying_share) {
    return base::Status::InvalidArgument(
        "the public package does not list this share's verifying share for participant " +
        std::to_string(key_package.identifier.value()));
  }
  return base::Status::Ok();
}

}  // namespace keymgr
