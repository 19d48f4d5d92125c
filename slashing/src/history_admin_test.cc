// Admin API tests on real RocksDB directories, including refusal while another signer holds LOCK.
#include "slashing/history_admin.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slashing/history.h"
#include "slashing/protector.h"
#include "slashing/record.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

const base::Hash256 kGenesis = FilledHash(0x11);

void RecordVotes(const std::string& dir, uint64_t first_round, uint64_t last_round) {
  auto store = OpenHistory(dir, kGenesis);
  ASSERT_TRUE(store.ok()) << store.status().message();
  LocalHistoryLog log(**store);
  FakeClock clock(1000);
  Protector protector(log, clock, ProtectionPolicy{});
  const std::vector<uint8_t> public_key(32, 3);
  for (uint64_t round = first_round; round <= last_round; ++round) {
    const auto message = testing::GrandpaMessage(0, FilledHash(1), 1, round, 1);
    auto decision = protector.Decide({base::kKeyTypeGrandpa, public_key, message, std::nullopt});
    ASSERT_TRUE(decision.ok());
    ASSERT_EQ(decision->verdict, Verdict::kAllowedNew);
  }
}

TEST(HistoryAdminTest, ExportImportInspectPrune) {
  support::TempDir dir;
  RecordVotes(dir.Path("a"), 1, 10);
  auto json = AdminExport(dir.Path("a"), kGenesis);
  ASSERT_TRUE(json.ok()) << json.status().message();
  auto imported = AdminImport(dir.Path("b"), kGenesis, *json);
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_EQ(imported->records_added, 10u);
  auto summary = AdminInspect(dir.Path("b"));
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->genesis, kGenesis);
  EXPECT_EQ(summary->public_keys, 1u);
  EXPECT_EQ(summary->records[Domain::kGrandpaPrevote], 10u);
  EXPECT_EQ(summary->oldest_recorded_at_ms, 1000u);
  auto pruned = AdminPrune(dir.Path("b"), kGenesis, Domain::kGrandpaPrevote, Watermark{1, 6});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->records_deleted, 5u);
  summary = AdminInspect(dir.Path("b"));
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->records[Domain::kGrandpaPrevote], 5u);
  EXPECT_EQ(summary->watermarks[Domain::kGrandpaPrevote], 1u);
  // Wrong chain: refused without touching anything.
  EXPECT_EQ(AdminImport(dir.Path("b"), FilledHash(0x22), *json).status().code(),
            base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AdminExport(dir.Path("b"), FilledHash(0x22)).status().code(),
            base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      AdminPrune(dir.Path("b"), FilledHash(0x22), Domain::kBabe, Watermark{1, 0}).status().code(),
      base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AdminInspect(dir.Path("missing")).status().code(),
            base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AdminImport(dir.Path("c"), kGenesis, "{not json").status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST(HistoryAdminTest, RefusesWhileThisProcessHoldsTheStore) {
  support::TempDir dir;
  auto store = OpenHistory(dir.Path("db"), kGenesis);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(AdminInspect(dir.Path("db")).status().code(), base::StatusCode::kBusy);
  EXPECT_EQ(AdminExport(dir.Path("db"), kGenesis).status().code(), base::StatusCode::kBusy);
  store->reset();
  EXPECT_TRUE(AdminInspect(dir.Path("db")).ok());
}

TEST(HistoryAdminTest, RefusesWhileAnotherProcessHoldsTheStore) {
  support::TempDir dir;
  RecordVotes(dir.Path("db"), 1, 3);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The "running signer": hold the store until killed.
    auto held = OpenHistory(dir.Path("db"), kGenesis);
    const char byte = held.ok() ? 'y' : 'n';
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  ASSERT_EQ(byte, 'y');
  const auto json = std::string("{}");
  EXPECT_EQ(AdminInspect(dir.Path("db")).status().code(), base::StatusCode::kBusy);
  EXPECT_EQ(AdminExport(dir.Path("db"), kGenesis).status().code(), base::StatusCode::kBusy);
  EXPECT_EQ(AdminPrune(dir.Path("db"), kGenesis, Domain::kBabe, Watermark{}).status().code(),
            base::StatusCode::kBusy);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  auto summary = AdminInspect(dir.Path("db"));
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->records[Domain::kGrandpaPrevote], 3u);
}

// The instance id survives a reopen, differs between two stores, and a corrupted one is refused
// rather than replaced (a gateway would otherwise take a changed history for a new one).
TEST(HistoryInstanceIdTest, IsStableAcrossReopensAndDistinctPerStore) {
  support::TempDir dir;
  std::string first_id;
  {
    auto store = OpenHistory(dir.Path("one"), kGenesis);
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto id = HistoryInstanceId(**store);
    ASSERT_TRUE(id.ok()) << id.status().message();
    EXPECT_EQ(id->size(), 32u);
    EXPECT_EQ(id->find_first_not_of("0123456789abcdef"), std::string::npos);
    first_id = *id;
  }
  {
    auto store = OpenHistory(dir.Path("one"), kGenesis);
    ASSERT_TRUE(store.ok());
    auto again = HistoryInstanceId(**store);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, first_id);
    StoreBatch corrupt;
    corrupt.push_back({MetaInstanceKey(), "not-hex"});
    ASSERT_TRUE((*store)->WriteSynced(corrupt).ok());
    auto refused = HistoryInstanceId(**store);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), base::StatusCode::kFailedPrecondition);
  }
  auto other = OpenHistory(dir.Path("two"), kGenesis);
  ASSERT_TRUE(other.ok());
  auto other_id = HistoryInstanceId(**other);
  ASSERT_TRUE(other_id.ok());
  EXPECT_NE(*other_id, first_id);
}

}  // namespace
}  // namespace slashing
