// Claim record codec: round trip, the byte layout docs/kafka.md states, and the strict decoder.
#include "kafka/claim_record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "slashing/classify.h"
#include "slashing/record.h"

namespace kafka {
namespace {

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

ClaimRecord SampleRecord() {
  ClaimRecord record;
  record.key_type = base::kKeyTypeGrandpa;
  record.public_key.assign(32, 0xa1);
  record.genesis_hash.fill(0x42);
  record.signer_id = "signer-2";
  for (size_t i = 0; i < record.request_id.size(); ++i) {
    record.request_id[i] = static_cast<uint8_t>(i);
  }
  record.time_unix_ms = 1'700'000'000'123;
  slashing::Claim prevote;
  prevote.domain = slashing::Domain::kGrandpaPrevote;
  prevote.position = {7, 3, {}};
  prevote.digest.assign(36, 0x5c);
  slashing::Claim dispute;
  dispute.domain = slashing::Domain::kDispute;
  dispute.position = {9, 0, {}};
  dispute.position.candidate.fill(0x77);
  dispute.digest = {1};
  record.claims = {prevote, dispute};
  return record;
}

TEST(ClaimRecordTest, RoundTrips) {
  const ClaimRecord record = SampleRecord();
  auto encoded = EncodeClaimRecord(record);
  ASSERT_TRUE(encoded.ok()) << encoded.status().message();
  auto decoded = DecodeClaimRecord(Bytes(*encoded));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, record);
}

// The layout written out by hand from docs/kafka.md, so a codec change that breaks the documented
// format (and every other signer reading it) fails here.
TEST(ClaimRecordTest, MatchesTheDocumentedLayout) {
  ClaimRecord record;
  record.key_type = base::kKeyTypeBabe;
  record.public_key = {0xaa, 0xbb};
  record.genesis_hash.fill(0x11);
  record.signer_id = "s1";
  record.request_id.fill(0x22);
  record.time_unix_ms = 0x0102030405060708ULL;
  slashing::Claim claim;
  claim.domain = slashing::Domain::kBabe;
  claim.position = {0x0a, 0, {}};
  claim.digest = {0xde, 0xad};
  record.claims = {claim};

  std::string expected;
  expected += '\x01';                                              // version
  expected += "babe";                                              // key type
  expected += "\x02\xaa\xbb";                                      // public key
  expected += std::string(32, '\x11');                             // genesis
  expected += "\x02s1";                                            // signer id
  expected += std::string(16, '\x22');                             // request id
  expected += std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);  // time
  expected += '\x01';                                              // claim count
  expected += '\x01';                                              // domain babe
  expected += std::string("\0\0\0\0\0\0\0\x0a", 8);                // major
  expected += std::string(8, '\0');                                // minor
  expected += std::string(32, '\0');                               // candidate
  expected += "\x02\xde\xad";                                      // digest
  auto encoded = EncodeClaimRecord(record);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, expected);
}

TEST(ClaimRecordTest, EveryTruncationIsRefused) {
  auto encoded = EncodeClaimRecord(SampleRecord());
  ASSERT_TRUE(encoded.ok());
  const std::vector<uint8_t> whole = Bytes(*encoded);
  for (size_t size = 0; size < whole.size(); ++size) {
    auto decoded = DecodeClaimRecord(std::span(whole).first(size));
    EXPECT_FALSE(decoded.ok()) << "prefix of " << size << " bytes decoded";
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), base::StatusCode::kInvalidArgument);
    }
  }
}

// Offsets into the encoding of SampleRecord (32-byte key, 8-byte signer id).
constexpr size_t kKeySizeAt = 5;
constexpr size_t kSignerSizeAt = 5 + 1 + 32 + 32;
constexpr size_t kCountAt = kSignerSizeAt + 1 + 8 + 16 + 8;
constexpr size_t kFirstDomainAt = kCountAt + 1;
constexpr size_t kFirstDigestSizeAt = kFirstDomainAt + 1 + 8 + 8 + 32;

