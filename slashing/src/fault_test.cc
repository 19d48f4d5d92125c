// Fault injection under RocksDB: failed appends or fsyncs give the caller an error, never allowed.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "slashing/history_admin.h"
#include "slashing/protector.h"
#include "support/fake_clock.h"
#include "support/rocksdb_faults.h"
#include "support/temp_dir.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

struct FaultyRig {
  explicit FaultyRig(const std::string& dir) {
    RocksDbStoreOptions options;
    options.file_system = FaultyFileSystem(faults);
    auto opened = OpenHistory(dir, FilledHash(0x11), options);
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    store = std::move(*opened);
    log = std::make_unique<LocalHistoryLog>(*store);
    protector = std::make_unique<Protector>(*log, clock, ProtectionPolicy{});
  }
  base::Result<Decision> Vote(uint8_t key, uint64_t round, uint8_t target) {
    const std::vector<uint8_t> public_key(32, key);
    const auto message = testing::GrandpaMessage(0, FilledHash(target), 1, round, 1);
    return protector->Decide({base::kKeyTypeGrandpa, public_key, message, std::nullopt});
  }
  std::shared_ptr<FaultInjector> faults = std::make_shared<FaultInjector>();
  std::unique_ptr<RocksDbStore> store;
  std::unique_ptr<LocalHistoryLog> log;
  FakeClock clock{1};
  std::unique_ptr<Protector> protector;
};

void ExpectOnlyErrors(FaultyRig& rig, int callers) {
  std::atomic<int> allowed{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      auto decision = rig.Vote(static_cast<uint8_t>(t + 1), 100, 1);
      if (!decision.ok()) {
        ++errors;
      } else if (IsAllowed(decision->verdict)) {
        ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 0);
  EXPECT_EQ(errors.load(), callers);
}

TEST(FaultInjectionTest, FailedSyncIsAnErrorForEveryCaller) {
  support::TempDir dir;
  FaultyRig rig(dir.Path("db"));
  auto before = rig.Vote(1, 1, 1);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->verdict, Verdict::kAllowedNew);
  rig.faults->FailSyncs(true);
  ExpectOnlyErrors(rig, 8);
  EXPECT_GT(rig.faults->injected(), 0u);
}

TEST(FaultInjectionTest, FailedAppendIsAnErrorForEveryCaller) {
  support::TempDir dir;
  FaultyRig rig(dir.Path("db"));
  rig.faults->FailAppends(true);
  ExpectOnlyErrors(rig, 8);
  EXPECT_GT(rig.faults->injected(), 0u);
}

TEST(FaultInjectionTest, AcknowledgedDecisionsSurviveReopenAfterFaults) {
  support::TempDir dir;
  {
    FaultyRig rig(dir.Path("db"));
    ASSERT_EQ(rig.Vote(1, 1, 1)->verdict, Verdict::kAllowedNew);
    rig.faults->FailSyncs(true);
    EXPECT_FALSE(rig.Vote(1, 2, 1).ok());
  }
  FaultyRig reopened(dir.Path("db"));
  auto resign = reopened.Vote(1, 1, 1);
  ASSERT_TRUE(resign.ok()) << resign.status().message();
  EXPECT_EQ(resign->verdict, Verdict::kAllowedResign);
  EXPECT_EQ(reopened.Vote(1, 1, 2)->verdict, Verdict::kRefusedGrandpaEquivocation);
}

// Deferred syncs (signerd standalone): a decision is written without a sync, binds at once, and is
// durable only once SyncWrites has succeeded; a failed sync is an error, never a silent loss.
TEST(FaultInjectionTest, DeferredDecisionsBindAtOnceAndAreDurableAfterSyncWrites) {
  support::TempDir dir;
  FaultyRig rig(dir.Path("db"));
  rig.log->DeferSyncs();
  ASSERT_EQ(rig.faults->unsynced_wal_bytes(), 0u);
  ASSERT_EQ(rig.Vote(1, 1, 1)->verdict, Verdict::kAllowedNew);
  EXPECT_GT(rig.faults->unsynced_wal_bytes(), 0u);
  // Not durable yet, but binding: the conflicting vote is refused.
  EXPECT_EQ(rig.Vote(1, 1, 2)->verdict, Verdict::kRefusedGrandpaEquivocation);
  ASSERT_TRUE(rig.store->SyncWrites().ok());
  EXPECT_EQ(rig.faults->unsynced_wal_bytes(), 0u);

  rig.faults->FailSyncs(true);
  ASSERT_EQ(rig.Vote(1, 2, 1)->verdict, Verdict::kAllowedNew);  // no sync asked for
  EXPECT_FALSE(rig.store->SyncWrites().ok());
  EXPECT_GT(rig.faults->unsynced_wal_bytes(), 0u);
}

// Without DeferSyncs every decision is synced before Decide returns, as before.
TEST(FaultInjectionTest, WithoutDeferredSyncsEveryDecisionIsSyncedBeforeItIsReturned) {
  support::TempDir dir;
  FaultyRig rig(dir.Path("db"));
  ASSERT_EQ(rig.Vote(1, 1, 1)->verdict, Verdict::kAllowedNew);
  EXPECT_EQ(rig.faults->unsynced_wal_bytes(), 0u);
}

}  // namespace
}  // namespace slashing
