// SignerdHarness: a temporary token, config and signerd process for the end-to-end tests.
#include "signerd_harness.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "tls/grpc_credentials.h"

extern char** environ;

namespace e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kTokenLabel[] = "e2e";
constexpr char kUserPin[] = "e2e-user-pin";
constexpr char kSoPin[] = "e2e-so-pin";
constexpr char kGenesis[] = "91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Spawn runs `argv` with stdout and stderr appended to `output_path` and returns its exit code
// (-1 if it could not run). posix_spawn, not system(): no shell parses the temporary paths.
int Spawn(const std::vector<std::string>& argv, const fs::path& output_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> args = argv;
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  pid_t child = -1;
  const int spawned =
      posix_spawnp(&child, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

std::span<const uint8_t> AsBytes(const std::string& text) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

std::string AsString(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

base::Result<std::unique_ptr<SignerdHarness>> SignerdHarness::Create(const std::string& name) {
  std::string pattern = (fs::temp_directory_path() / (name + ".XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return base::Status::Unavailable("cannot create a temporary directory");
  }
  std::unique_ptr<SignerdHarness> harness(new SignerdHarness(fs::path(pattern)));
  const fs::path& dir = harness->dir_;
  fs::create_directory(dir / "tokens");
  harness->WritePrivateFile("softhsm2.conf",
                            "directories.tokendir = " + (dir / "tokens").string() +
                                "\nobjectstore.backend = file\nlog.level = ERROR\n");
  if (const char* previous = std::getenv("SOFTHSM2_CONF")) {
    harness->had_softhsm_conf_ = true;
    harness->previous_softhsm_conf_ = previous;
  }
  // Set before anything loads SoftHSM2 in this process, and inherited by signerd and signerctl.
  ::setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
  const int init = Spawn({"softhsm2-util", "--init-token", "--free", "--label", kTokenLabel,
                          "--pin", kUserPin, "--so-pin", kSoPin},
                         dir / "softhsm2-util.out");
  if (init != 0) {
    return base::Status::Unavailable("softhsm2-util --init-token failed: " +
                                     ReadAll(dir / "softhsm2-util.out"));
  }
  harness->WritePrivateFile("hsm.pin", kUserPin);
  harness->WritePrivateFile(
      "signerd.yaml",
      std::string("signer_id: e2e\nhsm:\n  module: ") + SIGNER_SOFTHSM2_MODULE +
          "\n  token_label: " + kTokenLabel +
          "\n  pin_file: hsm.pin\nhistory:\n  data_dir: history\n  genesis_hash: \"0x" + kGenesis +
          "\"\nserver:\n  listen: \"127.0.0.1:0\"\n"
          "  tls:\n    cert_file: pki/server.crt\n    key_file: pki/server.key\n"
          "    client_ca_file: pki/ca.crt\n  policy_file: policy.yaml\n"
          "  audit_log: audit.jsonl\n  max_in_flight: 64\n  worker_threads: 2\n");
  return harness;
}

SignerdHarness::~SignerdHarness() {
  Stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
  if (had_softhsm_conf_) {
    ::setenv("SOFTHSM2_CONF", previous_softhsm_conf_.c_str(), 1);
  } else {
    ::unsetenv("SOFTHSM2_CONF");
  }
}

base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> SignerdHarness::OpenCustody() const {
  keymgr::Pkcs11Config hsm;
  hsm.module_path = SIGNER_SOFTHSM2_MODULE;
  hsm.token_label = kTokenLabel;
  auto pin = keymgr::ReadPinFromFile((dir_ / "hsm.pin").string());
  if (!pin.ok()) return pin.status();
  hsm.pin = std::move(*pin);
  return keymgr::Pkcs11Custody::Open(std::move(hsm));
}

void SignerdHarness::WritePrivateFile(const std::string& name, const std::string& text) const {
  const fs::path path = dir_ / name;
  std::ofstream(path, std::ios::trunc) << text;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

base::Status SignerdHarness::Start() {
  int out[2];
  if (::pipe(out) != 0) return base::Status::Unavailable("pipe failed");
  const std::string log = (dir_ / "signerd.log").string();
  const std::string config = config_path().string();
  pid_ = ::fork();
  if (pid_ < 0) return base::Status::Unavailable("fork failed");
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(err, STDERR_FILENO);
    ::execl(SIGNERD_PATH, SIGNERD_PATH, "--config", config.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
    pollfd poll_fd{out[0], POLLIN, 0};
    if (::poll(&poll_fd, 1, 200) <= 0) continue;
    char buffer[256];
    const ssize_t got = ::read(out[0], buffer, sizeof(buffer));
    if (got <= 0) break;
    text.append(buffer, static_cast<size_t>(got));
  }
  ::close(out[0]);
  const std::string prefix = "signerd listening on 127.0.0.1:";
  if (text.rfind(prefix, 0) != 0) {
    Stop();
    return base::Status::Unavailable("signerd did not start; it said: " + text + "\nlog:\n" +
                                     Log());
  }
  port_ = std::stoi(text.substr(prefix.size()));
  return base::Status::Ok();
}

void SignerdHarness::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string SignerdHarness::Log() const { return ReadAll(dir_ / "signerd.log"); }

std::unique_ptr<parity::polkadot::signer::RemoteKeystore::Stub> SignerdHarness::Client(
    const std::string& identity) const {
  const fs::path pki = dir_ / "pki";
  auto credentials = tls::ClientChannelCredentials(
      {pki / "ca.crt", pki / (identity + ".crt"), pki / (identity + ".key")});
  if (!credentials.ok()) return nullptr;
  return parity::polkadot::signer::RemoteKeystore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), *credentials));
}

int SignerdHarness::RunSignerctl(const std::vector<std::string>& args, std::string& output) const {
  std::vector<std::string> argv = {SIGNERCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--config");
  argv.push_back(config_path().string());
  const int code = Spawn(argv, dir_ / "signerctl.out");
  output = ReadAll(dir_ / "signerctl.out");
  return code;
}

}  // namespace e2e
