// Classifier tests: positions and digests from hand-built payloads, and every refusal path.
#include "slashing/classify.h"

#include <gtest/gtest.h>

#include "base/hash.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

std::vector<uint8_t> Blake(const std::vector<uint8_t>& bytes) {
  auto hash = base::Blake2b256(bytes);
  return {hash.begin(), hash.end()};
}
std::vector<uint8_t> Keccak(const std::vector<uint8_t>& bytes) {
  auto hash = base::Keccak256(bytes);
  return {hash.begin(), hash.end()};
}

TEST(ClassifyGrandpa, PrevoteAndPrecommitCarrySetRoundAndTarget) {
  for (uint8_t stage : {uint8_t{0}, uint8_t{1}}) {
    const auto message = testing::GrandpaMessage(stage, FilledHash(0x42), 0x01020304, 77, 5);
    ASSERT_EQ(message.size(), 53u);
    auto result = ClassifyGrandpa(message, std::nullopt);
    ASSERT_EQ(result.kind, ClassificationKind::kProtected);
    ASSERT_EQ(result.claims.size(), 1u);
    const Claim& claim = result.claims[0];
    EXPECT_EQ(claim.domain, stage == 0 ? Domain::kGrandpaPrevote : Domain::kGrandpaPrecommit);
    EXPECT_EQ(claim.position.major, 5u);
    EXPECT_EQ(claim.position.minor, 77u);
    std::vector<uint8_t> expected_digest(36, 0x42);
    expected_digest[32] = 0x04;  // target_number, little-endian
    expected_digest[33] = 0x03;
    expected_digest[34] = 0x02;
    expected_digest[35] = 0x01;
    EXPECT_EQ(claim.digest, expected_digest);
  }
}

TEST(ClassifyGrandpa, PrimaryProposeIsUnprotected) {
  const auto message = testing::GrandpaMessage(2, FilledHash(1), 1, 1, 1);
  EXPECT_EQ(ClassifyGrandpa(message, std::nullopt).kind, ClassificationKind::kUnprotected);
}

TEST(ClassifyGrandpa, RefusesBadStageLengthAndPreimage) {
  auto message = testing::GrandpaMessage(3, FilledHash(1), 1, 1, 1);
  EXPECT_EQ(ClassifyGrandpa(message, std::nullopt).kind, ClassificationKind::kUndecodable);
  message = testing::GrandpaMessage(0, FilledHash(1), 1, 1, 1);
  auto longer = message;
  longer.push_back(0);
  EXPECT_EQ(ClassifyGrandpa(longer, std::nullopt).kind, ClassificationKind::kUndecodable);
  message.pop_back();
  EXPECT_EQ(ClassifyGrandpa(message, std::nullopt).kind, ClassificationKind::kUndecodable);
  const std::vector<uint8_t> preimage = {1};
  const auto valid = testing::GrandpaMessage(0, FilledHash(1), 1, 1, 1);
  // A preimage is refused outright (not "unrecognised", which a policy may allow).
  EXPECT_EQ(ClassifyGrandpa(valid, std::span<const uint8_t>(preimage)).kind,
            ClassificationKind::kPreimageMismatch);
  EXPECT_EQ(ClassifyPara(testing::DisputeStatement(false, FilledHash(1), 1),
                         std::span<const uint8_t>(preimage))
                .kind,
            ClassificationKind::kPreimageMismatch);
}

TEST(ClassifyBabe, TakesSlotFromVerifiedHeader) {
  const auto header = testing::BabeHeader(123456789, 9);
  const auto message = Blake(header);
  auto result = ClassifyBabeSeal(message, std::span<const uint8_t>(header));
  ASSERT_EQ(result.kind, ClassificationKind::kProtected);
  EXPECT_EQ(result.claims[0].domain, Domain::kBabe);
  EXPECT_EQ(result.claims[0].position.major, 123456789u);
  EXPECT_EQ(result.claims[0].digest, message);
}

std::vector<uint8_t> HeaderWithPreDigests(const std::vector<std::vector<uint8_t>>& pre_digests) {
  ScaleWriter header;
  header.WriteBytes(FilledHash(1));
  header.WriteCompact(1000);
  header.WriteBytes(FilledHash(2));
  header.WriteBytes(FilledHash(3));
  header.WriteCompact(pre_digests.size());
  for (const auto& pre_digest : pre_digests) {
    header.WriteU8(6);
    header.WriteBytes(std::array<uint8_t, 4>{'B', 'A', 'B', 'E'});
    header.WriteByteVec(pre_digest);
  }
  return header.Take();
}

