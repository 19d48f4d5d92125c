// `signerctl audit verify`: exit codes and the first bad line, and a repaired torn tail, run as a
// real process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "audit/audit_log.h"

namespace signer {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
};

CliRun RunVerify(const std::string& path) {
  const std::string command = std::string(SIGNERCTL_PATH) + " audit verify '" + path + "' 2>&1";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    run.out.append(buffer.data(), got);
  }
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(AuditCliTest, VerifyReportsTheFirstBadLine) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("audit_cli_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "audit.jsonl").string();
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 3; ++i) {
      AuditRecord record;
      record.verdict = "allowed_new";
      record.reason = "r" + std::to_string(i);
      ASSERT_TRUE((*log)->Append(record).ok());
    }
  }
  CliRun good = RunVerify(path);
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_NE(good.out.find("\"ok\":true"), std::string::npos) << good.out;

  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 3u);
  lines[0].replace(lines[0].find("\"r0\""), 4, "\"rX\"");
  {
    std::ofstream out(path, std::ios::trunc);
    for (const auto& line : lines) out << line << "\n";
  }
  CliRun edited = RunVerify(path);
  EXPECT_EQ(edited.exit_code, 1) << edited.out;
  EXPECT_NE(edited.out.find("\"first_bad_line\":1"), std::string::npos) << edited.out;

  EXPECT_EQ(RunVerify((dir / "missing").string()).exit_code, 2);
  std::filesystem::remove_all(dir);
}

TEST(AuditCliTest, VerifyAcceptsALogWhoseTornTailWasRepaired) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("audit_cli_torn_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "audit.jsonl").string();
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok());
    AuditRecord record;
    record.verdict = "denied";
    ASSERT_TRUE((*log)->Append(record).ok());
  }
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"seq\":1,\"time_ms\":";  // a write cut short by a crash
  }
  CliRun torn = RunVerify(path);
  EXPECT_EQ(torn.exit_code, 1) << torn.out;
  EXPECT_NE(torn.out.find("\"first_bad_line\":2"), std::string::npos) << torn.out;

  ASSERT_TRUE(AuditLog::Open(path).ok());  // signerd starting again
  CliRun repaired = RunVerify(path);
  EXPECT_EQ(repaired.exit_code, 0) << repaired.out;
  EXPECT_NE(repaired.out.find("\"lines\":2"), std::string::npos) << repaired.out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace signer
