// Group-commit tests: concurrent conflicting callers, batching, and store faults under the log.
#include "slashing/history_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "slashing/record.h"
#include "support/memory_history_store.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

Claim PrevoteClaim(uint64_t round, uint8_t digest_seed) {
  Claim claim;
  claim.domain = Domain::kGrandpaPrevote;
  claim.position = {1, round, {}};
  claim.digest.assign(36, digest_seed);
  return claim;
}

TEST(LocalHistoryLogTest, ConcurrentConflictingCallersExactlyOneWins) {
  MemoryHistoryStore store;
  store.SetWriteDelay(std::chrono::microseconds(2000));  // let callers pile up behind a leader
  LocalHistoryLog log(store);
  const std::vector<uint8_t> public_key(32, 9);
  constexpr int kCallers = 64;
  std::atomic<int> winners{0};
  std::atomic<int> refused{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      const Claim claim = PrevoteClaim(7, static_cast<uint8_t>(i + 1));  // all different digests
      auto verdicts = log.CheckAndRecord(public_key, std::span<const Claim>(&claim, 1), 5);
      if (!verdicts.ok()) {
        ++failures;
      } else if ((*verdicts)[0] == Verdict::kAllowedNew) {
        ++winners;
      } else if ((*verdicts)[0] == Verdict::kRefusedGrandpaEquivocation) {
        ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(refused.load(), kCallers - 1);
}

TEST(LocalHistoryLogTest, ConcurrentCallersShareSyncedWrites) {
  MemoryHistoryStore store;
  store.SetWriteDelay(std::chrono::microseconds(2000));
  LocalHistoryLog log(store);
  constexpr int kCallers = 32;
  constexpr int kPerCaller = 20;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<uint8_t> public_key(32, static_cast<uint8_t>(t + 1));
      for (int i = 0; i < kPerCaller; ++i) {
        const Claim claim = PrevoteClaim(static_cast<uint64_t>(i), 1);
        auto verdicts = log.CheckAndRecord(public_key, std::span<const Claim>(&claim, 1), 5);
        if (verdicts.ok() && (*verdicts)[0] == Verdict::kAllowedNew) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(allowed.load(), kCallers * kPerCaller);
  // Every decision is in the store, yet far fewer synced writes happened than decisions.
  size_t records = 0;
  for (const auto& [key, value] : store.Snapshot()) records += key[0] == kRecordKeyTag;
  EXPECT_EQ(records, static_cast<size_t>(kCallers * kPerCaller));
  EXPECT_LT(store.synced_writes(), static_cast<uint64_t>(kCallers * kPerCaller) / 4);
  const auto stats = log.stats();
  EXPECT_EQ(stats.callers, static_cast<uint64_t>(kCallers * kPerCaller));
  EXPECT_GT(stats.callers, 4 * stats.groups);
}

TEST(LocalHistoryLogTest, FailedWriteFailsEveryCallerAndRecordsNothing) {
  MemoryHistoryStore store;
  store.SetWriteDelay(std::chrono::microseconds(1000));
  store.SetFailWrites(true);
  LocalHistoryLog log(store);
  std::atomic<int> errors{0};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<uint8_t> public_key(32, static_cast<uint8_t>(t + 1));
      const Claim claim = PrevoteClaim(1, 1);
      auto verdicts = log.CheckAndRecord(public_key, std::span<const Claim>(&claim, 1), 5);
      if (!verdicts.ok()) {
        EXPECT_EQ(verdicts.status().code(), base::StatusCode::kIoError);
        ++errors;
      } else if (IsAllowed((*verdicts)[0])) {
        ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 0);
  EXPECT_EQ(errors.load(), 16);
  EXPECT_TRUE(store.Snapshot().empty());
  // Once the store works again the same claims are new: nothing was half-recorded.
  store.SetFailWrites(false);
  const std::vector<uint8_t> public_key(32, 1);
  const Claim claim = PrevoteClaim(1, 2);
  auto verdicts = log.CheckAndRecord(public_key, std::span<const Claim>(&claim, 1), 5);
  ASSERT_TRUE(verdicts.ok());
  EXPECT_EQ((*verdicts)[0], Verdict::kAllowedNew);
}

TEST(LocalHistoryLogTest, ReadFailureAndCorruptRecordAreErrors) {
  MemoryHistoryStore store;
  LocalHistoryLog log(store);
  const std::vector<uint8_t> public_key(32, 1);
  const Claim claim = PrevoteClaim(1, 1);
  store.SetFailReads(true);
  auto failed = log.CheckAndRecord(public_key, std::span<const Claim>(&claim, 1), 5);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), base::StatusCode::kIoError);
  store.SetFailReads(false);

  const std::string key = EncodeRecordKey(RecordKey{public_key, claim.domain, claim.position});
  ASSERT_TRUE(store.WriteSynced({{key, std::string("\x07garbage")}}).ok());
  auto corrupt = log.CheckAndRecord(public_key, std::span<const Claim>(&claim, 1), 5);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), base::StatusCode::kCorruption);
}

TEST(LocalHistoryLogTest, RejectsOversizedInputs) {
  MemoryHistoryStore store;
  LocalHistoryLog log(store);
  const std::vector<uint8_t> huge_key(kMaxPublicKeySize + 1, 1);
  const Claim claim = PrevoteClaim(1, 1);
  EXPECT_EQ(log.CheckAndRecord(huge_key, std::span<const Claim>(&claim, 1), 5).status().code(),
            base::StatusCode::kInvalidArgument);
  Claim empty_digest = claim;
  empty_digest.digest.clear();
  const std::vector<uint8_t> public_key(32, 1);
  EXPECT_EQ(
      log.CheckAndRecord(public_key, std::span<const Claim>(&empty_digest, 1), 5).status().code(),
      base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace slashing
