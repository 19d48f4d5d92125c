// Tests of `signerctl tls`: the built binary's JSON output, files, modes and exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/bytes.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "tls/certificate.h"
#include "tls/credentials.h"

namespace tls {
namespace {

using support::FileMode;
using support::ReadFile;
using support::TempDir;

// Signerctl runs the built binary with `arguments`.
support::ProcessResult Signerctl(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), support::Location("signerctl"));
  return support::ResultOrStartFailure(support::RunProcess(arguments));
}

TEST(SignerctlTls, InitDevWritesTheListedFiles) {
  TempDir scratch;
  const std::filesystem::path directory = scratch.path() / "pki";
  const support::ProcessResult run =
      Signerctl({"tls", "init-dev", "--dir", directory.string(), "--clients",
                 "validator-alice,intruder", "--days", "7"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty());
  const auto document = nlohmann::json::parse(run.out);
  EXPECT_EQ(document["directory"], directory.string());
  ASSERT_EQ(document["files"].size(), 8u);
  for (const auto& file : document["files"]) {
    const std::string path = file["path"];
    const bool is_key = path.ends_with(".key");
    EXPECT_EQ(file["mode"], is_key ? "0600" : "0644") << path;
    EXPECT_EQ(FileMode(path), is_key ? 0600u : 0644u) << path;
  }
  const std::string alice = document["clients"]["validator-alice"]["certificate"];
  EXPECT_EQ(IdentityFromCertificate(support::AsBytes(ReadFile(alice))).value(), "validator-alice");
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
  TempDir scratch;
  const std::string directory = (scratch.path() / "pki").string();
  ASSERT_EQ(Signerctl({"tls", "init-dev", "--dir", directory}).exit_code, 0);
  const std::string ca_before = ReadFile(scratch.path() / "pki" / "ca.crt");

  const support::ProcessResult refused = Signerctl({"tls", "init-dev", "--dir", directory});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(refused.out.empty());
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  EXPECT_EQ(ReadFile(scratch.path() / "pki" / "ca.crt"), ca_before);

  const support::ProcessResult forced =
      Signerctl({"tls", "init-dev", "--force", "--dir", directory});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(ReadFile(scratch.path() / "pki" / "ca.crt"), ca_before);
}

TEST(SignerctlTls, BadInputExitsWithUsage) {
  TempDir scratch;
  const std::string directory = (scratch.path() / "pki").string();
  const std::vector<std::vector<std::string>> bad_inputs = {
      {"tls", "init-dev", "--dir", directory, "--clients", "../x"},
      {"tls", "init-dev", "--dir", directory, "--days", "0"},
      {"tls", "init-dev", "--dir", directory, "--server-name", "a b"},
      {"tls", "init-dev"},
      {"tls", "inspect", "--cert", directory + "/absent.crt"}};
  for (const std::vector<std::string>& arguments : bad_inputs) {
    const support::ProcessResult run = Signerctl(arguments);
    EXPECT_EQ(run.exit_code, 2) << arguments[1] << " " << arguments.back();
    EXPECT_TRUE(run.out.empty()) << arguments[1] << " " << arguments.back();
  }
  EXPECT_FALSE(std::filesystem::exists(scratch.path() / "pki"));
}

TEST(SignerctlTls, InspectAndCheck) {
  TempDir scratch;
  const std::string directory = (scratch.path() / "pki").string();
  ASSERT_EQ(Signerctl({"tls", "init-dev", "--dir", directory, "--clients", "intruder"}).exit_code,
            0);
  const support::ProcessResult inspect =
      Signerctl({"tls", "inspect", "--cert", directory + "/intruder.crt"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto document = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(document["client_identity"], "intruder");
  EXPECT_EQ(document["subject"], "CN=intruder");
  EXPECT_GT(document["days_until_expiry"].get<double>(), 364.9);
  EXPECT_LE(document["days_until_expiry"].get<double>(), 365.0);

  const auto check = [&](const std::string& key) {
    return Signerctl({"tls", "check", "--client-ca", directory + "/ca.crt", "--cert",
                      directory + "/server.crt", "--key", directory + "/" + key});
  };
  const support::ProcessResult good = check("server.key");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(nlohmann::json::parse(good.out)["valid"], true);
  const support::ProcessResult mismatched = check("intruder.key");
  EXPECT_EQ(mismatched.exit_code, 2);
  EXPECT_TRUE(mismatched.out.empty());
}

}  // namespace
}  // namespace tls
