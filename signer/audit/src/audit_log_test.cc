// Audit log tests: the chain verifies, survives reopening, and an edit, a gap or a torn line is
// found; group commit keeps the chain and observer order and fails whole groups; request fields
// are bounded; opening streams the file and repairs a torn tail (SIGKILL, a real full disk).
#include "audit/audit_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/files.h"
#include "support/temp_dir.h"

namespace signer {
namespace {

class AuditLogTest : public testing::Test {
 protected:
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

  support::TempDir dir_;
  const std::string path_ = dir_.Path("audit.jsonl");
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

  base::Status Append(std::string_view bytes) override {
    std::unique_lock<std::mutex> lock(shared_.mutex);
    shared_.writes.emplace_back(bytes);
    if (shared_.writes.size() == 1) {
      shared_.first_write_entered = true;
      shared_.changed.notify_all();
      shared_.changed.wait(lock, [&] { return shared_.gate_open; });
      return base::Status::Ok();
    }
    if (shared_.fail_after_first == FailAt::kAppend) {
      return base::Status::Unavailable("injected write failure");
    }
    return base::Status::Ok();
  }
  base::Status Sync() override {
    std::lock_guard<std::mutex> lock(shared_.mutex);
    ++shared_.syncs;
    if (shared_.syncs > 1 && shared_.fail_after_first == FailAt::kSync) {
      return base::Status::Unavailable("injected sync failure");
    }
    return base::Status::Ok();
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

  base::Status leader_status = base::Status::Internal("not run");
  std::thread leader([&] { leader_status = (*log)->Append(VoteRecord(0, 0)); });
  {
    std::unique_lock<std::mutex> lock(shared.mutex);
    ASSERT_TRUE(shared.changed.wait_for(lock, std::chrono::seconds(10),
                                        [&] { return shared.first_write_entered; }));
  }
  // While the leader's write is held, the followers queue behind it: they form the next group.
  std::vector<base::Status> statuses(kFollowers, base::Status::Internal("not run"));
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
  for (const base::Status& status : statuses) {
    EXPECT_EQ(status.code(), base::StatusCode::kUnavailable);
  }
  // Only the durable line was observed; the failed group's lines never were.
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0] + "\n", shared.writes[0]);
  EXPECT_TRUE(VerifyAuditText(shared.writes[0]).ok);
  // Broken: later appends fail without touching the file.
  EXPECT_EQ((*log)->Append(VoteRecord(2, 0)).code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(shared.writes.size(), 2u);
  EXPECT_EQ((*log)->stats().lines, 1u);
}

INSTANTIATE_TEST_SUITE_P(WriteOrSync, AuditGroupFailureTest,
                         testing::Values(GatedFile::FailAt::kAppend, GatedFile::FailAt::kSync));

// OrderedFile records, in one list shared with the test's barrier, each write and sync it gets.
class OrderedFile final : public AuditFile {
 public:
  explicit OrderedFile(std::vector<std::string>& events) : events_(events) {}
  base::Status Append(std::string_view bytes) override {
    events_.push_back("write " + std::to_string(std::count(bytes.begin(), bytes.end(), '\n')));
    return base::Status::Ok();
  }
  base::Status Sync() override {
    events_.emplace_back("sync");
    return base::Status::Ok();
  }