std::vector<uint8_t> PreDigest(uint8_t kind, uint64_t slot, size_t vrf_bytes) {
  ScaleWriter writer;
  writer.WriteU8(kind);
  writer.WriteU32(1);
  writer.WriteU64(slot);
  writer.WriteBytes(std::vector<uint8_t>(vrf_bytes, 0x5a));
  return writer.Take();
}

TEST(ClassifyBabe, PrimaryAndSecondaryVrfPreDigests) {
  for (uint8_t kind : {uint8_t{1}, uint8_t{3}}) {
    const auto header = HeaderWithPreDigests({PreDigest(kind, 42, 96)});
    auto result = ClassifyBabeSeal(Blake(header), std::span<const uint8_t>(header));
    ASSERT_EQ(result.kind, ClassificationKind::kProtected) << int(kind);
    EXPECT_EQ(result.claims[0].position.major, 42u);
  }
}

TEST(ClassifyBabe, RefusesMalformedOrAmbiguousPreDigests) {
  const std::vector<std::vector<std::vector<uint8_t>>> bad = {
      {},                                          // no pre-digest
      {PreDigest(1, 42, 95)},                      // truncated VRF signature
      {PreDigest(2, 42, 1)},                       // trailing byte in SecondaryPlain
      {PreDigest(4, 42, 0)},                       // unknown variant
      {PreDigest(2, 42, 0), PreDigest(2, 43, 0)},  // two BABE pre-digests
  };
  for (const auto& pre_digests : bad) {
    const auto header = HeaderWithPreDigests(pre_digests);
    EXPECT_EQ(ClassifyBabeSeal(Blake(header), std::span<const uint8_t>(header)).kind,
              ClassificationKind::kUndecodable);
  }
}

TEST(ClassifyBabe, RefusesMismatchMissingAndTrailingBytes) {
  auto header = testing::BabeHeader(5, 1);
  auto message = Blake(header);
  auto other = testing::BabeHeader(5, 2);
  EXPECT_EQ(ClassifyBabeSeal(message, std::span<const uint8_t>(other)).kind,
            ClassificationKind::kPreimageMismatch);
  EXPECT_EQ(ClassifyBabeSeal(message, std::nullopt).kind, ClassificationKind::kUndecodable);
  header.push_back(0);  // hash matches, but the header has a trailing byte
  EXPECT_EQ(ClassifyBabeSeal(Blake(header), std::span<const uint8_t>(header)).kind,
            ClassificationKind::kUndecodable);
}

TEST(ClassifyBeefy, TakesSetIdAndBlockFromVerifiedCommitment) {
  const auto commitment = testing::BeefyCommitment(1000, 7, 3);
  const auto message = Keccak(commitment);
  auto result = ClassifyBeefy(message, std::span<const uint8_t>(commitment));
  ASSERT_EQ(result.kind, ClassificationKind::kProtected);
  EXPECT_EQ(result.claims[0].domain, Domain::kBeefy);
  EXPECT_EQ(result.claims[0].position.major, 7u);
  EXPECT_EQ(result.claims[0].position.minor, 1000u);
  EXPECT_EQ(result.claims[0].digest, message);
}

TEST(ClassifyBeefy, RefusesBlake2PrehashMismatchAndTrailingBytes) {
  const auto commitment = testing::BeefyCommitment(1000, 7, 3);
  // The BABE hash function over the same bytes is not the BEEFY prehash.
  EXPECT_EQ(ClassifyBeefy(Blake(commitment), std::span<const uint8_t>(commitment)).kind,
            ClassificationKind::kPreimageMismatch);
  auto longer = commitment;
  longer.push_back(0);
  EXPECT_EQ(ClassifyBeefy(Keccak(longer), std::span<const uint8_t>(longer)).kind,
            ClassificationKind::kUndecodable);
}

