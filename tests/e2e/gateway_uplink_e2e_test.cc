// Signers that dial out: real signerd processes serve a real signer-gateway over their own uplink
// stream, with no inbound connection from the gateway; intruders and restarts included.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "keymgr/keypair.h"
#include "remote_keystore.grpc.pb.h"
#include "signer_uplink.grpc.pb.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"
#include "test_payloads.h"
#include "tls/dev_pki.h"
#include "tls/grpc_credentials.h"

namespace {

namespace fs = std::filesystem;
namespace pb = parity::polkadot::signer;
using Clock = std::chrono::steady_clock;

constexpr char kGenesis[] = "dede000000000000000000000000000000000000000000000000000000000013";

std::string AsString(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

class GatewayUplinkE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    // The gateway's uplink listener has the server certificate, named "gateway": that name is
    // what a dialing signer checks, and that certificate's identity is what its policy grants.
    tls::DevPkiOptions pki;
    pki.directory = dir_.path() / "pki";
    pki.client_identities = {"signer-dialin", "intruder", "gateway-client"};
    pki.server_names = {"gateway"};
    ASSERT_TRUE(tls::CreateDevPki(pki).ok());
    ASSERT_TRUE(support::WriteFile(dir_.path() / "policy.yaml",
                                   "identities:\n  gateway:\n"
                                   "    - {key_types: [gran], operations: [sign, list], "
                                   "public_keys: [\"" +
                                       std::string(support::kAliceEd25519.hex()) + "\"]}\n",
                                   0600)
                    .ok());
  }

  void TearDown() override {
    signer_.reset();
    gateway_.reset();
    if (HasFailure()) {
      std::cerr << "kept for inspection: " << dir_.path() << "\n";
      dir_.Keep();
    }
  }

  fs::path Pki(const std::string& file) { return dir_.path() / "pki" / file; }

  // StartGateway runs a gateway whose pool is one signer that dials in with the certificate of
  // identity "signer-dialin"; it has no address to call.
  void StartGateway() {
    const fs::path dir = dir_.path() / "gateway";
    fs::create_directories(dir);
    socket_ = dir / "keystore.sock";
    ASSERT_TRUE(
        support::WriteFile(
            dir / "gateway.yaml",
            "listen: {unix_socket: " + socket_.string() +
                "}\nstate_dir: state\nhealth_interval_ms: 100\ncache_ttl_ms: 0\n"
                "metrics_listen: \"127.0.0.1:0\"\n"
                "upstream_tls: {ca: " +
                Pki("ca.crt").string() + ", cert: " + Pki("gateway-client.crt").string() +
                ", key: " + Pki("gateway-client.key").string() +
                "}\nupstreams:\n  - {name: signer-1, dial_in: true, identity: signer-dialin}\n"
                "uplink_listen: \"127.0.0.1:0\"\nuplink_keepalive_ms: 1000\n"
                "uplink_tls: {cert: " +
                Pki("server.crt").string() + ", key: " + Pki("server.key").string() +
                ", client_ca: " + Pki("ca.crt").string() + "}\n",
            0600)
            .ok());
    support::ChildOptions options;
    options.stderr_file = dir / "gateway.log";
    auto child = support::ChildProcess::Start(
        {support::Location("signer-gateway"), "--config", (dir / "gateway.yaml").string()},
        options);
    ASSERT_TRUE(child.ok()) << child.status().message();
    ASSERT_EQ(child->ReadLine(std::chrono::seconds(30)).value_or("nothing"),
              "signer-gateway listening on unix:" + socket_.string())
        << GatewayLog();
    const std::optional<std::string> metrics = child->ReadLine(std::chrono::seconds(5));
    const std::string metrics_prefix = "signer-gateway metrics on 127.0.0.1:";
    ASSERT_TRUE(metrics && metrics->starts_with(metrics_prefix)) << metrics.value_or("");
    metrics_port_ = std::stoi(metrics->substr(metrics_prefix.size()));
    const std::optional<std::string> uplink = child->ReadLine(std::chrono::seconds(5));
    const std::string uplink_prefix = "signer-gateway uplink on 127.0.0.1:";
    ASSERT_TRUE(uplink && uplink->starts_with(uplink_prefix)) << uplink.value_or("");
    uplink_port_ = std::stoi(uplink->substr(uplink_prefix.size()));
    gateway_ = std::move(child).value();
    node_ = pb::RemoteKeystore::NewStub(
        grpc::CreateChannel("unix:" + socket_.string(), grpc::InsecureChannelCredentials()));
  }