 private:
  std::vector<std::string>& events_;
};

// The barrier (signerd: the history's sync) runs once per group and before the group's lines are
// written: a line is never on disk while the decision it reports might not be.
TEST_F(AuditLogTest, TheGroupBarrierRunsBeforeEachGroupsWrite) {
  std::vector<std::string> events;
  auto log = AuditLog::Create(std::make_unique<OrderedFile>(events), "");
  ASSERT_TRUE(log.ok()) << log.status().message();
  (*log)->SetGroupBarrier([&] {
    events.emplace_back("barrier");
    return base::Status::Ok();
  });
  ASSERT_TRUE((*log)->Append(VoteRecord(0, 0)).ok());
  ASSERT_TRUE((*log)->Append(VoteRecord(0, 1)).ok());
  EXPECT_EQ(events,
            (std::vector<std::string>{"barrier", "write 1", "sync", "barrier", "write 1", "sync"}));
}

// A failed barrier fails the group before anything is written and breaks the log, as a failed
// write does: the caller gets no durable line, so it must not reply with a signature.
TEST_F(AuditLogTest, AFailedGroupBarrierWritesNothingAndBreaksTheLog) {
  std::vector<std::string> events;
  auto log = AuditLog::Create(std::make_unique<OrderedFile>(events), "");
  ASSERT_TRUE(log.ok()) << log.status().message();
  bool fail = false;
  (*log)->SetGroupBarrier([&] {
    events.emplace_back("barrier");
    return fail ? base::Status::IoError("history sync failed") : base::Status::Ok();
  });
  (*log)->SetBrokenHandler(
      [&](const base::Status& cause) { events.push_back("broken: " + cause.message()); });
  ASSERT_TRUE((*log)->Append(VoteRecord(0, 0)).ok());
  fail = true;
  const base::Status failed = (*log)->Append(VoteRecord(0, 1));
  EXPECT_EQ(failed.code(), base::StatusCode::kUnavailable);
  EXPECT_NE(failed.message().find("history sync failed"), std::string::npos) << failed.message();
  fail = false;
  EXPECT_EQ((*log)->Append(VoteRecord(0, 2)).code(), base::StatusCode::kUnavailable);
  // The handler hears of the break once, when it happens.
  EXPECT_EQ(events,
            (std::vector<std::string>{"barrier", "write 1", "sync", "barrier",
                                      "broken: before the audit lines: history sync failed"}));
  EXPECT_EQ((*log)->stats().lines, 1u);
}

TEST_F(AuditLogTest, CreateRefusesABrokenExistingChain) {
  GatedFile::Shared shared;
  EXPECT_EQ(AuditLog::Create(std::make_unique<GatedFile>(shared), "{}\n").status().code(),
            base::StatusCode::kInvalidArgument);
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
  const base::Status failed = (*log)->Append(VoteRecord(0, 0));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &previous, nullptr), 0);
  EXPECT_EQ(failed.code(), base::StatusCode::kUnavailable);
  // With room again, the log still refuses: its tail is torn.
  EXPECT_EQ((*log)->Append(VoteRecord(0, 1)).code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(std::filesystem::file_size(path_), size_before + 10);
  auto report = VerifyAuditFile(path_);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 3u);
  // Reopening repairs the torn tail instead of refusing to start.
  log->reset();
  auto reopened = AuditLog::Open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  EXPECT_TRUE(VerifyAuditFile(path_)->ok);
}

void WriteAllTo(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
}

std::vector<std::string> LinesOf(const std::string& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

TEST_F(AuditLogTest, OversizedRequestFieldsAreBoundedInTheLine) {
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok()) << log.status().message();
  std::vector<AuditRecord> observed;
  (*log)->SetLineObserver(
      [&](std::string_view, const AuditRecord& record) { observed.push_back(record); });
  const std::string key_type = std::string(400 * 1024, 'k') + "\"\n";
  for (int i = 0; i < 3; ++i) {
    AuditRecord record = VoteRecord(0, i);
    record.verdict = "denied";
    record.key_type = key_type;
    record.public_key = std::string(800 * 1024, 'a');
    ASSERT_TRUE((*log)->Append(record).ok());
  }
  // Three denied requests used to cost 3.6 MB of synced log; now each line is a few hundred bytes.
  EXPECT_LT(std::filesystem::file_size(path_), 3u * 1024);
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    const nlohmann::json object = nlohmann::json::parse(line);
    EXPECT_EQ(object["key_type"].get<std::string>().rfind("invalid(len=409602,prefix=kkk", 0), 0u)
        << line;
    EXPECT_EQ(object["public_key"].get<std::string>().rfind("invalid(len=819200,prefix=aaa", 0), 0u)
        << line;
  }
  // The observer (the Kafka stream, which keys records by public_key) sees the bounded record.
  ASSERT_EQ(observed.size(), 3u);
  EXPECT_LT(observed[0].public_key.size(), 64u);
  EXPECT_LT(observed[0].key_type.size(), 64u);
  EXPECT_TRUE(VerifyAuditFile(path_)->ok);
}

// WriteLargeChain writes a valid log of at least `bytes` bytes directly (no fsync per line).
void WriteLargeChain(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string prev(64, '0');
  const std::string padding(200, 'p');
  size_t written = 0;
  for (uint64_t seq = 0; written < bytes; ++seq) {
    const std::string line =
        "{\"seq\":" + std::to_string(seq) +
        ",\"time_ms\":0,\"identity\":\"\",\"method\":\"\",\"operation\":\"\",\"key_type\":\"\","
        "\"public_key\":\"\",\"domain\":\"\",\"position\":\"\",\"verdict\":\"\",\"reason\":\"" +
        padding + "\",\"latency_us\":0,\"prev\":\"" + prev + "\"}";
    out << line << '\n';
    prev = AuditLineHash(line);
    written += line.size() + 1;
  }
}

