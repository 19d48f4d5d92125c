// Classifiers: (key type, message, optional preimage) -> the claims a signature would make.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "slashing/types.h"

namespace slashing {

// ClassificationKind is the closed set of classifier outcomes.
enum class ClassificationKind {
  kProtected,         // claims holds one or more claims to check and record
  kUnprotected,       // recognised and not slashable (or a non-slashable key type)
  kUndecodable,       // slashable key type, but the message (or preimage) is not recognised
  kPreimageMismatch,  // a preimage was given and does not hash to the message, or was given
                      // for a message that is signed as it is (gran, para)
};

// Classification is a classifier's answer. `claims` is non-empty only for kProtected.
struct Classification {
  ClassificationKind kind = ClassificationKind::kUndecodable;
  std::vector<Claim> claims;
};

// ClassifyGrandpa decodes the 53-byte localized GRANDPA payload
// (stage u8, target_hash, target_number u32, round u64, set_id u64). PrimaryPropose is
// unprotected. A preimage must be absent (or empty): one that is not is kPreimageMismatch, so a
// policy that allows unrecognised gran messages never lets a vote through because of it. Pure;
// thread-safe.
Classification ClassifyGrandpa(std::span<const uint8_t> message,
                               std::optional<std::span<const uint8_t>> preimage);

// ClassifyBabeSeal checks blake2_256(preimage) == message (32 bytes), decodes the preimage as a
// SCALE header and takes the slot from its single BABE PreRuntime digest. Missing preimage or no
// (or several) BABE pre-digests is kUndecodable. Pure; thread-safe.
Classification ClassifyBabeSeal(std::span<const uint8_t> message,
                                std::optional<std::span<const uint8_t>> preimage);

// ClassifyBeefy checks keccak256(preimage) == message (32 bytes) and decodes the preimage as a
// SCALE Commitment {payload, block_number u32, validator_set_id u64}. Pure; thread-safe.
Classification ClassifyBeefy(std::span<const uint8_t> message,
                             std::optional<std::span<const uint8_t>> preimage);

// ClassifyPara classifies parachain-validator messages by prefix: BKNG (valid vote), APPR single
// or multi-candidate (valid vote per candidate), DISP (valid or invalid), VCPC (unprotected), and
// otherwise a strictly decoded availability bitfield (unprotected). A non-empty preimage is
// kPreimageMismatch, as for ClassifyGrandpa. Pure; thread-safe.
Classification ClassifyPara(std::span<const uint8_t> message,
                            std::optional<std::span<const uint8_t>> preimage);

// Classify dispatches on key type; every non-slashable key type is kUnprotected. Thread-safe.
Classification Classify(const base::KeyTypeId& key_type, std::span<const uint8_t> message,
                        std::optional<std::span<const uint8_t>> preimage);

// MayBeMessageOf is true when a signature on `message` could be a message that the rule of the
// slashable key type `role` protects: any 32 bytes for babe (a header hash) and beef (a commitment
// hash), 53 bytes for gran, a backing, approval, dispute or PVF-check prefix for para. False for
// a key type that is not slashable. The answer depends on the message's shape only, never on
// whether it decodes: a request that names another key type of the same public key is judged by
// `role`'s rule whenever this is true. Pure; thread-safe.
bool MayBeMessageOf(const base::KeyTypeId& role, std::span<const uint8_t> message);

// kDisputeValid and kDisputeInvalid are the one-byte digests of the dispute domain.
inline constexpr uint8_t kDisputeValid = 1;
inline constexpr uint8_t kDisputeInvalid = 0;

}  // namespace slashing
