// Tests for PayoutScheduler: which period is due, what the program is given, and what is recorded
// before and after, with a scripted program in place of rpc-pool-payout.
#include "rpc_pool/payout_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "support/files.h"
#include "support/memory_history_store.h"
#include "support/temp_dir.h"

namespace rpc_pool {
namespace {

using nlohmann::json;

constexpr uint64_t kDay = uint64_t{24} * 3600 * 1000;
constexpr uint64_t kPeriod = 7 * kDay;
// A time well inside a period, so the period boundaries are round numbers.
constexpr uint64_t kPeriodStart = 2927 * kPeriod;

class PayoutSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto history = PoolHistory::Open(store_);
    ASSERT_TRUE(history.ok()) << history.status().message();
    history_ = std::move(history).value();
    // The scripted program: records its arguments and the points file, writes what `says` holds
    // (if anything) to stderr, exits with what `exit_status` holds.
    program_ = dir_.Path("payout.sh");
    ASSERT_TRUE(
        support::WriteFile(program_,
                           "#!/bin/sh\n"
                           "echo \"$@\" >> " +
                               dir_.Path("calls") +
                               "\n"
                               "while [ $# -gt 0 ]; do [ \"$1\" = --points ] && cat \"$2\" >> " +
                               dir_.Path("points") +
                               "; shift; done\n"
                               "[ -f " +
                               dir_.Path("says") + " ] && cat " + dir_.Path("says") +
                               " >&2\n"
                               "exit $(cat " +
                               dir_.Path("exit_status") + ")\n",
                           0700)
            .ok());
    SetExitStatus(0);
  }

  void SetExitStatus(int status) {
    ASSERT_TRUE(support::WriteFile(dir_.Path("exit_status"), std::to_string(status), 0600).ok());
  }

