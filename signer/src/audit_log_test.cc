// Audit log tests: the chain verifies, survives reopening, and an edit, a gap or a torn line is
// found; group commit keeps the chain and observer order and fails whole groups.
#include "audit_log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace signer {
namespace {

class AuditLogTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit_test_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "audit.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(int count) {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (int i = 0; i < count; ++i) {
      AuditRecord record;
      record.time_unix_ms = 1000 + static_cast<uint64_t>(i);
      record.identity = "validator-alice";
      record.method = "SignWith";
      record.operation = "sign";
      record.key_type = "gran";
      record.verdict = "allowed_new";
      record.position = "set_id=1 round=" + std::to_string(i);
      ASSERT_TRUE((*log)->Append(record).ok());
    }
  }

  std::vector<std::string> Lines() {
    std::ifstream file(path_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(file, line);) lines.push_back(line);
    return lines;
  }
  void Rewrite(const std::vector<std::string>& lines) {
    std::ofstream file(path_, std::ios::trunc);
    for (const std::string& line : lines) file << line << "\n";
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(AuditLogTest, ChainVerifiesAcrossReopen) {
  Write(3);
  Write(2);  // reopening continues the chain rather than restarting it
  auto report = VerifyAuditFile(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->lines, 5u);
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_NE(lines[0].find("\"prev\":\"" + std::string(64, '0') + "\""), std::string::npos);
  EXPECT_NE(lines[3].find("\"seq\":3"), std::string::npos);
  EXPECT_NE(lines[3].find("\"prev\":\"" + AuditLineHash(lines[2]) + "\""), std::string::npos);
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(AuditLogTest, EditedLineIsReported) {
  Write(4);
  auto lines = Lines();
  const size_t at = lines[1].find("allowed_new");
  ASSERT_NE(at, std::string::npos);
  lines[1].replace(at, 11, "refused_xyz");
  Rewrite(lines);
  auto report = VerifyAuditFile(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 2u);
  EXPECT_FALSE(AuditLog::Open(path_).ok());  // no appending to a broken chain
}

TEST_F(AuditLogTest, RemovedLineIsReportedAsAGap) {
  Write(4);
  auto lines = Lines();
  lines.erase(lines.begin() + 2);
  Rewrite(lines);
  auto report = VerifyAuditFile(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 3u);
  EXPECT_NE(report->problem.find("missing"), std::string::npos);
}

TEST_F(AuditLogTest, RemovedFirstLineAndTornTailAreReported) {
  Write(3);
  auto lines = Lines();
  Rewrite({lines[1], lines[2]});
  EXPECT_EQ(VerifyAuditFile(path_)->first_bad_line, 1u);
  Rewrite(lines);
  {
    std::ofstream file(path_, std::ios::app);
    file << "{\"seq\":3";
  }
  auto report = VerifyAuditFile(path_);
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 4u);
}

TEST_F(AuditLogTest, GarbageIsReported) {
  EXPECT_FALSE(VerifyAuditText("not json\n").ok);
  EXPECT_FALSE(VerifyAuditText("{}\n").ok);
  EXPECT_TRUE(VerifyAuditText("").ok);
}

AuditRecord VoteRecord(int client, int index) {
  AuditRecord record;
  record.time_unix_ms = 1000;
  record.identity = "client-" + std::to_string(client);
  record.method = "SignWith";
  record.operation = "sign";
  record.key_type = "gran";
  record.verdict = "allowed_new";
  record.position = "set_id=" + std::to_string(client) + " round=" + std::to_string(index);
  return record;
}

TEST_F(AuditLogTest, ConcurrentAppendsFormOneChainAndTheObserverSeesItInOrder) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok()) << log.status().message();
  std::vector<std::string> observed;  // only one leader calls the observer at a time
  std::vector<std::string> observed_positions;
  (*log)->SetLineObserver([&](std::string_view line, const AuditRecord& record) {
    observed.emplace_back(line);
    observed_positions.push_back(record.position);
  });
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int client = 0; client < kThreads; ++client) {
    threads.emplace_back([&, client] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!(*log)->Append(VoteRecord(client, i)).ok()) ++failures[client];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(std::count(failures.begin(), failures.end(), 0), kThreads);

  auto report = VerifyAuditFile(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->lines, uint64_t{kThreads * kPerThread});
  // The observer saw exactly the file's lines, each once, in chain order, each with its record.
  const auto lines = Lines();
  EXPECT_EQ(observed, lines);
  ASSERT_EQ(observed_positions.size(), lines.size());
  std::set<std::string> distinct;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_NE(lines[i].find("\"position\":\"" + observed_positions[i] + "\""), std::string::npos);
    distinct.insert(observed_positions[i]);
  }
  EXPECT_EQ(distinct.size(), lines.size());
  // Each client's own lines are in its own order (it waited for each before the next).
  for (int client = 0; client < kThreads; ++client) {
    int next = 0;
    const std::string prefix = "set_id=" + std::to_string(client) + " round=";
    for (const std::string& position : observed_positions) {
      if (position.rfind(prefix, 0) == 0) {
        EXPECT_EQ(position, prefix + std::to_string(next));
        ++next;
      }
    }
    EXPECT_EQ(next, kPerThread);
  }
  const AuditLog::Stats stats = (*log)->stats();
  EXPECT_EQ(stats.lines, uint64_t{kThreads * kPerThread});
  EXPECT_GE(stats.groups, 1u);
  EXPECT_LE(stats.groups, stats.lines);
  EXPECT_EQ(stats.queued, 0u);
  // The chain the group commit wrote is continued after reopening.
  log->reset();
  Write(1);
  EXPECT_TRUE(VerifyAuditFile(path_)->ok);
}

