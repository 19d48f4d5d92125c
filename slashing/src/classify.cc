// Payload classifiers for BABE seals, GRANDPA votes, BEEFY commitments and parachain statements.
#include "slashing/classify.h"

#include <algorithm>
#include <cstring>

#include "base/hash.h"
#include "slashing/scale.h"

namespace slashing {
namespace {

// Bounds on untrusted payloads: generous for real chains, small enough that a hostile request
// cannot make a classifier allocate or loop much.
constexpr size_t kMaxPreimageSize = 1 << 20;
constexpr size_t kMaxDigestItems = 1024;
constexpr size_t kMaxBeefyPayloadItems = 256;
constexpr size_t kMaxApprovalCandidates = 1024;
constexpr size_t kMaxBitfieldBits = 1 << 16;

constexpr size_t kGrandpaMessageSize = 53;
constexpr uint8_t kGrandpaPrevote = 0;
constexpr uint8_t kGrandpaPrecommit = 1;
constexpr uint8_t kGrandpaPrimaryPropose = 2;

// DigestItem variant indices (sp_runtime::generic::DigestItem).
constexpr uint8_t kDigestOther = 0;
constexpr uint8_t kDigestConsensus = 4;
constexpr uint8_t kDigestSeal = 5;
constexpr uint8_t kDigestPreRuntime = 6;
constexpr uint8_t kDigestRuntimeEnvironmentUpdated = 8;
constexpr uint8_t kBabeEngineId[4] = {'B', 'A', 'B', 'E'};
// BABE PreDigest variants (sc_consensus_babe / sp_consensus_babe::digests::PreDigest).
constexpr uint8_t kBabePrimary = 1;
constexpr uint8_t kBabeSecondaryPlain = 2;
constexpr uint8_t kBabeSecondaryVrf = 3;
constexpr size_t kVrfSignatureSize = 96;  // pre-output 32 ++ proof 64

constexpr uint8_t kMagicBacking[4] = {'B', 'K', 'N', 'G'};
constexpr uint8_t kMagicApproval[4] = {'A', 'P', 'P', 'R'};
constexpr uint8_t kMagicDispute[4] = {'D', 'I', 'S', 'P'};
constexpr uint8_t kMagicPvfCheck[4] = {'V', 'C', 'P', 'C'};
constexpr uint8_t kBackingSeconded = 1;
constexpr uint8_t kBackingValid = 2;

Classification Undecodable() { return {ClassificationKind::kUndecodable, {}}; }
Classification Unprotected() { return {ClassificationKind::kUnprotected, {}}; }
Classification Protected(std::vector<Claim> claims) {
  return {ClassificationKind::kProtected, std::move(claims)};
}

bool PreimageAbsent(const std::optional<std::span<const uint8_t>>& preimage) {
  return !preimage.has_value() || preimage->empty();
}

bool HasPrefix(std::span<const uint8_t> message, const uint8_t (&magic)[4]) {
  return message.size() >= 4 && std::memcmp(message.data(), magic, 4) == 0;
}

// DecodeBabeSlot walks a SCALE header and returns the slot of its only BABE pre-digest.
std::optional<uint64_t> DecodeBabeSlot(std::span<const uint8_t> header) {
  ScaleReader reader(header);
  reader.ReadBytes(32);       // parent_hash
  reader.ReadCompactU32();    // number (Compact<u32>)
  reader.ReadBytes(32 + 32);  // state_root, extrinsics_root
  auto items = reader.ReadVecLength(kMaxDigestItems, 1);
  if (!items) return std::nullopt;
  std::optional<uint64_t> slot;
  bool several = false;
  for (size_t i = 0; i < *items && reader.ok(); ++i) {
    auto index = reader.ReadEnumIndex();
    if (!index) return std::nullopt;
    switch (*index) {
      case kDigestOther:
        reader.ReadByteVec(kMaxPreimageSize);
        break;
      case kDigestConsensus:
      case kDigestSeal:
        reader.ReadBytes(4);
        reader.ReadByteVec(kMaxPreimageSize);
        break;
      case kDigestPreRuntime: {
        auto engine = reader.ReadBytes(4);
        auto data = reader.ReadByteVec(kMaxPreimageSize);
        if (!engine || !data || std::memcmp(engine->data(), kBabeEngineId, 4) != 0) break;
        ScaleReader pre_digest(*data);
        auto kind = pre_digest.ReadEnumIndex();
        pre_digest.ReadU32();  // authority_index
        auto item_slot = pre_digest.ReadU64();
        if (kind == kBabePrimary || kind == kBabeSecondaryVrf) {
          pre_digest.ReadBytes(kVrfSignatureSize);
        } else if (kind != kBabeSecondaryPlain) {
          pre_digest.Fail();
        }
        if (!pre_digest.Finish()) return std::nullopt;
        if (slot) several = true;
        slot = item_slot;
        break;
      }
      case kDigestRuntimeEnvironmentUpdated:
        break;
      default:
        reader.Fail();
    }
  }
  // Two BABE pre-digests would make the slot ambiguous; upstream rejects such headers too.
  if (!reader.Finish() || several) return std::nullopt;
  return slot;
}

// ParseSessionCandidate reads (candidate_hash, session u32) as DISP and APPR encode them.
Claim DisputeClaim(const base::Hash256& candidate, uint32_t session, uint8_t verdict) {
  Claim claim;
  claim.domain = Domain::kDispute;
  claim.position.major = session;
  claim.position.candidate = candidate;
  claim.digest = {verdict};
  return claim;
}

Classification ClassifyBacking(std::span<const uint8_t> message) {
  ScaleReader reader(message.subspan(4));
  auto kind = reader.ReadEnumIndex();
  auto candidate = reader.ReadArray<32>();
  auto session = reader.ReadU32();  // SigningContext.session_index
  reader.ReadBytes(32);             // SigningContext.parent_hash
  if (!reader.Finish() || (kind != kBackingSeconded && kind != kBackingValid)) {
    return Undecodable();
  }
  return Protected({DisputeClaim(*candidate, *session, kDisputeValid)});
}

Classification ClassifyApproval(std::span<const uint8_t> message) {
  // A single-candidate approval is (magic, hash, session): 40 bytes. The multi-candidate form
  // (magic, Vec<hash>, session) is always longer, so the length tells them apart.
  std::vector<base::Hash256> candidates;
  ScaleReader reader(message.subspan(4));
  if (message.size() == 4 + 32 + 4) {
    auto candidate = reader.ReadArray<32>();
    if (candidate) candidates.push_back(*candidate);
  } else {
    auto count = reader.ReadVecLength(kMaxApprovalCandidates, 32);
    if (!count || *count == 0) return Undecodable();
    for (size_t i = 0; i < *count; ++i) {
      auto candidate = reader.ReadArray<32>();
      if (!candidate) return Undecodable();
      candidates.push_back(*candidate);
    }
  }
  auto session = reader.ReadU32();
  if (!reader.Finish()) return Undecodable();
  std::vector<Claim> claims;
  for (const base::Hash256& candidate : candidates) {
    claims.push_back(DisputeClaim(candidate, *session, kDisputeValid));
  }
  return Protected(std::move(claims));
}

Classification ClassifyDispute(std::span<const uint8_t> message) {
  ScaleReader reader(message.subspan(4));
  auto valid = reader.ReadBool();
  auto candidate = reader.ReadArray<32>();
  auto session = reader.ReadU32();
  if (!reader.Finish()) return Undecodable();
  return Protected({DisputeClaim(*candidate, *session, *valid ? kDisputeValid : kDisputeInvalid)});
}

Classification ClassifyPvfCheck(std::span<const uint8_t> message) {
  ScaleReader reader(message.subspan(4));
  reader.ReadBool();     // accept
  reader.ReadBytes(32);  // validation code hash
  reader.ReadU32();      // session
  reader.ReadU32();      // validator index
  return reader.Finish() ? Unprotected() : Undecodable();
}

Classification ClassifyBitfield(std::span<const uint8_t> message) {
  ScaleReader reader(message);
  auto bits = reader.ReadCompact();
  if (!bits || *bits > kMaxBitfieldBits) return Undecodable();
  reader.ReadBytes(static_cast<size_t>((*bits + 7) / 8));
  reader.ReadU32();      // SigningContext.session_index
  reader.ReadBytes(32);  // SigningContext.parent_hash
  return reader.Finish() ? Unprotected() : Undecodable();
}

}  // namespace

Classification ClassifyGrandpa(std::span<const uint8_t> message,
                               std::optional<std::span<const uint8_t>> preimage) {
  // These messages are signed as they are: a preimage describes nothing here, and before this
  // was refused outright a policy allowing unrecognised messages signed any vote sent with one,
  // unchecked and unrecorded.
  if (!PreimageAbsent(preimage)) return {ClassificationKind::kPreimageMismatch, {}};
  if (message.size() != kGrandpaMessageSize) return Undecodable();
  ScaleReader reader(message);
  auto stage = reader.ReadEnumIndex();
  auto target = reader.ReadBytes(32 + 4);  // target_hash ++ target_number
  auto round = reader.ReadU64();
  auto set_id = reader.ReadU64();
  if (!reader.Finish()) return Undecodable();
  if (*stage == kGrandpaPrimaryPropose) return Unprotected();
  if (*stage != kGrandpaPrevote && *stage != kGrandpaPrecommit) return Undecodable();
  Claim claim;
  claim.domain = *stage == kGrandpaPrevote ? Domain::kGrandpaPrevote : Domain::kGrandpaPrecommit;
  claim.position.major = *set_id;
  claim.position.minor = *round;
  claim.digest.assign(target->begin(), target->end());
  return Protected({std::move(claim)});
}

Classification ClassifyBabeSeal(std::span<const uint8_t> message,
                                std::optional<std::span<const uint8_t>> preimage) {
  if (message.size() != 32 || PreimageAbsent(preimage) || preimage->size() > kMaxPreimageSize) {
    return Undecodable();
  }
  const base::Hash256 hash = base::Blake2b256(*preimage);
  if (!std::equal(hash.begin(), hash.end(), message.begin())) {
    return {ClassificationKind::kPreimageMismatch, {}};
  }
  auto slot = DecodeBabeSlot(*preimage);
  if (!slot) return Undecodable();
  Claim claim;
  claim.domain = Domain::kBabe;
  claim.position.major = *slot;
  claim.digest.assign(message.begin(), message.end());
  return Protected({std::move(claim)});
}

Classification ClassifyBeefy(std::span<const uint8_t> message,
                             std::optional<std::span<const uint8_t>> preimage) {
  if (message.size() != 32 || PreimageAbsent(preimage) || preimage->size() > kMaxPreimageSize) {
    return Undecodable();
  }
  const base::Hash256 hash = base::Keccak256(*preimage);
  if (!std::equal(hash.begin(), hash.end(), message.begin())) {
    return {ClassificationKind::kPreimageMismatch, {}};
  }
  ScaleReader reader(*preimage);
  auto items = reader.ReadVecLength(kMaxBeefyPayloadItems, 3);
  for (size_t i = 0; items && i < *items && reader.ok(); ++i) {
    reader.ReadBytes(2);  // BeefyPayloadId
    reader.ReadByteVec(kMaxPreimageSize);
  }
  auto block_number = reader.ReadU32();
  auto set_id = reader.ReadU64();
  if (!reader.Finish()) return Undecodable();
  Claim claim;
  claim.domain = Domain::kBeefy;
  claim.position.major = *set_id;
  claim.position.minor = *block_number;
  claim.digest.assign(message.begin(), message.end());
  return Protected({std::move(claim)});
}

Classification ClassifyPara(std::span<const uint8_t> message,
                            std::optional<std::span<const uint8_t>> preimage) {
  if (!PreimageAbsent(preimage)) return {ClassificationKind::kPreimageMismatch, {}};  // as gran
  if (HasPrefix(message, kMagicBacking)) return ClassifyBacking(message);
  if (HasPrefix(message, kMagicApproval)) return ClassifyApproval(message);
  if (HasPrefix(message, kMagicDispute)) return ClassifyDispute(message);
  if (HasPrefix(message, kMagicPvfCheck)) return ClassifyPvfCheck(message);
  return ClassifyBitfield(message);
}

bool MayBeMessageOf(const base::KeyTypeId& role, std::span<const uint8_t> message) {
  if (role == base::kKeyTypeBabe || role == base::kKeyTypeBeefy) return message.size() == 32;
  if (role == base::kKeyTypeGrandpa) return message.size() == kGrandpaMessageSize;
  if (role == base::kKeyTypePara) {
    return HasPrefix(message, kMagicBacking) || HasPrefix(message, kMagicApproval) ||
           HasPrefix(message, kMagicDispute) || HasPrefix(message, kMagicPvfCheck);
  }
  return false;
}

Classification Classify(const base::KeyTypeId& key_type, std::span<const uint8_t> message,
                        std::optional<std::span<const uint8_t>> preimage) {
  if (key_type == base::kKeyTypeGrandpa) return ClassifyGrandpa(message, preimage);
  if (key_type == base::kKeyTypeBabe) return ClassifyBabeSeal(message, preimage);
  if (key_type == base::kKeyTypeBeefy) return ClassifyBeefy(message, preimage);
  if (key_type == base::kKeyTypePara) return ClassifyPara(message, preimage);
  return Unprotected();
}

}  // namespace slashing
