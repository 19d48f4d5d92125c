// Tests of `signerctl dev init`: the real binary makes a dev signer whose token, PKI, policy and
// config work.
//
// Every test uses its own temporary directory and never the machine's SOFTHSM2_CONF. Whether the
// setup works is judged by other signerctl commands and the project's parsers, and the //Alice
// public keys are the signing spec's known answers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "signer/config.h"

#ifndef SIGNERCTL_PATH
#error "SIGNERCTL_PATH must name the signerctl binary under test"
#endif
#ifndef SIGNER_SOFTHSM2_MODULE
#error "SIGNER_SOFTHSM2_MODULE must name the SoftHSM2 PKCS#11 module"
#endif

extern char** environ;

namespace {

namespace fs = std::filesystem;

// //Alice's public keys: the spec's known answers.
constexpr char kAliceSr25519[] =
    "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
constexpr char kAliceEd25519[] =
    "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee";
constexpr char kAliceEcdsa[] =
    "0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json Json() const { return nlohmann::json::parse(out, nullptr, false); }
};

std::string Describe(const RunResult& run) {
  return "exit " + std::to_string(run.exit_code) + "\nstdout: " + run.out + "\nstderr: " + run.err;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

unsigned Mode(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xffffu;
  return info.st_mode & 07777u;
}

// DevCliTest gives each test a temporary directory: "scratch" for captured output, "dev" for the
// setup.
class DevCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "dev_cli_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directory(dir_ / "scratch");
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Run starts signerctl with `args`, the test's environment without SOFTHSM2_CONF plus
  // `extra_env`.
  RunResult Run(const std::vector<std::string>& args,
                const std::vector<std::string>& extra_env = {}) {
    const fs::path out_path = dir_ / "scratch" / "stdout";
    const fs::path err_path = dir_ / "scratch" / "stderr";
    std::vector<std::string> argv_storage = {SIGNERCTL_PATH};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::string_view(*entry).starts_with("SOFTHSM2_CONF=")) continue;
      env_storage.emplace_back(*entry);
    }
    env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (std::string& entry : env_storage) envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    pid_t pid = 0;
    const int spawn_error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    RunResult result;
    if (spawn_error != 0) {
      ADD_FAILURE() << "cannot start " << SIGNERCTL_PATH;
      return result;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    result.out = ReadFile(out_path);
    result.err = ReadFile(err_path);
    return result;
  }

  RunResult Init(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "dev", "init", "--dir", (dir_ / "dev").string(), "--module", SIGNER_SOFTHSM2_MODULE};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }

  fs::path dir_;
};

TEST_F(DevCliTest, MakesASetupTheOtherCommandsAndTheConfigParserAccept) {
  const RunResult init = Init({"--port", "9555"});
  ASSERT_EQ(init.exit_code, 0) << Describe(init);
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
  EXPECT_EQ(Mode(dev), 0700u);
  for (const char* secret : {"hsm.pin", "hsm-so.pin", "signerd.yaml", "pki/server.key",
                             "pki/validator-alice.key", "pki/intruder.key", "pki/ca.key"}) {
    EXPECT_EQ(Mode(dev / secret) & 077u, 0u) << secret;
  }

  // The token opens with the PIN file the config names and holds //Alice under the six key types.
  const RunResult list = Run({"keys", "list", "--config", (dev / "signerd.yaml").string()},
                             {"SOFTHSM2_CONF=" + (dev / "softhsm2.conf").string()});
  ASSERT_EQ(list.exit_code, 0) << Describe(list);
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
  const RunResult check =
      Run({"tls", "check", "--cert", (dev / "pki/server.crt").string(), "--key",
           (dev / "pki/server.key").string(), "--client-ca", (dev / "pki/ca.crt").string()});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  for (const char* identity : {"validator-alice", "intruder"}) {
    const RunResult inspect = Run(
        {"tls", "inspect", "--cert", (dev / "pki" / (std::string(identity) + ".crt")).string()});
    ASSERT_EQ(inspect.exit_code, 0) << Describe(inspect);
    EXPECT_EQ(inspect.Json()["client_identity"], identity);
  }
}

TEST_F(DevCliTest, RunningAgainLeavesAFinishedSetupAsItIs) {
  const RunResult first = Init();
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  const std::string pin = ReadFile(dir_ / "dev" / "hsm.pin");
  const std::string config = ReadFile(dir_ / "dev" / "signerd.yaml");
  const RunResult second = Init({"--port", "9999"});
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  EXPECT_EQ(second.Json()["created"], false);
  EXPECT_EQ(ReadFile(dir_ / "dev" / "hsm.pin"), pin);
  EXPECT_EQ(ReadFile(dir_ / "dev" / "signerd.yaml"), config);
}

TEST_F(DevCliTest, RefusesADirectoryHoldingSomethingElse) {
  fs::create_directory(dir_ / "dev");
  std::ofstream(dir_ / "dev" / "notes.txt") << "mine";
  const RunResult run = Init();
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_TRUE(run.out.empty());
  EXPECT_NE(run.err.find("not empty"), std::string::npos) << run.err;
  EXPECT_EQ(ReadFile(dir_ / "dev" / "notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(dir_ / "dev" / "signerd.yaml"));
}

TEST_F(DevCliTest, AFailedSetupKeepsNothingSoItCanBeRetried) {
  const RunResult failed = Run({"dev", "init", "--dir", (dir_ / "dev").string(), "--module",
                                (dir_ / "no-such-module.so").string()});
  EXPECT_EQ(failed.exit_code, 2) << Describe(failed);
  ASSERT_TRUE(fs::exists(dir_ / "dev"));
  EXPECT_TRUE(fs::is_empty(dir_ / "dev"));
  const RunResult retried = Init();
  EXPECT_EQ(retried.exit_code, 0) << Describe(retried);
}

TEST_F(DevCliTest, RefusesAPortOutOfRange) {
  const RunResult run = Init({"--port", "65536"});
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_FALSE(fs::exists(dir_ / "dev" / "signerd.yaml"));
}

}  // namespace
