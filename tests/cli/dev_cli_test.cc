// Tests of `signerctl dev init`: the real binary makes a dev signer whose token, PKI, policy and
// config work.
//
// Every test uses its own temporary directory and never the machine's SOFTHSM2_CONF. Whether the
// setup works is judged by other signerctl commands and the project's parsers, and the //Alice
// public keys are the signing spec's known answers.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "signer/config.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"

namespace {

namespace fs = std::filesystem;

const std::string kAliceSr25519(support::kAliceSr25519.hex_0x);
const std::string kAliceEd25519(support::kAliceEd25519.hex_0x);
const std::string kAliceEcdsa(support::kAliceEcdsa.hex_0x);

using support::FileMode;
using support::ReadFile;

// DevCliTest gives each test a temporary directory; "dev" in it is where the setup goes.
class DevCliTest : public ::testing::Test {
 protected:
  // Run starts signerctl with `args`, the test's environment without SOFTHSM2_CONF plus
  // `extra_env`.
  support::ProcessResult Run(std::vector<std::string> args,
                             const std::vector<std::string>& extra_env = {}) {
    args.insert(args.begin(), support::Location("signerctl"));
    support::ProcessOptions options;
    options.unset_env = {"SOFTHSM2_CONF"};
    options.set_env = extra_env;
    return support::ResultOrStartFailure(support::RunProcess(args, options));
  }

  support::ProcessResult Init(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "dev", "init", "--dir", (dir_ / "dev").string(), "--module", SIGNER_SOFTHSM2_MODULE};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }

  support::TempDir dir_{"dev_cli_test"};
};

TEST_F(DevCliTest, MakesASetupTheOtherCommandsAndTheConfigParserAccept) {
  const support::ProcessResult init = Init({"--port", "9555"});
  ASSERT_EQ(init.exit_code, 0) << init.Describe();
  const nlohmann::json described = init.Json();
  ASSERT_TRUE(described.is_object()) << init.out;
  EXPECT_EQ(described["created"], true);
  const fs::path dev = fs::canonical(dir_ / "dev");
  EXPECT_EQ(described["config"], (dev / "signerd.yaml").string());

  // signerd's own parser accepts the config, with the port asked for and files inside the
  // directory.
  auto config = signer::LoadSignerConfig((dev / "signerd.yaml").string());
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->server.has_value());
  EXPECT_EQ(config->server->listen, "127.0.0.1:9555");
  EXPECT_EQ(config->hsm.pin_file, (dev / "hsm.pin").string());
  EXPECT_EQ(config->hsm.token_label, "dev-signer");
  EXPECT_FALSE(config->kafka.has_value());

  // Secrets are readable by the owner only.
  EXPECT_EQ(FileMode(dev), 0700u);
  for (const char* secret : {"hsm.pin", "hsm-so.pin", "signerd.yaml", "pki/server.key",
                             "pki/validator-alice.key", "pki/intruder.key", "pki/ca.key"}) {
    EXPECT_EQ(FileMode(dev / secret) & 077u, 0u) << secret;
  }

  // The token opens with the PIN file the config names and holds //Alice under the six key types.
  const support::ProcessResult list =
      Run({"keys", "list", "--config", (dev / "signerd.yaml").string()},
          {"SOFTHSM2_CONF=" + (dev / "softhsm2.conf").string()});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  std::set<std::pair<std::string, std::string>> keys;
  const nlohmann::json listed = list.Json();
  for (const auto& key : listed["keys"]) {
    keys.emplace(key["key_type"].get<std::string>(), key["public_key"].get<std::string>());
  }
  const std::set<std::pair<std::string, std::string>> expected = {
      {"babe", kAliceSr25519}, {"gran", kAliceEd25519}, {"beef", kAliceEcdsa},
      {"para", kAliceSr25519}, {"asgn", kAliceSr25519}, {"audi", kAliceSr25519}};
  EXPECT_EQ(keys, expected) << list.out;

  // The server credentials load as signerd loads them, and the client identities are the dev ones.
  const support::ProcessResult check =
      Run({"tls", "check", "--cert", (dev / "pki/server.crt").string(), "--key",
           (dev / "pki/server.key").string(), "--client-ca", (dev / "pki/ca.crt").string()});
  EXPECT_EQ(check.exit_code, 0) << check.Describe();
  for (const char* identity : {"validator-alice", "intruder"}) {
    const support::ProcessResult inspect = Run(
        {"tls", "inspect", "--cert", (dev / "pki" / (std::string(identity) + ".crt")).string()});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.Describe();
    EXPECT_EQ(inspect.Json()["client_identity"], identity);
  }
}

TEST_F(DevCliTest, RunningAgainLeavesAFinishedSetupAsItIs) {
  const support::ProcessResult first = Init();
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  const std::string pin = ReadFile(dir_ / "dev" / "hsm.pin");
  const std::string config = ReadFile(dir_ / "dev" / "signerd.yaml");
  const support::ProcessResult second = Init({"--port", "9999"});
  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  EXPECT_EQ(second.Json()["created"], false);
  EXPECT_EQ(ReadFile(dir_ / "dev" / "hsm.pin"), pin);
  EXPECT_EQ(ReadFile(dir_ / "dev" / "signerd.yaml"), config);
}

TEST_F(DevCliTest, RefusesADirectoryHoldingSomethingElse) {
  fs::create_directory(dir_ / "dev");
  ASSERT_TRUE(support::WriteFile(dir_ / "dev" / "notes.txt", "mine", 0644).ok());
  const support::ProcessResult run = Init();
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_TRUE(run.out.empty());
  EXPECT_NE(run.err.find("not empty"), std::string::npos) << run.err;
  EXPECT_EQ(ReadFile(dir_ / "dev" / "notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(dir_ / "dev" / "signerd.yaml"));
}

TEST_F(DevCliTest, AFailedSetupKeepsNothingSoItCanBeRetried) {
  const support::ProcessResult failed = Run({"dev", "init", "--dir", (dir_ / "dev").string(),
                                             "--module", (dir_ / "no-such-module.so").string()});
  EXPECT_EQ(failed.exit_code, 2) << failed.Describe();
  ASSERT_TRUE(fs::exists(dir_ / "dev"));
  EXPECT_TRUE(fs::is_empty(dir_ / "dev"));
  const support::ProcessResult retried = Init();
  EXPECT_EQ(retried.exit_code, 0) << retried.Describe();
}

TEST_F(DevCliTest, RefusesAPortOutOfRange) {
  const support::ProcessResult run = Init({"--port", "65536"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_FALSE(fs::exists(dir_ / "dev" / "signerd.yaml"));
}

}  // namespace
