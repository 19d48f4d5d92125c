// The vocabulary of protection: domains, positions, claims and the closed set of verdicts.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/substrate_types.h"

namespace slashing {

// kSlashableKeyTypes are the key types whose signatures can be slashed: each has a classifier, and
// messages for them must be classified or explicitly allowed by policy.
inline constexpr base::KeyTypeId kSlashableKeyTypes[] = {base::kKeyTypeBabe, base::kKeyTypeGrandpa,
                                                         base::kKeyTypeBeefy, base::kKeyTypePara};

// IsSlashableKeyType is true for the key types in kSlashableKeyTypes.
bool IsSlashableKeyType(const base::KeyTypeId& key_type);

// Domain is where one rule applies: per (public key, domain), one digest per position. The values
// are stored on disk (docs/history-format.md): never renumber them.
enum class Domain : uint8_t {
  kBabe = 1,              // position (slot, 0), digest = header hash
  kGrandpaPrevote = 2,    // position (set_id, round), digest = target hash ++ LE32(number)
  kGrandpaPrecommit = 3,  // as prevote; the stages are independent
  kBeefy = 4,             // position (validator_set_id, block_number), digest = commitment hash
  kDispute = 5,           // position (session, 0, candidate hash), digest = [1] valid / [0] invalid
};
inline constexpr Domain kAllDomains[] = {Domain::kBabe, Domain::kGrandpaPrevote,
                                         Domain::kGrandpaPrecommit, Domain::kBeefy,
                                         Domain::kDispute};

// DomainName is the stable lower-case name used in interchange files and metrics labels.
std::string_view DomainName(Domain domain);
// DomainFromName is the inverse of DomainName; nullopt for an unknown name.
std::optional<Domain> DomainFromName(std::string_view name);
// DomainFromByte validates a stored domain byte.
std::optional<Domain> DomainFromByte(uint8_t value);

// Position locates a signature inside a domain. Watermarks order positions by (major, minor) only;
// `candidate` distinguishes dispute positions of one session and is all-zero elsewhere.
struct Position {
  uint64_t major = 0;
  uint64_t minor = 0;
  base::Hash256 candidate{};

  friend bool operator==(const Position&, const Position&) = default;
  friend auto operator<=>(const Position&, const Position&) = default;
};

// DescribePosition names `position` in the words of `domain` for logs and traces: "slot=5",
// "set_id=1 round=2", "set_id=1 block=2", "session=3 candidate=<64 hex digits>". Never fails;
// thread-safe. (It takes the domain and position, not a Claim: the digest plays no part.)
std::string DescribePosition(Domain domain, const Position& position);

// Watermark is the lowest (major, minor) still accepted for one (public key, domain).
struct Watermark {
  uint64_t major = 0;
  uint64_t minor = 0;
  friend bool operator==(const Watermark&, const Watermark&) = default;
  friend auto operator<=>(const Watermark&, const Watermark&) = default;
};

// IsBelow is true when `position` is strictly below `watermark`.
inline bool IsBelow(const Position& position, const Watermark& watermark) {
  return Watermark{position.major, position.minor} < watermark;
}

// kMaxDigestSize bounds digests everywhere (stored records, interchange files).
inline constexpr size_t kMaxDigestSize = 64;

// Claim is what one signature would commit the key to: (domain, position, digest).
struct Claim {
  Domain domain = Domain::kBabe;
  Position position;
  std::vector<uint8_t> digest;
  friend bool operator==(const Claim&, const Claim&) = default;
};

// Verdict is the closed set of protection outcomes. Tests and callers match on it; a refusal's
// details (domain, position: set_id/round/stage, slot, ...) are in Decision::claim.
enum class Verdict {
  kAllowedNew,                  // first signature at this position; recorded durably
  kAllowedResign,               // the identical digest was already recorded
  kAllowedUnprotected,          // not slashable (VRF, bitfield, PVF check, audi, ...)
  kAllowedByPolicy,             // unclassifiable payload, explicitly allowed for this key type
  kRefusedBabeEquivocation,     // another header at this slot
  kRefusedGrandpaEquivocation,  // another vote at this (set_id, round, stage)
  kRefusedBeefyEquivocation,    // another commitment at this (set_id, block_number)
  kRefusedDisputeConflict,      // valid and invalid for one (session, candidate)
  kRefusedBelowWatermark,       // position below the pruned low watermark
  kRefusedConflictedPosition,   // an import recorded conflicting digests at this position
  kRefusedUndecodable,          // slashable key type, payload not recognised
  kRefusedPreimageMismatch,     // the preimage does not hash to the message
};

// IsAllowed is true for the kAllowed* verdicts: only then may a signature be produced.
constexpr bool IsAllowed(Verdict verdict) {
  return verdict == Verdict::kAllowedNew || verdict == Verdict::kAllowedResign ||
         verdict == Verdict::kAllowedUnprotected || verdict == Verdict::kAllowedByPolicy;
}
// VerdictName is a stable snake_case label for metrics and logs.
std::string_view VerdictName(Verdict verdict);

}  // namespace slashing