TEST(ClaimRecordTest, StrictDecodeTable) {
  auto encoded = EncodeClaimRecord(SampleRecord());
  ASSERT_TRUE(encoded.ok());
  const std::vector<uint8_t> good = Bytes(*encoded);
  ASSERT_EQ(good[kKeySizeAt], 32);
  ASSERT_EQ(good[kSignerSizeAt], 8);
  ASSERT_EQ(good[kCountAt], 2);
  ASSERT_EQ(good[kFirstDomainAt], 2);
  ASSERT_EQ(good[kFirstDigestSizeAt], 36);

  struct Case {
    const char* name;
    size_t at;
    uint8_t value;
  };
  const Case cases[] = {
      {"version 0", 0, 0},
      {"version 2", 0, 2},
      {"empty public key", kKeySizeAt, 0},
      {"public key of 65 bytes", kKeySizeAt, 65},
      {"signer id of 129 bytes", kSignerSizeAt, 129},
      {"no claims", kCountAt, 0},
      {"65 claims", kCountAt, 65},
      {"domain 0", kFirstDomainAt, 0},
      {"domain 6", kFirstDomainAt, 6},
      {"empty digest", kFirstDigestSizeAt, 0},
      {"digest of 65 bytes", kFirstDigestSizeAt, 65},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> bad = good;
    bad[c.at] = c.value;
    auto decoded = DecodeClaimRecord(bad);
    EXPECT_FALSE(decoded.ok()) << c.name;
  }
  std::vector<uint8_t> trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeClaimRecord(trailing).ok()) << "trailing byte";
  EXPECT_TRUE(DecodeClaimRecord(good).ok());
}

TEST(ClaimRecordTest, EncoderRefusesWhatTheDecoderWould) {
  ClaimRecord record = SampleRecord();
  record.public_key.clear();
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
  record = SampleRecord();
  record.public_key.assign(65, 1);
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
  record = SampleRecord();
  record.signer_id.assign(129, 'x');
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
  record = SampleRecord();
  record.claims.clear();
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
  record = SampleRecord();
  record.claims.assign(kMaxClaimsPerRecord + 1, record.claims[0]);
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
  record = SampleRecord();
  record.claims[0].digest.clear();
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
  record = SampleRecord();
  record.claims[0].digest.assign(65, 1);
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
}

// Each domain allows the position shape the history store's keys allow (slashing::DecodeRecordKey):
// a candidate hash only for disputes, a minor part only for GRANDPA and BEEFY. A record with any
// other shape would be stored under a key the store reads back as corrupt, so the encoder refuses
// it and the decoder skips it, on every signer alike.
TEST(ClaimRecordTest, PositionShapeFollowsTheDomain) {
  using slashing::Domain;
  base::Hash256 candidate{};
  candidate[31] = 0x01;
  struct Case {
    uint64_t minor;
    Domain domain;
    bool allowed;
    base::Hash256 candidate;
  };
  const Case cases[] = {
      {0, Domain::kBabe, true, {}},
      {1, Domain::kBabe, false, {}},
      {0, Domain::kBabe, false, candidate},
      {0, Domain::kGrandpaPrevote, true, {}},
      {UINT64_MAX, Domain::kGrandpaPrevote, true, {}},
      {3, Domain::kGrandpaPrevote, false, candidate},
      {3, Domain::kGrandpaPrecommit, true, {}},
      {0, Domain::kGrandpaPrecommit, false, candidate},
      {0, Domain::kBeefy, true, {}},
      {12, Domain::kBeefy, true, {}},
      {12, Domain::kBeefy, false, candidate},
      {0, Domain::kDispute, true, candidate},
      {0, Domain::kDispute, true, {}},
      {1, Domain::kDispute, false, candidate},
      {1, Domain::kDispute, false, {}},
  };
  for (const Case& c : cases) {
    const std::string name = std::string(slashing::DomainName(c.domain)) +
                             " minor=" + std::to_string(c.minor) +
                             (c.candidate == base::Hash256{} ? "" : " with candidate");
    ClaimRecord record = SampleRecord();
    record.claims.resize(1);
    record.claims[0].domain = c.domain;
    record.claims[0].position = {5, 0, {}};
    // The position is written over an encoding of the allowed shape, so the decoder is tested on
    // bytes the encoder would not produce.
    auto encoded = EncodeClaimRecord(record);
    ASSERT_TRUE(encoded.ok()) << name;
    std::vector<uint8_t> bytes = Bytes(*encoded);
    const size_t minor_at = kFirstDomainAt + 1 + 8;
    const size_t candidate_at = minor_at + 8;
    for (size_t i = 0; i < 8; ++i) {
      bytes[minor_at + i] = static_cast<uint8_t>(c.minor >> (56 - 8 * i));
    }
    std::copy(c.candidate.begin(), c.candidate.end(), bytes.begin() + candidate_at);
    auto decoded = DecodeClaimRecord(bytes);
    EXPECT_EQ(decoded.ok(), c.allowed) << name;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), base::StatusCode::kInvalidArgument) << name;
    }
    record.claims[0].position = {5, c.minor, c.candidate};
    EXPECT_EQ(EncodeClaimRecord(record).ok(), c.allowed) << name;
    // The same rule as the store's: what the decoder accepts is a key the store reads back.
    const slashing::RecordKey key{record.public_key, c.domain, record.claims[0].position};
    EXPECT_EQ(slashing::DecodeRecordKey(slashing::EncodeRecordKey(key)).ok(), c.allowed) << name;
  }
  // A refused shape in any claim refuses the whole record.
  ClaimRecord record = SampleRecord();
  record.claims.push_back(record.claims[0]);
  record.claims.back().domain = Domain::kBabe;
  EXPECT_FALSE(EncodeClaimRecord(record).ok());
}