// GatedFile holds its first Append until the test opens the gate, so the test can queue callers
// behind a leader; it then fails its next Append or Sync on demand and records every write.
class GatedFile final : public AuditFile {
 public:
  enum class FailAt { kNothing, kAppend, kSync };
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    bool first_write_entered = false;
    bool gate_open = false;
    FailAt fail_after_first = FailAt::kNothing;
    std::vector<std::string> writes;  // bytes of every Append call, failed ones included
    int syncs = 0;
  };
  explicit GatedFile(Shared& shared) : shared_(shared) {}

  keymgr::Status Append(std::string_view bytes) override {
    std::unique_lock<std::mutex> lock(shared_.mutex);
    shared_.writes.emplace_back(bytes);
    if (shared_.writes.size() == 1) {
      shared_.first_write_entered = true;
      shared_.changed.notify_all();
      shared_.changed.wait(lock, [&] { return shared_.gate_open; });
      return keymgr::Status::Ok();
    }
    if (shared_.fail_after_first == FailAt::kAppend) {
      return keymgr::Status::Unavailable("injected write failure");
    }
    return keymgr::Status::Ok();
  }
  keymgr::Status Sync() override {
    std::lock_guard<std::mutex> lock(shared_.mutex);
    ++shared_.syncs;
    if (shared_.syncs > 1 && shared_.fail_after_first == FailAt::kSync) {
      return keymgr::Status::Unavailable("injected sync failure");
    }
    return keymgr::Status::Ok();
  }

 private:
  Shared& shared_;
};

class AuditGroupFailureTest : public testing::TestWithParam<GatedFile::FailAt> {};

TEST_P(AuditGroupFailureTest, AFailedGroupFailsEveryCallerInItAndBreaksTheLog) {
  constexpr int kFollowers = 5;
  GatedFile::Shared shared;
  shared.fail_after_first = GetParam();
  auto log = AuditLog::Create(std::make_unique<GatedFile>(shared), "");
  ASSERT_TRUE(log.ok()) << log.status().message();
  std::vector<std::string> observed;
  (*log)->SetLineObserver(
      [&](std::string_view line, const AuditRecord&) { observed.emplace_back(line); });

  keymgr::Status leader_status = keymgr::Status::Internal("not run");
  std::thread leader([&] { leader_status = (*log)->Append(VoteRecord(0, 0)); });
  {
    std::unique_lock<std::mutex> lock(shared.mutex);
    ASSERT_TRUE(shared.changed.wait_for(lock, std::chrono::seconds(10),
                                        [&] { return shared.first_write_entered; }));
  }
  // While the leader's write is held, the followers queue behind it: they form the next group.
  std::vector<keymgr::Status> statuses(kFollowers, keymgr::Status::Internal("not run"));
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.emplace_back([&, i] { statuses[i] = (*log)->Append(VoteRecord(1, i)); });
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*log)->stats().queued != 1 + kFollowers && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ((*log)->stats().queued, size_t{1 + kFollowers});
  {
    std::lock_guard<std::mutex> lock(shared.mutex);
    shared.gate_open = true;
  }
  shared.changed.notify_all();
  leader.join();
  for (std::thread& thread : followers) thread.join();

  EXPECT_TRUE(leader_status.ok()) << leader_status.message();
  ASSERT_EQ(shared.writes.size(), 2u);
  // The followers went out as one group: one write holding all their lines.
  EXPECT_EQ(std::count(shared.writes[1].begin(), shared.writes[1].end(), '\n'), kFollowers);
  for (const keymgr::Status& status : statuses) {
    EXPECT_EQ(status.code(), keymgr::StatusCode::kUnavailable);
  }
  // Only the durable line was observed; the failed group's lines never were.
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0] + "\n", shared.writes[0]);
  EXPECT_TRUE(VerifyAuditText(shared.writes[0]).ok);
  // Broken: later appends fail without touching the file.
  EXPECT_EQ((*log)->Append(VoteRecord(2, 0)).code(), keymgr::StatusCode::kUnavailable);
  EXPECT_EQ(shared.writes.size(), 2u);
  EXPECT_EQ((*log)->stats().lines, 1u);
}

INSTANTIATE_TEST_SUITE_P(WriteOrSync, AuditGroupFailureTest,
                         testing::Values(GatedFile::FailAt::kAppend, GatedFile::FailAt::kSync));

TEST_F(AuditLogTest, CreateRefusesABrokenExistingChain) {
  GatedFile::Shared shared;
  EXPECT_EQ(AuditLog::Create(std::make_unique<GatedFile>(shared), "{}\n").status().code(),
            keymgr::StatusCode::kInvalidArgument);
}

// A real write failure from the kernel: the file may not grow past RLIMIT_FSIZE (EFBIG).
TEST_F(AuditLogTest, ARealWriteFailureBreaksTheLog) {
  Write(2);
  const auto size_before = std::filesystem::file_size(path_);
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok());
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &previous), 0);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit limited = saved;
  limited.rlim_cur = static_cast<rlim_t>(size_before + 10);  // room for a torn prefix only
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  const keymgr::Status failed = (*log)->Append(VoteRecord(0, 0));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &previous, nullptr), 0);
  EXPECT_EQ(failed.code(), keymgr::StatusCode::kUnavailable);
  // With room again, the log still refuses: its tail is torn.
  EXPECT_EQ((*log)->Append(VoteRecord(0, 1)).code(), keymgr::StatusCode::kUnavailable);
  EXPECT_EQ(std::filesystem::file_size(path_), size_before + 10);
  auto report = VerifyAuditFile(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 3u);
  EXPECT_FALSE(AuditLog::Open(path_).ok());
}

}  // namespace
}  // namespace signer