TEST(ClassifyPara, BackingIsAValidVoteForTheCandidate) {
  for (uint8_t kind : {uint8_t{1}, uint8_t{2}}) {
    const auto message = testing::BackingStatement(kind, FilledHash(0x21), 12);
    ASSERT_EQ(message.size(), 73u);
    auto result = ClassifyPara(message, std::nullopt);
    ASSERT_EQ(result.kind, ClassificationKind::kProtected);
    EXPECT_EQ(result.claims[0].domain, Domain::kDispute);
    EXPECT_EQ(result.claims[0].position.major, 12u);
    EXPECT_EQ(result.claims[0].position.candidate, FilledHash(0x21));
    EXPECT_EQ(result.claims[0].digest, std::vector<uint8_t>{kDisputeValid});
  }
  EXPECT_EQ(ClassifyPara(testing::BackingStatement(3, FilledHash(1), 1), std::nullopt).kind,
            ClassificationKind::kUndecodable);
}

TEST(ClassifyPara, DisputeValidAndInvalid) {
  for (bool valid : {true, false}) {
    auto result = ClassifyPara(testing::DisputeStatement(valid, FilledHash(3), 4), std::nullopt);
    ASSERT_EQ(result.kind, ClassificationKind::kProtected);
    EXPECT_EQ(result.claims[0].digest,
              std::vector<uint8_t>{valid ? kDisputeValid : kDisputeInvalid});
    EXPECT_EQ(result.claims[0].position.major, 4u);
  }
  auto bad_bool = testing::DisputeStatement(true, FilledHash(3), 4);
  bad_bool[4] = 2;
  EXPECT_EQ(ClassifyPara(bad_bool, std::nullopt).kind, ClassificationKind::kUndecodable);
}

TEST(ClassifyPara, ApprovalSingleAndMultiCandidate) {
  auto single = ClassifyPara(testing::ApprovalVote({FilledHash(1)}, 9), std::nullopt);
  ASSERT_EQ(single.kind, ClassificationKind::kProtected);
  ASSERT_EQ(single.claims.size(), 1u);
  auto multi = ClassifyPara(testing::ApprovalVote({FilledHash(1), FilledHash(2), FilledHash(3)}, 9),
                            std::nullopt);
  ASSERT_EQ(multi.kind, ClassificationKind::kProtected);
  ASSERT_EQ(multi.claims.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(multi.claims[i].position.candidate, FilledHash(static_cast<uint8_t>(i + 1)));
    EXPECT_EQ(multi.claims[i].position.major, 9u);
    EXPECT_EQ(multi.claims[i].digest, std::vector<uint8_t>{kDisputeValid});
  }
  EXPECT_EQ(ClassifyPara(testing::ApprovalVote({}, 9, true), std::nullopt).kind,
            ClassificationKind::kUndecodable);
}

TEST(ClassifyPara, PvfCheckAndBitfieldsAreUnprotected) {
  EXPECT_EQ(ClassifyPara(testing::PvfCheck(true, 3), std::nullopt).kind,
            ClassificationKind::kUnprotected);
  EXPECT_EQ(ClassifyPara(testing::Bitfield(200, 3), std::nullopt).kind,
            ClassificationKind::kUnprotected);
  auto truncated = testing::Bitfield(200, 3);
  truncated.pop_back();
  EXPECT_EQ(ClassifyPara(truncated, std::nullopt).kind, ClassificationKind::kUndecodable);
  const std::vector<uint8_t> junk = {'X', 'Y', 'Z', 'W', 1, 2, 3};
  EXPECT_EQ(ClassifyPara(junk, std::nullopt).kind, ClassificationKind::kUndecodable);
}

TEST(Classify, NonSlashableKeyTypesAreUnprotected) {
  const std::vector<uint8_t> anything = {1, 2, 3};
  for (const base::KeyTypeId& key_type :
       {base::KeyTypeIdFromLiteral("audi"), base::KeyTypeIdFromLiteral("acco"),
        base::KeyTypeIdFromLiteral("asgn"), base::KeyTypeIdFromLiteral("imon")}) {
    EXPECT_FALSE(IsSlashableKeyType(key_type));
    EXPECT_EQ(Classify(key_type, anything, std::nullopt).kind, ClassificationKind::kUnprotected);
  }
  for (const base::KeyTypeId& key_type :
       {base::kKeyTypeBabe, base::kKeyTypeGrandpa, base::kKeyTypeBeefy, base::kKeyTypePara}) {
    EXPECT_TRUE(IsSlashableKeyType(key_type));
    EXPECT_EQ(Classify(key_type, anything, std::nullopt).kind, ClassificationKind::kUndecodable);
  }
}

}  // namespace
}  // namespace slashing
