// SignerdHarness: a temporary token, config and signerd process for the end-to-end tests.
#include "signerd_harness.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <utility>

#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/softhsm.h"

namespace e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kTokenLabel[] = "e2e";
constexpr char kUserPin[] = "e2e-user-pin";
constexpr char kSoPin[] = "e2e-so-pin";
constexpr char kGenesis[] = "91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

}  // namespace

base::Result<std::unique_ptr<SignerdHarness>> SignerdHarness::Create(const std::string& name) {
  std::unique_ptr<SignerdHarness> harness(new SignerdHarness(support::TempDir(name)));
  SIGNER_ASSIGN_OR_RETURN(const support::SoftHsm hsm, support::SoftHsm::Create(harness->dir()));
  SIGNER_RETURN_IF_ERROR(hsm.InitToken(kTokenLabel, kUserPin, kSoPin));
  // Set before anything loads SoftHSM2 in this process, and inherited by signerd and signerctl.
  harness->softhsm_conf_ = std::make_unique<support::ScopedEnvironmentVariable>(
      "SOFTHSM2_CONF", hsm.config_path().string());
  SIGNER_RETURN_IF_ERROR(harness->WritePrivateFile("hsm.pin", kUserPin));
  SIGNER_RETURN_IF_ERROR(harness->WritePrivateFile(
      "signerd.yaml",
      std::string("signer_id: e2e\nhsm:\n  module: ") + SIGNER_SOFTHSM2_MODULE +
          "\n  token_label: " + kTokenLabel +
          "\n  pin_file: hsm.pin\nhistory:\n  data_dir: history\n  genesis_hash: \"0x" + kGenesis +
          "\"\nserver:\n  listen: \"127.0.0.1:0\"\n"
          "  tls:\n    cert_file: pki/server.crt\n    key_file: pki/server.key\n"
          "    client_ca_file: pki/ca.crt\n  policy_file: policy.yaml\n"
          "  audit_log: audit.jsonl\n  max_in_flight: 64\n  worker_threads: 2\n"));
  return harness;
}

SignerdHarness::~SignerdHarness() { Stop(); }

base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> SignerdHarness::OpenCustody() const {
  keymgr::Pkcs11Config hsm;
  hsm.module_path = SIGNER_SOFTHSM2_MODULE;
  hsm.token_label = kTokenLabel;
  auto pin = keymgr::ReadPinFromFile((dir() / "hsm.pin").string());
  if (!pin.ok()) return pin.status();
  hsm.pin = std::move(*pin);
  return keymgr::Pkcs11Custody::Open(std::move(hsm));
}

base::Status SignerdHarness::WritePrivateFile(const std::string& name,
                                              const std::string& text) const {
  return support::WriteFile(dir() / name, text, 0600);
}

base::Status SignerdHarness::Start() {
  support::ChildOptions options;
  options.stderr_file = dir() / "signerd.log";
  SIGNER_ASSIGN_OR_RETURN(
      signerd_, support::ChildProcess::Start(
                    {support::Location("signerd"), "--config", config_path().string()}, options));
  const std::string line = signerd_->ReadLine(std::chrono::seconds(30)).value_or("");
  // Nothing more is read: signerd prints nothing else on stdout.
  signerd_->CloseStdout();
  const std::string prefix = "signerd listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) {
    Stop();
    return base::Status::Unavailable("signerd did not start; it said: " + line + "\nlog:\n" +
                                     Log());
  }
  port_ = std::stoi(line.substr(prefix.size()));
  return base::Status::Ok();
}

void SignerdHarness::Stop() {
  if (!signerd_.has_value()) return;
  signerd_->Stop(SIGTERM);
  signerd_.reset();
}

std::string SignerdHarness::Log() const { return support::ReadFile(dir() / "signerd.log"); }

std::unique_ptr<parity::polkadot::signer::RemoteKeystore::Stub> SignerdHarness::Client(
    const std::string& identity) const {
  auto credentials = support::DevPkiClientCredentials(dir() / "pki", identity);
  if (!credentials.ok()) return nullptr;
  return parity::polkadot::signer::RemoteKeystore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), *credentials));
}

support::ProcessResult SignerdHarness::RunSignerctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {support::Location("signerctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--config", config_path().string()});
  return support::ResultOrStartFailure(support::RunProcess(argv));
}

}  // namespace e2e