// ProcStatusKb reads one "Name:   N kB" entry of /proc/self/status; -1 if it is missing.
long ProcStatusKb(const std::string& name) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(name, 0) == 0) return std::stol(line.substr(name.size()));
  }
  return -1;
}

// PeakRssGrowthKb runs `work` and returns how far the peak resident size rose above the resident
// size before it, in KiB; -1 if the kernel cannot reset the peak (/proc/self/clear_refs).
long PeakRssGrowthKb(const std::function<void()>& work) {
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    if (!clear) return -1;
  }
  const long before = ProcStatusKb("VmRSS:");
  if (before < 0 || ProcStatusKb("VmHWM:") > before + 1024) return -1;
  work();
  return ProcStatusKb("VmHWM:") - before;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

TEST_F(AuditLogTest, OpenAndVerifyDoNotHoldTheWholeFile) {
  if (kAddressSanitizer) {
    GTEST_SKIP() << "ASan's quarantine keeps freed memory resident; measured in the normal build";
  }
  constexpr size_t kLogBytes = size_t{24} << 20;
  constexpr long kAllowedGrowthKb = 8 * 1024;
  WriteLargeChain(path_, kLogBytes);
  const long open_growth = PeakRssGrowthKb([&] {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok()) << log.status().message();
  });
  if (open_growth < 0) GTEST_SKIP() << "cannot reset the peak resident size";
  EXPECT_LT(open_growth, kAllowedGrowthKb);
  const long verify_growth = PeakRssGrowthKb([&] {
    auto report = VerifyAuditFile(path_);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok) << report->problem;
  });
  EXPECT_LT(verify_growth, kAllowedGrowthKb);
}

TEST_F(AuditLogTest, ATornLastLineIsCutSavedAndRecorded) {
  Write(3);
  const std::string whole = support::ReadFile(path_);
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  const size_t cut_offset = lines[0].size() + lines[1].size() + 2;
  const std::vector<std::string> tails = {
      lines[2].substr(0, 1),
      lines[2].substr(0, lines[2].size() / 2),
      lines[2],  // complete but for its newline
      lines[2].substr(0, 10) + "\n",
      "garbage\n",
      "\n",
      std::string(37, '\0'),  // what a crash can leave where the file grew but data never landed
  };
  for (const std::string& tail : tails) {
    SCOPED_TRACE(testing::PrintToString(tail));
    WriteAllTo(path_, whole.substr(0, cut_offset) + tail);
    std::vector<std::string> observed;
    {
      auto log = AuditLog::Open(path_);
      ASSERT_TRUE(log.ok()) << log.status().message();
      (*log)->SetLineObserver(
          [&](std::string_view line, const AuditRecord&) { observed.emplace_back(line); });
      ASSERT_TRUE((*log)->Append(VoteRecord(9, 9)).ok());
    }
    auto report = VerifyAuditFile(path_);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok) << report->problem;
    EXPECT_EQ(report->lines, 4u);
    const auto now = Lines();
    ASSERT_EQ(now.size(), 4u);
    EXPECT_EQ(now[0], lines[0]);
    EXPECT_EQ(now[1], lines[1]);
    const nlohmann::json repair = nlohmann::json::parse(now[2]);
    EXPECT_EQ(repair["seq"], 2);
    EXPECT_EQ(repair["operation"], "audit_repair");
    EXPECT_EQ(repair["verdict"], "repaired");
    const std::string reason = repair["reason"].get<std::string>();
    const std::string hash = AuditLineHash(tail);
    EXPECT_NE(reason.find(std::to_string(tail.size()) + " bytes at offset " +
                          std::to_string(cut_offset) + ", blake2b-256 " + hash),
              std::string::npos)
        << reason;
    // The cut bytes are kept, byte for byte, under the name the record gives.
    const std::string copy_name =
        "audit.jsonl.torn-" + std::to_string(cut_offset) + "-" + hash.substr(0, 16);
    EXPECT_NE(reason.find("saved as " + copy_name), std::string::npos) << reason;
    EXPECT_EQ(support::ReadFile(dir_.path() / copy_name), tail);
    // The first observer also gets the repair line, so a stream of the lines has no gap.
    ASSERT_EQ(observed.size(), 2u);
    EXPECT_EQ(observed[0], now[2]);
    EXPECT_EQ(observed[1], now[3]);
    std::filesystem::remove(dir_.path() / copy_name);
  }
}

