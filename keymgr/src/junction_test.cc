// Tests for junction encoding: u64 LE numbers, SCALE strings, zero padding, blake2_256.
#include "keymgr/junction.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"

namespace keymgr {
namespace {

std::string ChainHex(std::string_view text) {
  return base::HexEncode(DeriveJunction::FromText(text, /*hard=*/true).chain_code);
}

std::string Padded(std::string_view hex_prefix) {
  std::string out(hex_prefix);
  out.resize(2 * kChainCodeSize, '0');
  return out;
}

TEST(JunctionTest, KeepsHardness) {
  EXPECT_TRUE(DeriveJunction::FromText("x", true).hard);
  EXPECT_FALSE(DeriveJunction::FromText("x", false).hard);
  EXPECT_EQ(DeriveJunction::FromText("x", true).chain_code,
            DeriveJunction::FromText("x", false).chain_code);
}

TEST(JunctionTest, NumbersAreU64LittleEndian) {
  EXPECT_EQ(ChainHex("0"), Padded(""));
  EXPECT_EQ(ChainHex("1"), Padded("01"));
  EXPECT_EQ(ChainHex("258"), Padded("0201"));
  EXPECT_EQ(ChainHex("18446744073709551615"), Padded("ffffffffffffffff"));
}

TEST(JunctionTest, NumberSpellingsFollowRustParse) {
  // Rust's u64 parser accepts leading zeros and a leading '+', so these name the same junction.
  EXPECT_EQ(ChainHex("007"), ChainHex("7"));
  EXPECT_EQ(ChainHex("+7"), ChainHex("7"));
}

TEST(JunctionTest, NonNumbersAreScaleStrings) {
  // SCALE(String) = compact(len) ++ bytes; compact(len) for len < 64 is one byte len << 2.
  EXPECT_EQ(ChainHex("Alice"),
            Padded("14" + base::HexEncode(std::vector<uint8_t>{'A', 'l', 'i', 'c', 'e'})));
  EXPECT_EQ(ChainHex("-1"), Padded("082d31"));
  EXPECT_EQ(ChainHex("+"), Padded("042b"));
  EXPECT_EQ(ChainHex("1 "), Padded("083120"));
  // One above u64::MAX overflows, so it is a 20-character string.
  EXPECT_EQ(ChainHex("18446744073709551616"),
            Padded("50" + base::HexEncode(std::vector<uint8_t>{'1', '8', '4', '4', '6', '7', '4',
                                                               '4', '0', '7', '3', '7', '0', '9',
                                                               '5', '5', '1', '6', '1', '6'})));
}

TEST(JunctionTest, ThirtyTwoEncodedBytesArePaddedNotHashed) {
  const std::string text(31, 'a');  // 1 length byte + 31 = 32 bytes exactly
  std::string expected = "7c";
  for (int i = 0; i < 31; ++i) expected += "61";
  EXPECT_EQ(ChainHex(text), expected);
}

TEST(JunctionTest, LongerEncodingsAreBlake2b256) {
  const std::string text(32, 'a');  // 33 encoded bytes
  std::vector<uint8_t> encoded = {0x80};
  encoded.insert(encoded.end(), text.begin(), text.end());
  EXPECT_EQ(ChainHex(text), base::HexEncode(base::Blake2b256(encoded)));
}

TEST(JunctionTest, LongStringsUseTwoByteCompactLength) {
  const std::string text(64, 'b');  // compact(64) = (64 << 2) | 1 = 0x0101, little-endian
  std::vector<uint8_t> encoded = {0x01, 0x01};
  encoded.insert(encoded.end(), text.begin(), text.end());
  EXPECT_EQ(ChainHex(text), base::HexEncode(base::Blake2b256(encoded)));

  const std::string longer(16384, 'c');  // compact(16384) = (16384 << 2) | 2, four bytes LE
  std::vector<uint8_t> encoded_longer = {0x02, 0x00, 0x01, 0x00};
  encoded_longer.insert(encoded_longer.end(), longer.begin(), longer.end());
  EXPECT_EQ(ChainHex(longer), base::HexEncode(base::Blake2b256(encoded_longer)));
}

}  // namespace
}  // namespace keymgr
