// Tests of `signerctl tls`: the built binary's JSON output, files, modes and exit codes.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tls/certificate.h"
#include "tls/credentials.h"

namespace tls {
namespace {

using testing::ModeOf;
using testing::ReadAll;
using testing::TemporaryDirectory;

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Signerctl runs the binary with `arguments` (already shell-quoted where needed).
CommandRun Signerctl(const TemporaryDirectory& scratch, const std::string& arguments) {
  const std::string err_path = (scratch.path() / "stderr.txt").string();
  const std::string command =
      std::string(SIGNERCTL_PATH) + " " + arguments + " 2>'" + err_path + "'";
  CommandRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return run;
  }
  std::array<char, 4096> buffer;
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    run.out.append(buffer.data(), got);
  }
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = ReadAll(err_path);
  return run;
}

TEST(SignerctlTls, InitDevWritesTheListedFiles) {
  TemporaryDirectory scratch;
  const std::filesystem::path directory = scratch.path() / "pki";
  const CommandRun run = Signerctl(scratch, "tls init-dev --dir '" + directory.string() +
                                                "' --clients validator-alice,intruder --days 7");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty());
  const auto document = nlohmann::json::parse(run.out);
  EXPECT_EQ(document["directory"], directory.string());
  ASSERT_EQ(document["files"].size(), 8u);
  for (const auto& file : document["files"]) {
    const std::string path = file["path"];
    const bool is_key = path.ends_with(".key");
    EXPECT_EQ(file["mode"], is_key ? "0600" : "0644") << path;
    EXPECT_EQ(ModeOf(path), is_key ? 0600u : 0644u) << path;
  }
  const std::string alice = document["clients"]["validator-alice"]["certificate"];
  EXPECT_EQ(IdentityFromCertificate(testing::Bytes(ReadAll(alice))).value(), "validator-alice");
  const std::string intruder_key = document["clients"]["intruder"]["key"];
  EXPECT_EQ(intruder_key, (directory / "intruder.key").string());

  // The server credentials load as signerd would load them, valid for the requested 7 days.
  auto loaded = LoadServerCredentials({document["server_certificate"].get<std::string>(),
                                       document["server_key"].get<std::string>(),
                                       document["ca_certificate"].get<std::string>()});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->server.not_after - loaded->server.not_before, std::chrono::hours(24 * 7));
}

TEST(SignerctlTls, InitDevRefusesToOverwriteWithoutForce) {
  TemporaryDirectory scratch;
  const std::string directory = "'" + (scratch.path() / "pki").string() + "'";
  ASSERT_EQ(Signerctl(scratch, "tls init-dev --dir " + directory).exit_code, 0);
  const std::string ca_before = ReadAll(scratch.path() / "pki" / "ca.crt");

  const CommandRun refused = Signerctl(scratch, "tls init-dev --dir " + directory);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(refused.out.empty());
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  EXPECT_EQ(ReadAll(scratch.path() / "pki" / "ca.crt"), ca_before);

  const CommandRun forced = Signerctl(scratch, "tls init-dev --force --dir " + directory);
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(ReadAll(scratch.path() / "pki" / "ca.crt"), ca_before);
}

TEST(SignerctlTls, BadInputExitsWithUsage) {
  TemporaryDirectory scratch;
  const std::string directory = "'" + (scratch.path() / "pki").string() + "'";
  for (const std::string& arguments :
       {"tls init-dev --dir " + directory + " --clients '../x'",
        "tls init-dev --dir " + directory + " --days 0",
        "tls init-dev --dir " + directory + " --server-name 'a b'", std::string("tls init-dev"),
        "tls inspect --cert " + directory + "/absent.crt"}) {
    const CommandRun run = Signerctl(scratch, arguments);
    EXPECT_EQ(run.exit_code, 2) << arguments;
    EXPECT_TRUE(run.out.empty()) << arguments;
  }
  EXPECT_FALSE(std::filesystem::exists(scratch.path() / "pki"));
}

TEST(SignerctlTls, InspectAndCheck) {
  TemporaryDirectory scratch;
  const std::string directory = (scratch.path() / "pki").string();
  ASSERT_EQ(
      Signerctl(scratch, "tls init-dev --dir '" + directory + "' --clients intruder").exit_code, 0);
  const CommandRun inspect =
      Signerctl(scratch, "tls inspect --cert '" + directory + "/intruder.crt'");
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto document = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(document["client_identity"], "intruder");
  EXPECT_EQ(document["subject"], "CN=intruder");
  EXPECT_GT(document["days_until_expiry"].get<double>(), 364.9);
  EXPECT_LE(document["days_until_expiry"].get<double>(), 365.0);

  const std::string check = "tls check --client-ca '" + directory + "/ca.crt' --cert '" +
                            directory + "/server.crt' --key '" + directory;
  const CommandRun good = Signerctl(scratch, check + "/server.key'");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(nlohmann::json::parse(good.out)["valid"], true);
  const CommandRun mismatched = Signerctl(scratch, check + "/intruder.key'");
  EXPECT_EQ(mismatched.exit_code, 2);
  EXPECT_TRUE(mismatched.out.empty());
}

}  // namespace
}  // namespace tls
