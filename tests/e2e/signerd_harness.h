// A signerd process for end-to-end tests: its own SoftHSM2 token, config, mTLS clients, signerctl.
//
// Everything lives in one temporary directory per harness; the machine's SoftHSM configuration is
// never used (SOFTHSM2_CONF is pointed at the harness's own file, so one harness per process at a
// time). Not thread-safe: drive it from the test's thread; the stubs it hands out may be used from
// any thread.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "keymgr/pkcs11_custody.h"
#include "remote_keystore.grpc.pb.h"
#include "support/environment.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace e2e {

// SignerdHarness owns the directory, the token and at most one running signerd.
class SignerdHarness {
 public:
  // Create makes the directory, a SoftHSM2 configuration and an initialised token with a user PIN
  // file, and a signerd.yaml that reads policy.yaml, pki/ (server.crt, server.key, ca.crt) and
  // writes history/ and audit.jsonl. Fails with kUnavailable if the token cannot be made.
  static base::Result<std::unique_ptr<SignerdHarness>> Create(const std::string& name);
  // The destructor stops signerd (SIGTERM), removes the directory and restores SOFTHSM2_CONF.
  ~SignerdHarness();
  SignerdHarness(const SignerdHarness&) = delete;
  SignerdHarness& operator=(const SignerdHarness&) = delete;

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path config_path() const { return dir() / "signerd.yaml"; }

  // OpenCustody logs in to the harness's token in this process (to put keys there before signerd
  // starts). Fails as Pkcs11Custody::Open does.
  base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> OpenCustody() const;
  // WritePrivateFile writes `text` to `name` under dir() with mode 0600. Fails with kIoError.
  base::Status WritePrivateFile(const std::string& name, const std::string& text) const;

  // Start runs signerd on 127.0.0.1 port 0 and waits (up to 30 s) for its "listening" line. Fails
  // with kUnavailable, quoting signerd's stdout and log, if it does not come up.
  base::Status Start();
  // Stop sends SIGTERM and waits for the process; nothing if it is not running.
  void Stop();
  int port() const { return port_; }
  // Log returns what signerd wrote to stderr so far.
  std::string Log() const;

  // Client is a RemoteKeystore stub over mTLS with pki/<identity>.crt and .key.
  std::unique_ptr<parity::polkadot::signer::RemoteKeystore::Stub> Client(
      const std::string& identity) const;

  // RunSignerctl runs `signerctl <args...> --config signerd.yaml` beside the running signerd.
  support::ProcessResult RunSignerctl(const std::vector<std::string>& args) const;

 private:
  explicit SignerdHarness(support::TempDir dir) : dir_(std::move(dir)) {}

  support::TempDir dir_;
  // SOFTHSM2_CONF for this process and everything it starts, while the harness lives.
  std::unique_ptr<support::ScopedEnvironmentVariable> softhsm_conf_;
  std::optional<support::ChildProcess> signerd_;
  int port_ = 0;
};

}  // namespace e2e