  PayoutOptions Options() {
    PayoutOptions options;
    options.executable = program_;
    options.leading_args = {"--config", "/etc/rpc-pool/payout.toml"};
    options.period_ms = kPeriod;
    options.grace_ms = 60'000;
    options.retry_ms = 300'000;
    options.fee_per_mille = 50;
    options.accounts = {
        {"node-a", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
        {"node-b", "0x0101010101010101010101010101010101010101010101010101010101010101"}};
    options.work_dir = dir_.Path("work");
    return options;
  }

  void AddPoints(uint64_t period_end_ms, const std::string& node, uint64_t points) {
    const HistoryRecord record{.at_ms = period_end_ms,
                               .sequence = 0,
                               .kind = HistoryKind::kPoints,
                               .node_id = node,
                               .data = {{"period_start_ms", period_end_ms - 3'600'000},
                                        {"requests", 1},
                                        {"live_ms", 1},
                                        {"points", points}}};
    ASSERT_TRUE(history_->Append(std::span(&record, 1)).ok());
  }

  std::vector<json> PayoutRecords() {
    auto records = history_->Read({.from_ms = 0,
                                   .to_ms = UINT64_MAX,
                                   .kind = HistoryKind::kPayout,
                                   .node_id = std::nullopt,
                                   .limit = 1000});
    EXPECT_TRUE(records.ok());
    std::vector<json> data;
    for (const HistoryRecord& record : *records) data.push_back(record.data);
    return data;
  }

  // PollUntilIdle polls at `now_ms` until the program has ended and its outcome is recorded.
  std::vector<std::string> PollUntilIdle(PayoutScheduler& scheduler, uint64_t now_ms) {
    std::vector<std::string> lines;
    for (int i = 0; i < 500; ++i) {
      auto polled = scheduler.Poll(now_ms);
      EXPECT_TRUE(polled.ok()) << polled.status().message();
      if (polled.ok() && *polled) lines.push_back(**polled);
      if (!scheduler.running() && i > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return lines;
  }

  support::TempDir dir_{"payout-scheduler"};
  slashing::MemoryHistoryStore store_;
  std::unique_ptr<PoolHistory> history_;
  std::string program_;
};

TEST_F(PayoutSchedulerTest, NothingIsDueBeforeThePeriodHasEndedAndItsGraceHasPassed) {
  PayoutScheduler scheduler(Options(), *history_);
  // The first period after the epoch has not ended: nothing to do, nothing recorded.
  auto polled = scheduler.Poll(kPeriod - 1);
  ASSERT_TRUE(polled.ok());
  EXPECT_FALSE(polled->has_value());
  AddPoints(kPeriodStart + kPeriod, "node-a", 10);
  // Just past the end, within the grace: the points period on the boundary may still be closing.
  // (The period before, which ended long ago without points, is recorded as having nothing to pay.)
  for (int poll = 0; poll < 3; ++poll) {
    ASSERT_TRUE(scheduler.Poll(kPeriodStart + kPeriod + 59'999).ok());
  }
  EXPECT_FALSE(scheduler.running());
  EXPECT_EQ(support::ReadFile(dir_.Path("calls")), "");
  for (const json& record : PayoutRecords()) {
    EXPECT_NE(record["period_start_ms"], kPeriodStart) << record.dump();
  }
}

TEST_F(PayoutSchedulerTest, APeriodIsPaidOnceWithItsPointsPerAccountRecordedBeforeAndAfter) {
  AddPoints(kPeriodStart + 3'600'000, "node-a", 600);
  AddPoints(kPeriodStart + kPeriod, "node-a", 100);  // ends on the boundary: this period
  AddPoints(kPeriodStart + 7'200'000, "node-b", 300);
  AddPoints(kPeriodStart + 7'200'000, "node-c", 50);     // no account: not paid, recorded
  AddPoints(kPeriodStart, "node-b", 999);                // the period before
  AddPoints(kPeriodStart + kPeriod + 1, "node-b", 999);  // the period after
  PayoutScheduler scheduler(Options(), *history_);
  const uint64_t now = kPeriodStart + kPeriod + 61'000;
  const std::vector<std::string> lines = PollUntilIdle(scheduler, now);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("started for 2 account(s)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("done"), std::string::npos) << lines[1];

  const std::string id = PayoutPeriodId(kPeriodStart, kPeriod);
  EXPECT_EQ(support::ReadFile(dir_.Path("calls")), "--config /etc/rpc-pool/payout.toml --period " +
                                                       id + " --points " + dir_.Path("work") + "/" +
                                                       id + ".points.json --fee-per-mille 50\n");
  const json points = json::parse(support::ReadFile(dir_.Path("points")));
  EXPECT_EQ(points, json::parse(R"([
      {"account": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "points": 700},
      {"account": "0x0101010101010101010101010101010101010101010101010101010101010101", "points": 300}
  ])"));
  const std::vector<json> records = PayoutRecords();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["state"], "started");
  EXPECT_EQ(records[0]["period"], id);
  EXPECT_EQ(records[0]["points"], 1000);
  EXPECT_EQ(records[0]["unpaid"], json::parse(R"([{"node": "node-c", "points": 50}])"));
  EXPECT_EQ(records[1]["state"], "done");
  EXPECT_EQ(records[1]["exit_status"], 0);

  // Paid: nothing more is due in this period, nor after a restart of the controller.
  auto polled = scheduler.Poll(now + kDay);
  ASSERT_TRUE(polled.ok());
  EXPECT_FALSE(polled->has_value());
  PayoutScheduler restarted(Options(), *history_);
  polled = restarted.Poll(now + kDay);
  ASSERT_TRUE(polled.ok());
  EXPECT_FALSE(polled->has_value());
  EXPECT_EQ(PayoutRecords().size(), 2u);
}

TEST_F(PayoutSchedulerTest, AFailedRunIsRetriedWithTheSameInputsAfterTheRetryDelay) {
  AddPoints(kPeriodStart + 3'600'000, "node-a", 10);
  SetExitStatus(1);
  PayoutScheduler scheduler(Options(), *history_);
  const uint64_t now = kPeriodStart + kPeriod + 61'000;
  std::vector<std::string> lines = PollUntilIdle(scheduler, now);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("failed"), std::string::npos) << lines[1];
  // Not again before the retry delay.
  auto polled = scheduler.Poll(now + 299'000);
  ASSERT_TRUE(polled.ok());
  EXPECT_FALSE(polled->has_value());
  SetExitStatus(0);
  lines = PollUntilIdle(scheduler, now + 300'000);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("done"), std::string::npos) << lines[1];
  // Both runs got the same period and the same points.
  const std::string calls = support::ReadFile(dir_.Path("calls"));
  const size_t newline = calls.find('\n');
  ASSERT_NE(newline, std::string::npos);
  EXPECT_EQ(calls.substr(0, newline + 1), calls.substr(newline + 1));
  const std::vector<json> records = PayoutRecords();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1]["state"], "failed");
  EXPECT_EQ(records[1]["exit_status"], 1);
  EXPECT_EQ(records[3]["state"], "done");
}

// A controller that died while the program ran left `started` and no `done`: the next one runs
// the same period again (the program itself pays a period once).
// One operator, two nodes, one account: one payee with the two nodes' points summed (the program
// refuses an account listed twice, and the period would never be paid).
TEST_F(PayoutSchedulerTest, NodesPayingToOneAccountAreOnePayee) {
  const std::string alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
  const std::string other = "0x0101010101010101010101010101010101010101010101010101010101010101";
  PayoutOptions options = Options();
  options.accounts = {{"node-a", alice}, {"node-b", other}, {"node-c", alice}};
  AddPoints(kPeriodStart + 3'600'000, "node-a", 100);
  AddPoints(kPeriodStart + 3'600'000, "node-b", 50);
  AddPoints(kPeriodStart + 7'200'000, "node-c", 200);
  AddPoints(kPeriodStart + 7'200'000, "node-a", 1);
  PayoutScheduler scheduler(options, *history_);
  const std::vector<std::string> lines = PollUntilIdle(scheduler, kPeriodStart + kPeriod + 61'000);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("started for 2 account(s)"), std::string::npos) << lines[0];
  EXPECT_EQ(
      json::parse(support::ReadFile(dir_.Path("points"))),
      json::array({{{"account", alice}, {"points", 301}}, {{"account", other}, {"points", 50}}}));
  const std::vector<json> records = PayoutRecords();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["payees"], 2);
  EXPECT_EQ(records[0]["points"], 351);
  EXPECT_EQ(records[1]["state"], "done");
}

// A period that keeps failing holds back the later ones (paid in order, after the newest `done`),
// so every failed run says why, in the program's words, and how many periods wait; once the cause
// is fixed the period and then the later ones are paid.
TEST_F(PayoutSchedulerTest, AFailingPeriodSaysWhyOnEveryRunAndHoldsBackTheLaterOnes) {
  AddPoints(kPeriodStart + 3'600'000, "node-a", 10);
  AddPoints(kPeriodStart + kPeriod + 3'600'000, "node-a", 20);
  AddPoints(kPeriodStart + 2 * kPeriod + 3'600'000, "node-a", 30);
  PayoutScheduler scheduler(Options(), *history_);
  PollUntilIdle(scheduler, kPeriodStart + kPeriod + 61'000);  // the first period is paid
  const std::string failing = PayoutPeriodId(kPeriodStart + kPeriod, kPeriod);
  const std::string reason = "rpc-pool-payout: period " + failing + ": the total is wrong";
  ASSERT_TRUE(support::WriteFile(dir_.Path("says"), "progress\n" + reason + "\n", 0600).ok());
  SetExitStatus(1);

  const uint64_t later = kPeriodStart + 3 * kPeriod + 61'000;  // the next two have ended
  for (const uint64_t now : {later, later + 300'000}) {
    const std::vector<std::string> lines = PollUntilIdle(scheduler, now);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find(failing + ": started"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find(failing + ": failed"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find(reason), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("1 later period(s) wait"), std::string::npos) << lines[1];
    EXPECT_EQ(PayoutRecords().back()["reason"], reason);
  }
  // Only the failing period ran, twice.
  const std::string calls = support::ReadFile(dir_.Path("calls"));
  EXPECT_EQ(std::count(calls.begin(), calls.end(), '\n'), 3);
  EXPECT_EQ(calls.find(PayoutPeriodId(kPeriodStart + 2 * kPeriod, kPeriod)), std::string::npos);

  SetExitStatus(0);
  PollUntilIdle(scheduler, later + 600'000);
  PollUntilIdle(scheduler, later + 600'000);
  const std::vector<json> records = PayoutRecords();
  // started, done; started, failed twice; started, done; started, done.
  ASSERT_EQ(records.size(), 10u);
  EXPECT_EQ(records[records.size() - 3]["period"], failing);
  EXPECT_EQ(records[records.size() - 3]["state"], "done");
  EXPECT_EQ(records.back()["period"], PayoutPeriodId(kPeriodStart + 2 * kPeriod, kPeriod));
  EXPECT_EQ(records.back()["state"], "done");
}

TEST_F(PayoutSchedulerTest, AStartedPeriodWithoutDoneRunsAgainAfterARestart) {
  AddPoints(kPeriodStart + 3'600'000, "node-a", 10);
  const uint64_t now = kPeriodStart + kPeriod + 61'000;
  {
    PayoutScheduler first(Options(), *history_);
    auto polled = first.Poll(now);
    ASSERT_TRUE(polled.ok());
    ASSERT_TRUE(polled->has_value());
    EXPECT_TRUE(first.running());
  }  // gone without collecting its child: nothing recorded after `started`
  PayoutScheduler second(Options(), *history_);
  const std::vector<std::string> lines = PollUntilIdle(second, now + 1000);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("done"), std::string::npos);
  const std::vector<json> records = PayoutRecords();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["state"], "started");
  EXPECT_EQ(records[1]["state"], "started");
  EXPECT_EQ(records[0]["period"], records[1]["period"]);
  EXPECT_EQ(records[2]["state"], "done");
}

// After a paid period, the periods that ended since are paid one after the other, oldest first.
TEST_F(PayoutSchedulerTest, PeriodsMissedWhileTheControllerWasDownArePaidInOrder) {
  AddPoints(kPeriodStart + 3'600'000, "node-a", 10);
  AddPoints(kPeriodStart + kPeriod + 3'600'000, "node-a", 20);
  AddPoints(kPeriodStart + 2 * kPeriod + 3'600'000, "node-a", 30);
  PayoutScheduler scheduler(Options(), *history_);
  PollUntilIdle(scheduler, kPeriodStart + kPeriod + 61'000);   // the first period, on time
  const uint64_t later = kPeriodStart + 3 * kPeriod + 61'000;  // two more ended meanwhile
  PollUntilIdle(scheduler, later);
  PollUntilIdle(scheduler, later);
  const std::vector<json> records = PayoutRecords();
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[1]["period_start_ms"], kPeriodStart);
  EXPECT_EQ(records[3]["period_start_ms"], kPeriodStart + kPeriod);
  EXPECT_EQ(records[5]["period_start_ms"], kPeriodStart + 2 * kPeriod);
  EXPECT_EQ(records[5]["state"], "done");
  EXPECT_EQ(support::ReadFile(dir_.Path("points")).find("\"points\": 30") != std::string::npos,
            true);
}

TEST_F(PayoutSchedulerTest, APeriodWithoutPointsIsRecordedAndNotRun) {
  PayoutScheduler scheduler(Options(), *history_);
  auto polled = scheduler.Poll(kPeriodStart + kPeriod + 61'000);
  ASSERT_TRUE(polled.ok());
  ASSERT_TRUE(polled->has_value());
  EXPECT_NE((*polled)->find("nothing to pay"), std::string::npos);
  EXPECT_FALSE(scheduler.running());
  EXPECT_EQ(support::ReadFile(dir_.Path("calls")), "");
  const std::vector<json> records = PayoutRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["state"], "done");
}

TEST_F(PayoutSchedulerTest, AProgramThatCannotStartIsAnErrorAndRetriedLater) {
  AddPoints(kPeriodStart + 3'600'000, "node-a", 10);
  PayoutOptions options = Options();
  options.executable = dir_.Path("missing-program");
  PayoutScheduler scheduler(options, *history_);
  const uint64_t now = kPeriodStart + kPeriod + 61'000;
  EXPECT_EQ(scheduler.Poll(now).status().code(), base::StatusCode::kUnavailable);
  auto polled = scheduler.Poll(now + 1000);
  ASSERT_TRUE(polled.ok());
  EXPECT_FALSE(polled->has_value());
}

TEST(PayoutAccountsTest, TheOperatorsFileIsCheckedWhole) {
  support::TempDir dir("payout-accounts");
  const auto read = [&](const std::string& text) {
    EXPECT_TRUE(support::WriteFile(dir.Path("accounts.json"), text, 0600).ok());
    return ReadPayoutAccounts(dir.Path("accounts.json"));
  };
  auto accounts = read(R"({"node-a": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"})");
  ASSERT_TRUE(accounts.ok()) << accounts.status().message();
  EXPECT_EQ(accounts->at("node-a"), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
  // One operator's nodes may pay to one account, written the same way.
  accounts = read(R"({"node-a": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
                      "node-b": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
                      "node-c": "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"})");
  EXPECT_EQ(accounts.status().code(), base::StatusCode::kInvalidArgument)
      << "node-c names node-a's account in hex: one account written two ways";
  accounts =
      read(R"({"node-a": "0x0101010101010101010101010101010101010101010101010101010101010101",
                      "node-b": "0x0101010101010101010101010101010101010101010101010101010101010101"})");
  ASSERT_TRUE(accounts.ok()) << accounts.status().message();
  EXPECT_EQ(accounts->size(), 2u);
  for (const char* bad :
       {"[]", "not json", R"({"node a": "5Grw"})", R"({"node-a": 7})", R"({"node-a": ""})",
        R"({"node-a": "5Grw; rm -rf /"})", R"({"node-a": "5Grw"})", R"({"node-a": "0x0101"})",
        R"({"node-a": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ"})",
        R"({"node-a": "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
                              "node-b": "0xD43593C715FDD31C61141ABD04A99FD6822C8558854CCDE39A5684E7A56DA27D"})"}) {
    EXPECT_EQ(read(bad).status().code(), base::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ReadPayoutAccounts(dir.Path("none.json")).status().code(), base::StatusCode::kNotFound);
}

}  // namespace
}  // namespace rpc_pool
