// Tests for the strict hex codec: round trips, prefixes, case, and malformed input.
#include "base/hex.h"

#include <gtest/gtest.h>

namespace base {
namespace {

TEST(HexTest, EncodesLowerCaseWithoutPrefix) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
  EXPECT_EQ(HexEncode(bytes), "0001abcdefff");
  EXPECT_EQ(HexEncode({}), "");
}

TEST(HexTest, DecodesWithOrWithoutPrefixInEitherCase) {
  const std::vector<uint8_t> expected = {0xde, 0xad, 0xbe, 0xef};
  for (const char* text : {"deadbeef", "DEADBEEF", "0xdeadbeef", "0XDeAdBeEf"}) {
    Result<std::vector<uint8_t>> decoded = HexDecode(text);
    ASSERT_TRUE(decoded.ok()) << text;
    EXPECT_EQ(*decoded, expected) << text;
  }
}

TEST(HexTest, DecodesEmptyInput) {
  for (const char* text : {"", "0x"}) {
    Result<std::vector<uint8_t>> decoded = HexDecode(text);
    ASSERT_TRUE(decoded.ok()) << text;
    EXPECT_TRUE(decoded->empty());
  }
}

TEST(HexTest, RoundTripsEveryByteValue) {
  std::vector<uint8_t> all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  Result<std::vector<uint8_t>> decoded = HexDecode(HexEncode(all));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, all);
}

TEST(HexTest, RejectsMalformedInput) {
  for (const char* text :
       {"abc", "0xabc", "zz", "0xg0", " 00", "00 ", "0 0", "00\n", "x00", "0x0x00", "+1", "-1"}) {
    Result<std::vector<uint8_t>> decoded = HexDecode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace base
