// `signerctl audit verify`: exit codes and the first bad line, and a repaired torn tail, run as a
// real process.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signer {
namespace {

support::ProcessResult RunVerify(const std::string& path) {
  return support::ResultOrStartFailure(
      support::RunProcess({support::Location("signerctl"), "audit", "verify", path}));
}

TEST(AuditCliTest, VerifyReportsTheFirstBadLine) {
  support::TempDir dir;
  const std::string path = dir.Path("audit.jsonl");
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
  support::ProcessResult good = RunVerify(path);
  EXPECT_EQ(good.exit_code, 0) << good.Describe();
  EXPECT_NE(good.out.find("\"ok\":true"), std::string::npos) << good.Describe();

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
  support::ProcessResult edited = RunVerify(path);
  EXPECT_EQ(edited.exit_code, 1) << edited.Describe();
  EXPECT_NE(edited.out.find("\"first_bad_line\":1"), std::string::npos) << edited.Describe();

  EXPECT_EQ(RunVerify(dir.Path("missing")).exit_code, 2);
}

TEST(AuditCliTest, VerifyAcceptsALogWhoseTornTailWasRepaired) {
  support::TempDir dir;
  const std::string path = dir.Path("audit.jsonl");
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
  support::ProcessResult torn = RunVerify(path);
  EXPECT_EQ(torn.exit_code, 1) << torn.Describe();
  EXPECT_NE(torn.out.find("\"first_bad_line\":2"), std::string::npos) << torn.Describe();

  ASSERT_TRUE(AuditLog::Open(path).ok());  // signerd starting again
  support::ProcessResult repaired = RunVerify(path);
  EXPECT_EQ(repaired.exit_code, 0) << repaired.Describe();
  EXPECT_NE(repaired.out.find("\"lines\":2"), std::string::npos) << repaired.Describe();
}

}  // namespace
}  // namespace signer
