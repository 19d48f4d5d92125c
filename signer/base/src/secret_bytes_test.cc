// Tests for SecretBytes: zeroed allocation, copies, move semantics, constant-time Equals, Wipe, and
// the stop when memory cannot be locked.
#include "base/secret_bytes.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

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

// DropMemoryLockCapability removes CAP_IPC_LOCK from this process, because a process holding it
// (root, in containers and CI) may lock memory past RLIMIT_MEMLOCK. Only called in a death-test
// child, which exits with the test.
void DropMemoryLockCapability() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> caps{};
  if (::syscall(SYS_capget, &header, caps.data()) != 0) {
    return;  // nothing known to drop; an unprivileged process has no CAP_IPC_LOCK anyway
  }
  caps[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
  caps[CAP_TO_INDEX(CAP_IPC_LOCK)].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
  if (::syscall(SYS_capset, &header, caps.data()) != 0) {
    std::fputs("cannot drop CAP_IPC_LOCK\n", stderr);
  }
}

// AllocatePastTheLockLimit runs in a death-test child: it limits locked memory to `limit_bytes`,
// allocates one-page secrets within that limit, reports that on stderr, then allocates past it.
// Returning at all means a secret was left unlocked.
void AllocatePastTheLockLimit(rlim_t limit_bytes) {
  DropMemoryLockCapability();
  const rlimit limit{limit_bytes, limit_bytes};
  if (::setrlimit(RLIMIT_MEMLOCK, &limit) != 0) {
    std::fputs("setrlimit failed\n", stderr);
    std::_Exit(0);
  }
  std::vector<SecretBytes> secrets;
  secrets.reserve(15 + 64);
  // Fifteen of sixteen pages: locking a page twice must not count it twice.
  for (int i = 0; i < 15; ++i) secrets.emplace_back(64);
  std::fputs("fifteen secrets fit\n", stderr);
  for (int i = 0; i < 64; ++i) secrets.emplace_back(64);
  std::fputs("the secrets past the limit were not locked\n", stderr);
  std::_Exit(0);
}

// Locks are not inherited across fork, so the child starts with nothing locked: 16 pages of limit
// hold fifteen secrets (one page each), and the allocation past it must stop the process with a
// message naming the limit rather than return memory that can be swapped out.
TEST(SecretBytesDeathTest, StopsWhenTheMemoryCannotBeLocked) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's mlock interceptor locks nothing and always succeeds; this is checked in "
                  "the normal build";
#endif
  const auto limit_bytes = 16 * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_DEATH(AllocatePastTheLockLimit(limit_bytes),
               "fifteen secrets fit.*cannot lock 64 bytes of secret memory .*RLIMIT_MEMLOCK is " +
                   std::to_string(limit_bytes) + " bytes.*LimitMEMLOCK");
}

}  // namespace
}  // namespace base
