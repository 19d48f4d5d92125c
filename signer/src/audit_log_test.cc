// Audit log tests: the chain verifies, survives reopening, and an edit, a gap or a torn line is
// found.
#include "audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
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

}  // namespace
}  // namespace signer
