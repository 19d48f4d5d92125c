// Stored-record tests: round trips and strict refusal of everything we would not have written.
#include "slashing/record.h"

#include <gtest/gtest.h>

#include "test_payloads.h"

namespace slashing {
namespace {

TEST(RecordKeyTest, RoundTripsAndOrdersByPosition) {
  RecordKey key{std::vector<uint8_t>(33, 2), Domain::kBeefy, {7, 1000, {}}};
  auto decoded = DecodeRecordKey(EncodeRecordKey(key));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, key);
  RecordKey later = key;
  later.position.minor = 1001;
  RecordKey next_set = key;
  next_set.position = {8, 0, {}};
  EXPECT_LT(EncodeRecordKey(key), EncodeRecordKey(later));
  EXPECT_LT(EncodeRecordKey(later), EncodeRecordKey(next_set));
  EXPECT_EQ(EncodeRecordKey(key).rfind(RecordKeyPrefix(key.public_key, Domain::kBeefy), 0), 0u);
}

TEST(RecordKeyTest, RefusesMalformedKeys) {
  RecordKey key{std::vector<uint8_t>(32, 2), Domain::kDispute, {5, 0, testing::FilledHash(9)}};
  const std::string good = EncodeRecordKey(key);
  EXPECT_TRUE(DecodeRecordKey(good).ok());
  EXPECT_FALSE(DecodeRecordKey(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(DecodeRecordKey(good + "x").ok());
  std::string bad_domain = good;
  bad_domain[2 + 32] = 9;
  EXPECT_FALSE(DecodeRecordKey(bad_domain).ok());
  std::string bad_tag = good;
  bad_tag[0] = 'W';
  EXPECT_FALSE(DecodeRecordKey(bad_tag).ok());
  // A candidate hash outside the dispute domain was never written by us.
  RecordKey babe{std::vector<uint8_t>(32, 2), Domain::kBabe, {5, 0, testing::FilledHash(9)}};
  EXPECT_EQ(DecodeRecordKey(EncodeRecordKey(babe)).status().code(), base::StatusCode::kCorruption);
}

TEST(RecordValueTest, RoundTripsSingleAndConflicted) {
  StoredRecord single{{{1, 2, 3}}, 1234};
  auto decoded = DecodeRecordValue(EncodeRecordValue(single));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, single);
  EXPECT_FALSE(decoded->conflicted());
  StoredRecord conflicted{{{1}, {2}}, 99};
  decoded = DecodeRecordValue(EncodeRecordValue(conflicted));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->conflicted());
}

TEST(RecordValueTest, LayoutMatchesTheDocumentedFormat) {
  // docs/history-format.md: version 1, flags, recorded_at u64 LE, compact count, compact-length
  // digests.
  const std::string encoded = EncodeRecordValue(StoredRecord{{{0xab, 0xcd}}, 0x0102});
  const std::string expected("\x01\x00\x02\x01\x00\x00\x00\x00\x00\x00\x04\x08\xab\xcd", 14);
  EXPECT_EQ(encoded, expected);
}

TEST(RecordValueTest, RefusesWhatWeNeverWrite) {
  const std::string good = EncodeRecordValue(StoredRecord{{{1, 2}}, 5});
  std::vector<std::string> bad;
  bad.push_back("");
  bad.push_back(good + "x");                                   // trailing byte
  bad.push_back(good.substr(0, good.size() - 1));              // truncated
  bad.push_back(std::string("\x02") + good.substr(1));         // unknown version
  bad.push_back(good.substr(0, 1) + "\x02" + good.substr(2));  // unknown flag
  bad.push_back(good.substr(0, 1) + "\x01" + good.substr(2));  // conflict flag, one digest
  // Two equal digests under the conflict flag.
  bad.push_back(std::string("\x01\x01", 2) + std::string(8, '\0') + "\x08\x08\x01\x02\x08\x01\x02");
  bad.push_back(std::string("\x01\x00", 2) + std::string(8, '\0') + "\x04\x00");  // empty digest
  bad.push_back(std::string("\x01\x00", 2) + std::string(8, '\0') + "\x00");      // no digest
  for (const auto& bytes : bad) {
    auto decoded = DecodeRecordValue(bytes);
    ASSERT_FALSE(decoded.ok()) << bytes.size();
    EXPECT_EQ(decoded.status().code(), base::StatusCode::kCorruption);
  }
}

TEST(WatermarkTest, RoundTripsAndRefusesMalformed) {
  const std::vector<uint8_t> public_key(32, 4);
  auto key = DecodeWatermarkKey(EncodeWatermarkKey(public_key, Domain::kGrandpaPrecommit));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->public_key, public_key);
  EXPECT_EQ(key->domain, Domain::kGrandpaPrecommit);
  auto value = DecodeWatermarkValue(EncodeWatermarkValue(Watermark{3, 4}));
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, (Watermark{3, 4}));
  EXPECT_FALSE(DecodeWatermarkValue(EncodeWatermarkValue(Watermark{3, 4}) + "x").ok());
  EXPECT_FALSE(DecodeWatermarkKey(EncodeWatermarkKey(public_key, Domain::kBabe) + "x").ok());
}

}  // namespace
}  // namespace slashing