// ApprovalMessage is a multi-candidate approval vote as the classifier reads it: "APPR",
// SCALE Vec<CandidateHash> (compact length, 1 or 2 bytes here), session u32 little-endian.
std::vector<uint8_t> ApprovalMessage(size_t candidates, uint32_t session) {
  std::vector<uint8_t> message = {'A', 'P', 'P', 'R'};
  if (candidates < 64) {
    message.push_back(static_cast<uint8_t>(candidates << 2));
  } else {
    const auto compact = static_cast<uint16_t>((candidates << 2) | 1);
    message.push_back(static_cast<uint8_t>(compact & 0xff));
    message.push_back(static_cast<uint8_t>(compact >> 8));
  }
  for (size_t i = 0; i < candidates; ++i) {
    for (size_t byte = 0; byte < 32; ++byte) {
      message.push_back(static_cast<uint8_t>((i >> (8 * (byte % 4))) & 0xff));
    }
  }
  for (int shift = 0; shift < 32; shift += 8) {
    message.push_back(static_cast<uint8_t>((session >> shift) & 0xff));
  }
  return message;
}

// Whatever the classifier accepts, one record carries: the largest approval it classifies is
// encoded and decoded unchanged, and one candidate more is refused by the classifier itself.
TEST(ClaimRecordTest, CarriesTheLargestApprovalTheClassifierAccepts) {
  size_t largest = 0;
  for (size_t candidates : {1, 64, 65, 1024, 1025}) {
    auto classified =
        slashing::Classify(base::kKeyTypePara, ApprovalMessage(candidates, 7), std::nullopt);
    if (classified.kind != slashing::ClassificationKind::kProtected) continue;
    ASSERT_EQ(classified.claims.size(), candidates);
    largest = candidates;
    ClaimRecord record = SampleRecord();
    record.key_type = base::kKeyTypePara;
    record.claims = classified.claims;
    auto encoded = EncodeClaimRecord(record);
    ASSERT_TRUE(encoded.ok()) << candidates << ": " << encoded.status().message();
    auto decoded = DecodeClaimRecord(Bytes(*encoded));
    ASSERT_TRUE(decoded.ok()) << candidates << ": " << decoded.status().message();
    EXPECT_EQ(*decoded, record);
  }
  EXPECT_EQ(largest, 1024u) << "the classifier's bound moved: check kMaxClaimsPerRecord";
  EXPECT_LE(largest, kMaxClaimsPerRecord);
}