  // MakeSigner prepares signer-1's directory: a SoftHSM2 token holding //Alice's ed25519 key and
  // a config that listens on loopback (the gateway is never told that address) and dials out to
  // the gateway's uplink with `client` as its certificate.
  void MakeSigner(const std::string& client = "signer-dialin") {
    signer_dir_ = dir_.path() / "signer-1";
    auto hsm = support::SoftHsm::Create(signer_dir_);
    ASSERT_TRUE(hsm.ok()) << hsm.status().message();
    ASSERT_TRUE(hsm->InitToken("signer-1", "uplink-pin", "uplink-so-pin").ok());
    hsm_ = *hsm;
    ASSERT_TRUE(support::WriteFile(signer_dir_ / "hsm.pin", "uplink-pin", 0600).ok());
    ASSERT_TRUE(support::WriteFile(
                    signer_dir_ / "signerd.yaml",
                    "signer_id: signer-1\nhsm:\n  module: " + std::string(SIGNER_SOFTHSM2_MODULE) +
                        "\n  token_label: signer-1\n  pin_file: hsm.pin\nhistory:\n"
                        "  data_dir: history\n  genesis_hash: \"0x" +
                        kGenesis +
                        "\"\nserver:\n  listen: \"127.0.0.1:0\"\n"
                        "  tls:\n    cert_file: ../pki/server.crt\n"
                        "    key_file: ../pki/server.key\n"
                        "    client_ca_file: ../pki/ca.crt\n"
                        "  policy_file: ../policy.yaml\n  audit_log: audit.jsonl\n"
                        "  uplink:\n    gateway: \"127.0.0.1:" +
                        std::to_string(uplink_port_) +
                        "\"\n    server_name: gateway\n    ca_file: ../pki/ca.crt\n"
                        "    cert_file: ../pki/" +
                        client + ".crt\n    key_file: ../pki/" + client +
                        ".key\n    keepalive_ms: 1000\n    min_backoff_ms: 100\n"
                        "    max_backoff_ms: 1000\n",
                    0600)
                    .ok());
    support::ProcessOptions import;
    import.set_env = {hsm_->ConfigEnv(), "SIGNER_SURI=//Alice"};
    const support::ProcessResult run = support::ResultOrStartFailure(
        support::RunProcess({support::Location("signerctl"), "keys", "import", "--config",
                             (signer_dir_ / "signerd.yaml").string(), "--type", "gran"},
                            import));
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
  }

  void StartSigner() {
    support::ChildOptions options;
    options.set_env = {hsm_->ConfigEnv()};
    options.stderr_file = signer_dir_ / "signerd.log";
    auto child = support::ChildProcess::Start(
        {support::Location("signerd"), "--config", (signer_dir_ / "signerd.yaml").string()},
        options);
    ASSERT_TRUE(child.ok()) << child.status().message();
    const std::optional<std::string> line = child->ReadLine(std::chrono::seconds(90));
    ASSERT_TRUE(line && line->starts_with("signerd listening on 127.0.0.1:"))
        << line.value_or("nothing") << "\n"
        << SignerLog();
    child->CloseStdout();
    signer_ = std::move(child).value();
  }

  std::string GatewayLog() { return support::ReadFile(dir_.path() / "gateway" / "gateway.log"); }
  std::string SignerLog() { return support::ReadFile(signer_dir_ / "signerd.log"); }
  double Metric(const std::string& series) {
    const std::string page =
        support::HttpBody(support::HttpRequest(metrics_port_, "GET", "/metrics"));
    return support::PrometheusSample(page, series).value_or(-1);
  }
  // WaitForEligible waits (at most 30 s) until the gateway's own checks, every 100 ms and at once
  // when a dial-in signer comes or goes, see signer-1 as `eligible`.
  bool WaitForEligible(bool eligible) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (Metric("gateway_upstream_eligible{upstream=\"signer-1\"}") == (eligible ? 1 : 0)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  grpc::Status SignPrevote(uint64_t round, uint8_t target_seed) {
    const std::vector<uint8_t> message = slashing::testing::GrandpaMessage(
        0, slashing::testing::FilledHash(target_seed), 10, round, 0);
    pb::SignWithRequest request;
    request.set_key_type("gran");
    request.set_crypto_type("ed25519");
    request.set_public_key(AsString(support::kAliceEd25519.Bytes()));
    request.set_message(AsString(message));
    pb::SignWithReply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = node_->SignWith(&context, request, &reply);
    if (status.ok()) {
      const std::string& signature = reply.signature().signature();
      EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kEd25519, support::kAliceEd25519.Bytes(),
                                          message,
                                          std::vector<uint8_t>(signature.begin(), signature.end())))
          << "round " << round;
    }
    return status;
  }

  // AttachAs opens an Attach stream to the gateway's uplink with `identity`'s client certificate,
  // sends a status frame, and returns the status the gateway ends the stream with (or OK with a
  // welcome when it accepts: the stream is then cancelled here).
  grpc::Status AttachAs(const std::string& identity, bool* welcomed) {
    auto credentials = tls::ClientChannelCredentials(
        tls::ClientCredentialFiles{Pki("ca.crt"), Pki(identity + ".crt"), Pki(identity + ".key")});
    EXPECT_TRUE(credentials.ok());
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("gateway");
    auto stub = pb::SignerUplink::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(uplink_port_), *credentials, arguments));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->Attach(&context);
    pb::UplinkFromSigner hello;
    hello.mutable_status()->set_serving(true);
    hello.mutable_status()->mutable_signer()->set_history_kind("standalone");
    hello.mutable_status()->mutable_signer()->set_history_id("forged-history");
    stream->Write(hello);
    pb::UplinkToSigner frame;
    *welcomed = stream->Read(&frame) && frame.has_welcome();
    if (*welcomed) context.TryCancel();
    return stream->Finish();
  }

  support::TempDir dir_{"gateway-uplink-e2e"};
  fs::path socket_;
  fs::path signer_dir_;
  int metrics_port_ = 0;
  int uplink_port_ = 0;
  std::optional<support::SoftHsm> hsm_;
  std::optional<support::ChildProcess> gateway_;
  std::optional<support::ChildProcess> signer_;
  std::unique_ptr<pb::RemoteKeystore::Stub> node_;
};

