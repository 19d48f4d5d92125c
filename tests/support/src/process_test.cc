// Tests of the process runner: output capture, exit status, environment, stdin, timeout, children.
#include "support/process.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>

#include <gtest/gtest.h>

namespace support {
namespace {

TEST(RunProcessTest, CapturesBothStreamsAndTheExitStatus) {
  auto run = RunProcess({"ls", "-d", "/", "/no/such/path"});
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->exit_code, 2) << run->Describe();
  EXPECT_EQ(run->out, "/\n");
  EXPECT_NE(run->err.find("/no/such/path"), std::string::npos) << run->err;
  EXPECT_FALSE(run->timed_out);
}

TEST(RunProcessTest, PassesArgumentsWithoutAShell) {
  auto run = RunProcess({"echo", "$HOME", "a b", "'quoted'"});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->out, "$HOME a b 'quoted'\n");
}

TEST(RunProcessTest, SetsAndUnsetsEnvironmentVariables) {
  ::setenv("SUPPORT_TEST_INHERITED", "yes", 1);
  ::setenv("SUPPORT_TEST_DROPPED", "yes", 1);
  ProcessOptions options;
  options.unset_env = {"SUPPORT_TEST_DROPPED"};
  options.set_env = {"SUPPORT_TEST_ADDED=1", "SUPPORT_TEST_INHERITED=replaced"};
  auto run = RunProcess({"env"}, options);
  ::unsetenv("SUPPORT_TEST_INHERITED");
  ::unsetenv("SUPPORT_TEST_DROPPED");
  ASSERT_TRUE(run.ok());
  EXPECT_NE(run->out.find("SUPPORT_TEST_ADDED=1\n"), std::string::npos);
  EXPECT_NE(run->out.find("SUPPORT_TEST_INHERITED=replaced\n"), std::string::npos);
  EXPECT_EQ(run->out.find("SUPPORT_TEST_INHERITED=yes"), std::string::npos);
  EXPECT_EQ(run->out.find("SUPPORT_TEST_DROPPED"), std::string::npos);
}

TEST(RunProcessTest, FeedsStdinTextAndOtherwiseDevNull) {
  ProcessOptions options;
  options.stdin_text = std::string(200'000, 'x') + "\nend\n";
  auto fed = RunProcess({"tail", "-n", "1"}, options);
  ASSERT_TRUE(fed.ok());
  EXPECT_EQ(fed->out, "end\n");
  auto empty = RunProcess({"cat"});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->exit_code, 0);
  EXPECT_EQ(empty->out, "");
}

TEST(RunProcessTest, KillsAChildThatOutlivesItsTimeout) {
  ProcessOptions options;
  options.timeout = std::chrono::milliseconds(200);
  const auto started = std::chrono::steady_clock::now();
  auto run = RunProcess({"sleep", "30"}, options);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->timed_out);
  EXPECT_EQ(run->exit_code, -SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(RunProcessTest, AProgramThatCannotStartIsAnError) {
  auto run = RunProcess({"/no/such/program"});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(RunProcess({}).status().code(), base::StatusCode::kInvalidArgument);
}

TEST(RunProcessTest, JsonParsesStdout) {
  auto run = RunProcess({"echo", R"({"a": 1})"});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->Json().value("a", 0), 1);
  auto text = RunProcess({"echo", "not json"});
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(text->Json().is_discarded());
}

TEST(ChildProcessTest, TalksLineByLineAndReportsHowItEnded) {
  ChildOptions options;
  options.pipe_stdin = true;
  auto child = ChildProcess::Start({"cat"}, options);
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(child->Write("first\nsecond\n").ok());
  EXPECT_EQ(child->ReadLine(std::chrono::seconds(10)), "first");
  EXPECT_EQ(child->ReadLine(std::chrono::seconds(10)), "second");
  EXPECT_EQ(child->ReadLine(std::chrono::milliseconds(50)), std::nullopt);
  EXPECT_TRUE(child->Running());
  child->CloseStdin();
  EXPECT_EQ(child->Wait(), 0);
  EXPECT_FALSE(child->Running());
  EXPECT_EQ(child->ReadSome(std::chrono::seconds(1)), std::nullopt);
  EXPECT_FALSE(child->Signal(SIGTERM).ok());
}

TEST(ChildProcessTest, StopSignalsAndWriteToAGoneChildFails) {
  ChildOptions options;
  options.pipe_stdin = true;
  auto child = ChildProcess::Start({"sleep", "30"}, options);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->Stop(SIGTERM), -SIGTERM);
  EXPECT_EQ(child->Write("anyone?\n").code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(ChildProcess::Start({"/no/such/program"}).status().code(),
            base::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace support
