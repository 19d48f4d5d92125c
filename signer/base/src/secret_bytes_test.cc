// Tests for SecretBytes: zeroed allocation, copies, move semantics, constant-time Equals and Wipe.
#include "base/secret_bytes.h"

#include <gtest/gtest.h>

#include <array>
#include <type_traits>
#include <utility>

namespace base {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes secret;
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.size(), 0u);
  EXPECT_EQ(secret.data(), nullptr);
  EXPECT_TRUE(secret.span().empty());
}

TEST(SecretBytesTest, SizedAllocationIsZeroed) {
  SecretBytes secret(48);
  ASSERT_EQ(secret.size(), 48u);
  ASSERT_NE(secret.data(), nullptr);
  for (uint8_t byte : secret.span()) EXPECT_EQ(byte, 0);
}

TEST(SecretBytesTest, ZeroSizeAllocatesNothing) {
  SecretBytes secret(0);
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.data(), nullptr);
  EXPECT_TRUE(secret.Equals({}));
  const std::array<uint8_t, 1> one = {0};
  EXPECT_FALSE(secret.Equals(one));
  SecretBytes copy = SecretBytes::CopyFrom({});
  EXPECT_TRUE(copy.empty());
}

TEST(SecretBytesTest, CopyFromCopiesAndIsIndependent) {
  std::array<uint8_t, 4> source = {1, 2, 3, 4};
  SecretBytes secret = SecretBytes::CopyFrom(source);
  ASSERT_EQ(secret.size(), 4u);
  EXPECT_NE(secret.data(), source.data());
  source[0] = 9;
  EXPECT_EQ(secret.data()[0], 1);
  const std::array<uint8_t, 4> original = {1, 2, 3, 4};
  EXPECT_TRUE(secret.Equals(original));
}

TEST(SecretBytesTest, MoveConstructionTransfersOwnership) {
  const std::array<uint8_t, 3> bytes = {7, 8, 9};
  SecretBytes first = SecretBytes::CopyFrom(bytes);
  const uint8_t* buffer = first.data();
  SecretBytes second(std::move(first));
  EXPECT_EQ(second.data(), buffer);
  EXPECT_TRUE(second.Equals(bytes));
  EXPECT_TRUE(first.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(first.data(), nullptr);
}

TEST(SecretBytesTest, MoveAssignmentReleasesTargetAndTransfers) {
  const std::array<uint8_t, 2> a = {1, 1};
  const std::array<uint8_t, 5> b = {2, 2, 2, 2, 2};
  SecretBytes target = SecretBytes::CopyFrom(a);
  SecretBytes source = SecretBytes::CopyFrom(b);
  target = std::move(source);
  EXPECT_TRUE(target.Equals(b));
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move)

  // Self-move must leave the value intact.
  SecretBytes& alias = target;
  target = std::move(alias);
  EXPECT_TRUE(target.Equals(b));
}

TEST(SecretBytesTest, EqualsComparesContentAndSize) {
  const std::array<uint8_t, 3> value = {1, 2, 3};
  const std::array<uint8_t, 3> different = {1, 2, 4};
  const std::array<uint8_t, 2> shorter = {1, 2};
  const std::array<uint8_t, 4> longer = {1, 2, 3, 0};
  SecretBytes secret = SecretBytes::CopyFrom(value);
  EXPECT_TRUE(secret.Equals(value));
  EXPECT_FALSE(secret.Equals(different));
  EXPECT_FALSE(secret.Equals(shorter));
  EXPECT_FALSE(secret.Equals(longer));
  EXPECT_FALSE(secret.Equals({}));
}

TEST(SecretBytesTest, WipeZeroesAndToleratesEmpty) {
  std::array<uint8_t, 16> buffer{};
  buffer.fill(0xa5);
  Wipe(buffer);
  for (uint8_t byte : buffer) EXPECT_EQ(byte, 0);
  Wipe({});
}

}  // namespace
}  // namespace base