TEST_F(GatewayUplinkE2eTest, ADialedInSignerServesTheNodeAndComesBackAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  ASSERT_TRUE(WaitForEligible(false)) << GatewayLog();
  EXPECT_EQ(SignPrevote(1, 0xa1).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "nothing has dialed in yet";
  ASSERT_NO_FATAL_FAILURE(MakeSigner());
  ASSERT_NO_FATAL_FAILURE(StartSigner());
  ASSERT_TRUE(WaitForEligible(true)) << GatewayLog() << "\n" << SignerLog();
  EXPECT_NE(GatewayLog().find("upstream signer-1 dialed in"), std::string::npos);
  EXPECT_NE(SignerLog().find("event=uplink_connected"), std::string::npos) << SignerLog();

  // Every kind of answer passes through the stream: a list, a signature, a refusal.
  pb::Ed25519PublicKeysRequest keys_request;
  keys_request.set_key_type("gran");
  pb::Ed25519PublicKeysReply keys;
  grpc::ClientContext keys_context;
  ASSERT_TRUE(node_->Ed25519PublicKeys(&keys_context, keys_request, &keys).ok());
  ASSERT_EQ(keys.public_keys_size(), 1);
  EXPECT_EQ(keys.public_keys(0), AsString(support::kAliceEd25519.Bytes()));
  const grpc::Status signed_vote = SignPrevote(1, 0xa1);
  ASSERT_TRUE(signed_vote.ok()) << signed_vote.error_message() << "\n" << GatewayLog();
  const grpc::Status conflicting = SignPrevote(1, 0xb2);
  EXPECT_EQ(conflicting.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << conflicting.error_message();
  // The signer decided for the identity of the gateway's certificate, as its TLS verified it.
  const std::string audit = support::ReadFile(signer_dir_ / "audit.jsonl");
  EXPECT_NE(audit.find("\"identity\":\"gateway\""), std::string::npos) << audit;

  // The signer dies: the gateway sees its stream end and stops sending it anything.
  ASSERT_TRUE(signer_->Signal(SIGKILL).ok());
  signer_.reset();
  ASSERT_TRUE(WaitForEligible(false)) << GatewayLog();
  EXPECT_NE(GatewayLog().find("upstream signer-1 disconnected"), std::string::npos);
  EXPECT_EQ(SignPrevote(2, 0xa1).error_code(), grpc::StatusCode::UNAVAILABLE);

  // It comes back, dials in again, and its history still holds round 1.
  ASSERT_NO_FATAL_FAILURE(StartSigner());
  ASSERT_TRUE(WaitForEligible(true)) << GatewayLog() << "\n" << SignerLog();
  EXPECT_TRUE(SignPrevote(2, 0xa1).ok());
  EXPECT_EQ(SignPrevote(1, 0xb2).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(SignPrevote(1, 0xa1).ok()) << "the same vote again is an allowed re-sign";
}

TEST_F(GatewayUplinkE2eTest, OnlyACertificateOfThePoolMayDialIn) {
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  // A certificate of the right CA whose identity is no dial-in signer of the pool.
  bool welcomed = true;
  const grpc::Status intruder = AttachAs("intruder", &welcomed);
  EXPECT_FALSE(welcomed);
  EXPECT_EQ(intruder.error_code(), grpc::StatusCode::PERMISSION_DENIED) << intruder.error_message();
  EXPECT_NE(GatewayLog().find("uplink refused: the client certificate (identity \"intruder\")"),
            std::string::npos)
      << GatewayLog();
  EXPECT_TRUE(WaitForEligible(false));

  // A signer whose uplink certificate is not the pool's never gets a call, so it never signs.
  ASSERT_NO_FATAL_FAILURE(MakeSigner("intruder"));
  ASSERT_NO_FATAL_FAILURE(StartSigner());
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (SignerLog().find("event=uplink_failed") == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(SignerLog().find("event=uplink_failed"), std::string::npos) << SignerLog();
  EXPECT_EQ(SignerLog().find("event=uplink_connected"), std::string::npos) << SignerLog();
  EXPECT_EQ(SignPrevote(1, 0xa1).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
