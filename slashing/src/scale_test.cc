// SCALE codec tests: known encodings from the parity-scale-codec README and strictness checks.
#include "slashing/scale.h"

#include <gtest/gtest.h>

#include <vector>

namespace slashing {
namespace {

// Compact examples published in the parity-scale-codec README ("Compact/General Integers").
struct CompactCase {
  uint64_t value;
  std::vector<uint8_t> encoded;
};
const CompactCase kCompactCases[] = {
    {0, {0x00}},
    {1, {0x04}},
    {42, {0xa8}},
    {69, {0x15, 0x01}},
    {65535, {0xfe, 0xff, 0x03, 0x00}},
    {100000000000000ull, {0x0b, 0x00, 0x40, 0x7a, 0x10, 0xf3, 0x5a}},
};

TEST(ScaleCompact, DecodesAndEncodesReadmeExamples) {
  for (const auto& test : kCompactCases) {
    ScaleReader reader(test.encoded);
    auto value = reader.ReadCompact();
    ASSERT_TRUE(value.has_value()) << test.value;
    EXPECT_EQ(*value, test.value);
    EXPECT_TRUE(reader.Finish());
    ScaleWriter writer;
    writer.WriteCompact(test.value);
    EXPECT_EQ(writer.bytes(), test.encoded) << test.value;
  }
}

TEST(ScaleCompact, RoundTripsModeBoundaries) {
  for (uint64_t value :
       std::initializer_list<uint64_t>{63ull, 64ull, 16383ull, 16384ull, (1ull << 30) - 1,
                                       1ull << 30, (1ull << 32) - 1, 1ull << 32, UINT64_MAX}) {
    ScaleWriter writer;
    writer.WriteCompact(value);
    ScaleReader reader(writer.bytes());
    auto decoded = reader.ReadCompact();
    ASSERT_TRUE(decoded.has_value()) << value;
    EXPECT_EQ(*decoded, value);
    EXPECT_TRUE(reader.Finish());
  }
}

TEST(ScaleCompact, RefusesOverlongEncodings) {
  const std::vector<std::vector<uint8_t>> overlong = {
      {0x01, 0x00},                          // 0 in two-byte mode
      {0xfd, 0x00},                          // 63 in two-byte mode
      {0x02, 0x00, 0x00, 0x00},              // 0 in four-byte mode
      {0xfe, 0xff, 0x00, 0x00},              // 16383 in four-byte mode
      {0x03, 0xff, 0xff, 0xff, 0x3f},        // 2^30-1 in big mode
      {0x07, 0x00, 0x00, 0x00, 0x40, 0x00},  // 2^30 with a zero top byte
  };
  for (const auto& bytes : overlong) {
    ScaleReader reader(bytes);
    EXPECT_FALSE(reader.ReadCompact().has_value());
    EXPECT_FALSE(reader.ok());
  }
}

TEST(ScaleCompact, RefusesWiderThan64BitsAndTruncation) {
  std::vector<uint8_t> nine_bytes = {0x17, 1, 2, 3, 4, 5, 6, 7, 8, 9};  // (0x17>>2)+4 = 9 bytes
  ScaleReader wide(nine_bytes);
  EXPECT_FALSE(wide.ReadCompact().has_value());
  std::vector<uint8_t> truncated = {0x01};
  ScaleReader short_reader(truncated);
  EXPECT_FALSE(short_reader.ReadCompact().has_value());
  std::vector<uint8_t> above_u32 = {0x07, 0, 0, 0, 0, 1};  // 2^32
  ScaleReader narrow(above_u32);
  EXPECT_FALSE(narrow.ReadCompactU32().has_value());
}

TEST(ScaleReader, FixedWidthLittleEndian) {
  const std::vector<uint8_t> bytes = {0x2a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                      0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e};
  ScaleReader reader(bytes);
  EXPECT_EQ(reader.ReadU8(), 0x2a);
  EXPECT_EQ(reader.ReadU16(), 0x0201);
  EXPECT_EQ(reader.ReadU32(), 0x06050403u);
  EXPECT_EQ(reader.ReadU64(), 0x0e0d0c0b0a090807ull);
  EXPECT_TRUE(reader.Finish());
}

TEST(ScaleReader, FinishRefusesTrailingBytes) {
  const std::vector<uint8_t> bytes = {0x01, 0x00};
  ScaleReader reader(bytes);
  EXPECT_TRUE(reader.ReadU8().has_value());
  EXPECT_TRUE(reader.ok());
  EXPECT_FALSE(reader.Finish());
}

TEST(ScaleReader, BoolAndOptionAcceptOnlyZeroOrOne) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x02};
  ScaleReader reader(bytes);
  EXPECT_EQ(reader.ReadBool(), false);
  EXPECT_EQ(reader.ReadOptionTag(), true);
  EXPECT_FALSE(reader.ReadBool().has_value());
  EXPECT_FALSE(reader.ok());
}

TEST(ScaleReader, VectorLengthsAreBounded) {
  // A length of 5 with only 3 bytes left, and a length above the caller's bound.
  const std::vector<uint8_t> too_long = {0x14, 1, 2, 3};
  ScaleReader first(too_long);
  EXPECT_FALSE(first.ReadByteVec(100).has_value());
  const std::vector<uint8_t> over_bound = {0x0c, 1, 2, 3};
  ScaleReader second(over_bound);
  EXPECT_FALSE(second.ReadByteVec(2).has_value());
  const std::vector<uint8_t> fine = {0x0c, 1, 2, 3};
  ScaleReader third(fine);
  auto bytes = third.ReadByteVec(3);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->size(), 3u);
  EXPECT_TRUE(third.Finish());
}

TEST(ScaleReader, FailureIsSticky) {
  const std::vector<uint8_t> bytes = {0x01};
  ScaleReader reader(bytes);
  EXPECT_FALSE(reader.ReadU16().has_value());
  EXPECT_FALSE(reader.ReadU8().has_value());  // the byte is there, but the reader already failed
  EXPECT_FALSE(reader.Finish());
}

}  // namespace
}  // namespace slashing