// Version 1 is kept for every record it can carry (so signers not yet upgraded still apply
// them); only more claims make a version 2 record, laid out as docs/kafka.md says.
TEST(ClaimRecordTest, VersionTwoOnlyForMoreClaimsThanVersionOneCarries) {
  ClaimRecord record = SampleRecord();
  record.claims.assign(kMaxClaimsPerRecordVersion1, record.claims[1]);
  auto small = EncodeClaimRecord(record);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(static_cast<uint8_t>((*small)[0]), kClaimRecordVersion1);

  record.claims.assign(300, record.claims[0]);
  auto large = EncodeClaimRecord(record);
  ASSERT_TRUE(large.ok());
  const std::vector<uint8_t> bytes = Bytes(*large);
  EXPECT_EQ(bytes[0], kClaimRecordVersion2);
  EXPECT_EQ(bytes[1], kClaimRecordKindClaims);
  // Version 1's fields follow the kind byte; the count is u16 big-endian: 300 = 0x012c.
  const size_t count_at = kCountAt + 1;
  EXPECT_EQ(bytes[count_at], 0x01);
  EXPECT_EQ(bytes[count_at + 1], 0x2c);
  // One dispute claim: domain, major, minor, candidate, digest length, one-byte digest.
  constexpr size_t kDisputeClaimSize = 1 + 8 + 8 + 32 + 1 + 1;
  const size_t extra_claims_size = (300 - kMaxClaimsPerRecordVersion1) * kDisputeClaimSize;
  EXPECT_EQ(bytes.size(), small->size() + 1 + 1 + extra_claims_size);
  auto decoded = DecodeClaimRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, record);

  // A version 2 record of 64 claims would be a second encoding of a version 1 record.
  std::vector<uint8_t> second_encoding = bytes;
  second_encoding[count_at] = 0;
  second_encoding[count_at + 1] = static_cast<uint8_t>(kMaxClaimsPerRecordVersion1);
  second_encoding.resize(second_encoding.size() - extra_claims_size);
  EXPECT_FALSE(DecodeClaimRecord(second_encoding).ok());
  std::vector<uint8_t> too_many = bytes;
  too_many[count_at] = 0x10;
  too_many[count_at + 1] = 0x01;  // 4097
  EXPECT_FALSE(DecodeClaimRecord(too_many).ok());
  std::vector<uint8_t> unknown_kind = bytes;
  unknown_kind[1] = 9;
  EXPECT_FALSE(DecodeClaimRecord(unknown_kind).ok());
}

// FNV-1a 64-bit known answers from the FNV reference test suite (draft-eastlake-fnv, "a" and
// "foobar"; the empty input gives the offset basis).
TEST(ClaimRecordTest, PartitionIsFnv1aModuloCount) {
  const std::vector<uint8_t> a = Bytes("a");
  const std::vector<uint8_t> foobar = Bytes("foobar");
  for (int32_t count : {1, 3, 8, 12, 1000, 2147483647}) {
    const auto n = static_cast<uint64_t>(count);
    EXPECT_EQ(static_cast<uint64_t>(ClaimPartition(a, count)), 0xaf63dc4c8601ec8cULL % n) << count;
    EXPECT_EQ(static_cast<uint64_t>(ClaimPartition(foobar, count)), 0x85944171f73967e8ULL % n)
        << count;
    EXPECT_EQ(static_cast<uint64_t>(ClaimPartition({}, count)), 0xcbf29ce484222325ULL % n) << count;
  }
}

TEST(ClaimRecordTest, KeyTypeFollowsTheDomain) {
  EXPECT_EQ(KeyTypeForDomain(slashing::Domain::kBabe), base::kKeyTypeBabe);
  EXPECT_EQ(KeyTypeForDomain(slashing::Domain::kGrandpaPrevote), base::kKeyTypeGrandpa);
  EXPECT_EQ(KeyTypeForDomain(slashing::Domain::kGrandpaPrecommit), base::kKeyTypeGrandpa);
  EXPECT_EQ(KeyTypeForDomain(slashing::Domain::kBeefy), base::kKeyTypeBeefy);
  EXPECT_EQ(KeyTypeForDomain(slashing::Domain::kDispute), base::kKeyTypePara);
}

}  // namespace
}  // namespace kafka