TEST_F(AuditLogTest, OnlyATornTailIsRepairedNeverAnEditOrABreakBeforeIt) {
  Write(3);
  const auto lines = Lines();
  std::string edited = lines[1];
  edited.replace(edited.find("allowed_new"), 11, "refused_xyz");
  const std::vector<std::string> broken = {
      lines[0] + "\n" + edited + "\n" + lines[2] + "\n",    // the last line's prev exposes an edit
      lines[0] + "\n" + lines[2] + "\n",                    // a removed line: seq jumps
      lines[0] + "\ngarbage\n" + lines[2] + "\n",           // corrupt, but not at the end
      lines[0] + "\ngarbage\n" + lines[2].substr(0, 20),    // a torn tail behind a corrupt line
      lines[0] + "\n" + lines[1] + "\n" + lines[0] + "\n",  // a replayed line at the end
  };
  for (const std::string& text : broken) {
    SCOPED_TRACE(text);
    WriteAllTo(path_, text);
    auto log = AuditLog::Open(path_);
    EXPECT_EQ(log.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_EQ(support::ReadFile(path_), text);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".torn-"), std::string::npos);
  }
}

// StallingFile is a real O_APPEND file that, on its `stall_at`-th write, writes only about the
// first half of the bytes, ending inside a line, says so with one byte on `stalled_fd` and then
// waits to be killed: a SIGKILL in the middle of a write, made deterministic. Used only by the
// group leader, like any AuditFile.
class StallingFile final : public AuditFile {
 public:
  StallingFile(int fd, int stall_at, int stalled_fd)
      : fd_(fd), stall_at_(stall_at), stalled_fd_(stalled_fd) {}
  ~StallingFile() override { ::close(fd_); }
  StallingFile(const StallingFile&) = delete;
  StallingFile& operator=(const StallingFile&) = delete;

  base::Status Append(std::string_view bytes) override {
    if (++writes_ == stall_at_) {
      // Half of a group of equal-length lines can end on a line boundary: back off into a line.
      size_t cut = bytes.size() / 2;
      while (cut > 0 && bytes[cut - 1] == '\n') --cut;
      if (!WriteFully(bytes.substr(0, cut))) ::_exit(7);
      const char byte = 1;
      if (::write(stalled_fd_, &byte, 1) != 1) ::_exit(5);
      for (;;) ::pause();
    }
    return WriteFully(bytes) ? base::Status::Ok() : base::Status::Unavailable("write failed");
  }
  base::Status Sync() override {
    return ::fdatasync(fd_) == 0 ? base::Status::Ok() : base::Status::Unavailable("sync");
  }

 private:
  bool WriteFully(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t written = ::write(fd_, bytes.data(), bytes.size());
      if (written <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(written));
    }
    return true;
  }

  int fd_;
  int stall_at_;
  int stalled_fd_;
  int writes_ = 0;
};

