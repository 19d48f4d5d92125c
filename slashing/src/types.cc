// Names and validation for the protection vocabulary.
#include "slashing/types.h"

#include <algorithm>
#include <iterator>

#include "base/hex.h"

namespace slashing {

bool IsSlashableKeyType(const base::KeyTypeId& key_type) {
  return std::find(std::begin(kSlashableKeyTypes), std::end(kSlashableKeyTypes), key_type) !=
         std::end(kSlashableKeyTypes);
}

std::string_view DomainName(Domain domain) {
  switch (domain) {
    case Domain::kBabe:
      return "babe";
    case Domain::kGrandpaPrevote:
      return "grandpa_prevote";
    case Domain::kGrandpaPrecommit:
      return "grandpa_precommit";
    case Domain::kBeefy:
      return "beefy";
    case Domain::kDispute:
      return "dispute";
  }
  return "unknown";
}

std::optional<Domain> DomainFromName(std::string_view name) {
  for (Domain domain : kAllDomains) {
    if (DomainName(domain) == name) return domain;
  }
  return std::nullopt;
}

std::optional<Domain> DomainFromByte(uint8_t value) {
  for (Domain domain : kAllDomains) {
    if (static_cast<uint8_t>(domain) == value) return domain;
  }
  return std::nullopt;
}

std::string DescribePosition(Domain domain, const Position& position) {
  switch (domain) {
    case Domain::kBabe:
      return "slot=" + std::to_string(position.major);
    case Domain::kGrandpaPrevote:
    case Domain::kGrandpaPrecommit:
      return "set_id=" + std::to_string(position.major) +
             " round=" + std::to_string(position.minor);
    case Domain::kBeefy:
      return "set_id=" + std::to_string(position.major) +
             " block=" + std::to_string(position.minor);
    case Domain::kDispute:
      return "session=" + std::to_string(position.major) +
             " candidate=" + base::HexEncode(position.candidate);
  }
  return "";
}

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllowedNew:
      return "allowed_new";
    case Verdict::kAllowedResign:
      return "allowed_resign";
    case Verdict::kAllowedUnprotected:
      return "allowed_unprotected";
    case Verdict::kAllowedByPolicy:
      return "allowed_by_policy";
    case Verdict::kRefusedBabeEquivocation:
      return "refused_babe_equivocation";
    case Verdict::kRefusedGrandpaEquivocation:
      return "refused_grandpa_equivocation";
    case Verdict::kRefusedBeefyEquivocation:
      return "refused_beefy_equivocation";
    case Verdict::kRefusedDisputeConflict:
      return "refused_dispute_conflict";
    case Verdict::kRefusedBelowWatermark:
      return "refused_below_watermark";
    case Verdict::kRefusedConflictedPosition:
      return "refused_conflicted_position";
    case Verdict::kRefusedUndecodable:
      return "refused_undecodable";
    case Verdict::kRefusedPreimageMismatch:
      return "refused_preimage_mismatch";
  }
  return "unknown";
}

}  // namespace slashing