// AppendUntilKilled runs in a forked child: several threads append (so groups of lines go out in
// one write) until the parent kills the process. With `stall_at` 0 the log is the real one and one
// byte on `ready_fd` says the storm is under way, so the kill lands wherever the scheduler has got
// to; otherwise the `stall_at`-th write stops half-way and its byte says so. Exit codes other than
// death by SIGKILL tell the parent what went wrong.
[[noreturn]] void AppendUntilKilled(const std::string& path, int ready_fd, int stall_at) {
  constexpr int kThreads = 8;
  // Small, with short lines below, so that the log stays short: every round re-reads and
  // re-verifies the whole file several times, which in the sanitizer build took 88 s with 50
  // appends of 400-byte reasons and takes 10 s now.
  constexpr int kAppendsBeforeReady = 10;
  base::Result<std::unique_ptr<AuditLog>> log = base::Status::Internal("not opened");
  if (stall_at == 0) {
    log = AuditLog::Open(path);
  } else {
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) ::_exit(3);
    log = AuditLog::Create(std::make_unique<StallingFile>(fd, stall_at, ready_fd),
                           support::ReadFile(path));
  }
  if (!log.ok()) ::_exit(3);
  std::vector<std::thread> threads;
  for (int client = 0; client < kThreads; ++client) {
    threads.emplace_back([&log, client, ready_fd, stall_at] {
      for (int i = 0;; ++i) {
        AuditRecord record = VoteRecord(client, i);
        record.reason = std::string(60, 'r');
        if (!(*log)->Append(record).ok()) ::_exit(4);
        if (stall_at == 0 && client == 0 && i == kAppendsBeforeReady) {
          const char byte = 1;
          if (::write(ready_fd, &byte, 1) != 1) ::_exit(5);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ::_exit(6);
}

size_t CountRepairs(const std::vector<std::string>& lines) {
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("\"operation\":\"audit_repair\"") != std::string::npos;
  }));
}

TEST_F(AuditLogTest, SigkillDuringAWriteStormNeverKeepsTheLogFromOpening) {
  constexpr int kRounds = 8;
  Write(1);  // the stalling rounds continue an existing file
  uint64_t lines_before = 1;
  size_t repairs_before = 0;
  for (int round = 0; round < kRounds; ++round) {
    // Odd rounds kill the child half-way through its (10 + round)-th write; even rounds kill it
    // wherever it is once the storm runs.
    const int stall_at = round % 2 == 1 ? 10 + round : 0;
    SCOPED_TRACE("round " + std::to_string(round) + " stall_at " + std::to_string(stall_at));
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(ready[0]);
      AppendUntilKilled(path_, ready[1], stall_at);
    }
    ::close(ready[1]);
    char byte = 0;
    const ssize_t got = ::read(ready[0], &byte, 1);  // blocks until the child is ready or dies
    ::close(ready[0]);
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited on its own with status " << status;
    ASSERT_EQ(got, 1);
    if (stall_at != 0) {
      EXPECT_FALSE(VerifyAuditFile(path_)->ok);  // the kill really left a torn line
    }

    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok()) << log.status().message();
    log->reset();
    auto report = VerifyAuditFile(path_);
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->ok) << "line " << report->first_bad_line << ": " << report->problem;
    EXPECT_GT(report->lines, lines_before);
    lines_before = report->lines;
    const auto lines = Lines();
    const size_t repairs = CountRepairs(lines);
    if (stall_at != 0) {
      EXPECT_EQ(repairs, repairs_before + 1);
      EXPECT_NE(lines.back().find("\"operation\":\"audit_repair\""), std::string::npos);
    }
    repairs_before = repairs;
  }
  // Recorded to show how often the free-running kills also tore a line.
  RecordProperty("torn_lines_repaired", static_cast<int>(repairs_before));
}

// ScopedTmpfs mounts a small tmpfs (a disk that really fills up) and unmounts it when it goes.
class ScopedTmpfs {
 public:
  ScopedTmpfs(const std::filesystem::path& dir, const char* size) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    const std::string options = std::string("size=") + size + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
    error_ = mounted_ ? 0 : errno;
  }
  ~ScopedTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  int error() const { return error_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  int error_ = 0;
};

TEST_F(AuditLogTest, ARealFullDiskFailsAppendsAndTheLogReopensOnceThereIsRoom) {
  const std::filesystem::path disk = dir_.path() / "disk";
  ScopedTmpfs tmpfs(disk, "64k");
  if (!tmpfs.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(tmpfs.error());
  }
  const std::string path = (disk / "audit.jsonl").string();
  const std::string filler = (disk / "filler").string();
  {
    std::ofstream out(filler, std::ios::binary);
    out << std::string(16 * 1024, 'f');
    out.close();
    ASSERT_TRUE(out.good());
  }
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status().message();
    base::Status failed = base::Status::Ok();
    int appended = 0;
    for (int i = 0; i < 10'000 && failed.ok(); ++i) {
      AuditRecord record = VoteRecord(0, i);
      record.reason = std::string(300, 'r');
      failed = (*log)->Append(record);
      appended += failed.ok() ? 1 : 0;
    }
    ASSERT_EQ(failed.code(), base::StatusCode::kUnavailable) << "the disk never filled up";
    EXPECT_GT(appended, 0);
    EXPECT_EQ((*log)->Append(VoteRecord(0, 0)).code(), base::StatusCode::kUnavailable);
  }
  const std::string full = support::ReadFile(path);
  const bool torn = !full.empty() && full.back() != '\n';
  {
    // Still full: a repair has no room. Opening fails cleanly and leaves the log as it was.
    auto log = AuditLog::Open(path);
    if (torn) {
      EXPECT_EQ(log.status().code(), base::StatusCode::kUnavailable);
    }
    EXPECT_EQ(support::ReadFile(path), full);
  }
  std::filesystem::remove(filler);
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status().message();
    EXPECT_TRUE((*log)->Append(VoteRecord(1, 0)).ok());
  }
  auto report = VerifyAuditFile(path);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << "line " << report->first_bad_line << ": " << report->problem;
  const auto lines = LinesOf(path);
  ASSERT_GE(lines.size(), 2u);
  if (torn) {
    EXPECT_NE(lines[lines.size() - 2].find("\"operation\":\"audit_repair\""), std::string::npos);
  }
  RecordProperty("full_disk_tore_a_line", torn ? 1 : 0);
}

}  // namespace
}  // namespace signer
