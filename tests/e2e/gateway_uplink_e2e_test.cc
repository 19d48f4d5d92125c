// Signers that dial out: real signerd processes serve a real signer-gateway over their own uplink
// stream, with no inbound connection from the gateway; intruders and restarts included.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
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

// NetworkSandbox is two network namespaces of this test run, the gateway's and the signer's, joined
// by a veth pair with a private /30 (the only addresses it makes, on its own interfaces), and an
// nftables table in the signer's namespace that lets no connection in: replies to the signer's own
// connections pass, anything new is rejected (and counted). The destructor deletes both
// namespaces, which takes the veth pair and the table with them; it runs on failure too.
class NetworkSandbox {
 public:
  static constexpr char kGatewayAddress[] = "10.213.7.1";
  static constexpr char kSignerAddress[] = "10.213.7.2";

  NetworkSandbox() {
    // Unique per run: the process id and a random tag (names of veth ends stay under 15 bytes).
    std::random_device random;
    const std::string tag = std::to_string(::getpid() % 100000) + "x" +
                            std::to_string(std::uniform_int_distribution<int>(0, 999)(random));
    gateway_ns_ = "sgw-gw-" + tag;
    signer_ns_ = "sgw-signer-" + tag;
    gateway_link_ = "sgwg" + tag;
    signer_link_ = "sgws" + tag;
  }
  ~NetworkSandbox() {
    for (const std::string& ns : created_) {
      const support::ProcessResult deleted = Run({"ip", "netns", "delete", ns});
      if (deleted.exit_code != 0) std::cerr << "cannot delete " << ns << ": " << deleted.Describe();
    }
  }
  NetworkSandbox(const NetworkSandbox&) = delete;
  NetworkSandbox& operator=(const NetworkSandbox&) = delete;

  // Build makes the namespaces, the link and the firewall; a failed step is a test failure.
  void Build() {
    for (const std::string& ns : {gateway_ns_, signer_ns_}) {
      ASSERT_EQ(Run({"ip", "netns", "add", ns}).exit_code, 0) << ns;
      created_.push_back(ns);
      ASSERT_EQ(Run({"ip", "-n", ns, "link", "set", "lo", "up"}).exit_code, 0);
    }
    ASSERT_EQ(Run({"ip", "-n", gateway_ns_, "link", "add", gateway_link_, "type", "veth", "peer",
                   "name", signer_link_, "netns", signer_ns_})
                  .exit_code,
              0);
    ASSERT_EQ(Run({"ip", "-n", gateway_ns_, "address", "add", std::string(kGatewayAddress) + "/30",
                   "dev", gateway_link_})
                  .exit_code,
              0);
    ASSERT_EQ(Run({"ip", "-n", signer_ns_, "address", "add", std::string(kSignerAddress) + "/30",
                   "dev", signer_link_})
                  .exit_code,
              0);
    ASSERT_NO_FATAL_FAILURE(SetLink(true));
    support::ProcessOptions rules;
    rules.stdin_text =
        "table inet signer_egress_only {\n"
        "  chain input {\n"
        "    type filter hook input priority 0; policy drop;\n"
        "    iif \"lo\" accept\n"
        "    ct state established,related accept\n"
        "    meta l4proto tcp counter reject with tcp reset\n"
        "    counter reject\n"
        "  }\n"
        "}\n";
    const support::ProcessResult applied =
        Run({"ip", "netns", "exec", signer_ns_, "nft", "-f", "-"}, rules);
    ASSERT_EQ(applied.exit_code, 0) << applied.Describe();
  }

  // SetLink brings the signer's end of the link down or up.
  void SetLink(bool up) {
    const support::ProcessResult set =
        Run({"ip", "-n", signer_ns_, "link", "set", signer_link_, up ? "up" : "down"});
    ASSERT_EQ(set.exit_code, 0) << set.Describe();
    if (up) {
      ASSERT_EQ(Run({"ip", "-n", gateway_ns_, "link", "set", gateway_link_, "up"}).exit_code, 0);
    }
  }

  // Connect tries a TCP connection from `ns` to host:port and says whether it was accepted.
  bool Connect(const std::string& ns, const std::string& host, int port) {
    const support::ProcessResult run =
        Run({"ip", "netns", "exec", ns, "bash", "-c",
             "exec 3<>/dev/tcp/" + host + "/" + std::to_string(port)});
    return run.exit_code == 0;
  }

  // RejectedTcp is the firewall's count of TCP packets it turned away.
  int64_t RejectedTcp() {
    const support::ProcessResult listed = Run(
        {"ip", "netns", "exec", signer_ns_, "nft", "list", "table", "inet", "signer_egress_only"});
    const std::string marker = "tcp counter packets ";
    const size_t at = listed.out.find(marker);
    if (listed.exit_code != 0 || at == std::string::npos) return -1;
    return std::stoll(listed.out.substr(at + marker.size()));
  }

  std::vector<std::string> In(const std::string& ns) const { return {"ip", "netns", "exec", ns}; }
  const std::string& gateway_ns() const { return gateway_ns_; }
  const std::string& signer_ns() const { return signer_ns_; }

 private:
  static support::ProcessResult Run(const std::vector<std::string>& argv,
                                    support::ProcessOptions options = {}) {
    options.timeout = std::chrono::seconds(20);
    return support::ResultOrStartFailure(support::RunProcess(argv, options));
  }

  std::string gateway_ns_, signer_ns_, gateway_link_, signer_link_;
  std::vector<std::string> created_;
};

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
    // Only once nothing runs in them: a namespace with a process in it would outlive its name.
    sandbox_.reset();
    if (HasFailure()) {
      std::cerr << "kept for inspection: " << dir_.path() << "\n";
      dir_.Keep();
    }
  }

  fs::path Pki(const std::string& file) { return dir_.path() / "pki" / file; }

  // Command prefix that runs a program in the gateway's or the signer's network namespace (empty:
  // this one), and the addresses each listens on there.
  std::vector<std::string> gateway_prefix_;
  std::vector<std::string> signer_prefix_;
  std::string gateway_host_ = "127.0.0.1";
  std::string signer_host_ = "127.0.0.1";
  std::string gateway_extra_;  // more lines for the gateway's configuration
  // Without a metrics listener (the gateway in a namespace of its own, which this process cannot
  // reach) eligibility is read from the gateway's log.
  bool gateway_metrics_ = true;

  static std::vector<std::string> Prefixed(std::vector<std::string> prefix,
                                           const std::vector<std::string>& argv) {
    prefix.insert(prefix.end(), argv.begin(), argv.end());
    return prefix;
  }

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
                "}\nstate_dir: state\nhealth_interval_ms: 100\ncache_ttl_ms: 0\n" +
                (gateway_metrics_ ? "metrics_listen: \"127.0.0.1:0\"\n" : "") + gateway_extra_ +
                "upstream_tls: {ca: " + Pki("ca.crt").string() +
                ", cert: " + Pki("gateway-client.crt").string() +
                ", key: " + Pki("gateway-client.key").string() +
                "}\nupstreams:\n  - {name: signer-1, dial_in: true, identity: signer-dialin}\n"
                "uplink_listen: \"" +
                gateway_host_ +
                ":0\"\nuplink_keepalive_ms: 1000\n"
                "uplink_tls: {cert: " +
                Pki("server.crt").string() + ", key: " + Pki("server.key").string() +
                ", client_ca: " + Pki("ca.crt").string() + "}\n",
            0600)
            .ok());
    support::ChildOptions options;
    options.stderr_file = dir / "gateway.log";
    auto child = support::ChildProcess::Start(
        Prefixed(gateway_prefix_, {support::Location("signer-gateway"), "--config",
                                   (dir / "gateway.yaml").string()}),
        options);
    ASSERT_TRUE(child.ok()) << child.status().message();
    ASSERT_EQ(child->ReadLine(std::chrono::seconds(30)).value_or("nothing"),
              "signer-gateway listening on unix:" + socket_.string())
        << GatewayLog();
    if (gateway_metrics_) {
      const std::optional<std::string> metrics = child->ReadLine(std::chrono::seconds(5));
      const std::string metrics_prefix = "signer-gateway metrics on 127.0.0.1:";
      ASSERT_TRUE(metrics && metrics->starts_with(metrics_prefix)) << metrics.value_or("");
      metrics_port_ = std::stoi(metrics->substr(metrics_prefix.size()));
    }
    const std::optional<std::string> uplink = child->ReadLine(std::chrono::seconds(5));
    const std::string uplink_prefix = "signer-gateway uplink on " + gateway_host_ + ":";
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
                        kGenesis + "\"\nserver:\n  listen: \"" + signer_host_ +
                        ":0\"\n"
                        "  tls:\n    cert_file: ../pki/server.crt\n"
                        "    key_file: ../pki/server.key\n"
                        "    client_ca_file: ../pki/ca.crt\n"
                        "  policy_file: ../policy.yaml\n  audit_log: audit.jsonl\n"
                        "  uplink:\n    gateway: \"" +
                        gateway_host_ + ":" + std::to_string(uplink_port_) +
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
        Prefixed(signer_prefix_, {support::Location("signerd"), "--config",
                                  (signer_dir_ / "signerd.yaml").string()}),
        options);
    ASSERT_TRUE(child.ok()) << child.status().message();
    const std::optional<std::string> line = child->ReadLine(std::chrono::seconds(90));
    const std::string prefix = "signerd listening on " + signer_host_ + ":";
    ASSERT_TRUE(line && line->starts_with(prefix)) << line.value_or("nothing") << "\n"
                                                   << SignerLog();
    signer_port_ = std::stoi(line->substr(prefix.size()));
    child->CloseStdout();
    signer_ = std::move(child).value();
  }

  std::string GatewayLog() { return support::ReadFile(dir_.path() / "gateway" / "gateway.log"); }
  std::string SignerLog() { return support::ReadFile(signer_dir_ / "signerd.log"); }
  // WaitForSignerLog waits (at most 30 s) until the signer's log holds `text`.
  bool WaitForSignerLog(const std::string& text) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (SignerLog().find(text) == std::string::npos) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
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
      if (!gateway_metrics_) {
        // The pool logs every change; the last one says where it stands.
        const std::string log = GatewayLog();
        const size_t yes = log.rfind("upstream signer-1 eligible");
        const size_t no = log.rfind("upstream signer-1 not eligible");
        const bool is = yes != std::string::npos && (no == std::string::npos || yes > no);
        if (is == eligible) return true;
      } else if (Metric("gateway_upstream_eligible{upstream=\"signer-1\"}") == (eligible ? 1 : 0)) {
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
  int signer_port_ = 0;
  std::optional<support::SoftHsm> hsm_;
  std::optional<support::ChildProcess> gateway_;
  std::optional<support::ChildProcess> signer_;
  std::unique_ptr<pb::RemoteKeystore::Stub> node_;
  std::optional<NetworkSandbox> sandbox_;
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
  // The gateway pools the signer as it sends its welcome; the signer logs the connection once it
  // has read that welcome, a moment later.
  EXPECT_TRUE(WaitForSignerLog("event=uplink_connected")) << SignerLog();

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

TEST_F(GatewayUplinkE2eTest, ADialedInSignerOfAnotherHistoryIsNeverPooled) {
  // The pool is pinned to a replicated history; the signer that dials in keeps a standalone one.
  gateway_extra_ = "history_id: \"kafka:cluster-a/signer-claims\"\n";
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  ASSERT_NO_FATAL_FAILURE(MakeSigner());
  ASSERT_NO_FATAL_FAILURE(StartSigner());
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  const std::string refusal = "upstream signer-1 not eligible: reports history ";
  while (GatewayLog().find(refusal) == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(GatewayLog().find("upstream signer-1 dialed in"), std::string::npos) << GatewayLog();
  EXPECT_NE(GatewayLog().find(refusal), std::string::npos) << GatewayLog();
  EXPECT_EQ(SignPrevote(1, 0xa1).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Metric("gateway_upstream_eligible{upstream=\"signer-1\"}"), 0);
  const std::string audit = support::ReadFile(signer_dir_ / "audit.jsonl");
  EXPECT_EQ(audit.find("\"sign\""), std::string::npos) << "it was never asked: " << audit;
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

// NAT, for real: the signer sits in a network namespace whose firewall lets nothing in. The gateway
// cannot reach its listener, yet the signer serves through its own outbound stream, and when its
// link goes down and comes back it dials in again and serves again.
TEST_F(GatewayUplinkE2eTest, ASignerBehindAnEgressOnlyFirewallServesThroughItsUplink) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "network namespaces need root (CI runs this test as root)";
  }
  const support::ProcessResult nft =
      support::ResultOrStartFailure(support::RunProcess({"nft", "--version"}));
  ASSERT_EQ(nft.exit_code, 0) << "nftables is missing: infra/dev/install-deps.sh installs it\n"
                              << nft.Describe();
  sandbox_.emplace();
  ASSERT_NO_FATAL_FAILURE(sandbox_->Build());
  gateway_prefix_ = sandbox_->In(sandbox_->gateway_ns());
  signer_prefix_ = sandbox_->In(sandbox_->signer_ns());
  gateway_host_ = NetworkSandbox::kGatewayAddress;
  signer_host_ = NetworkSandbox::kSignerAddress;
  gateway_metrics_ = false;

  ASSERT_NO_FATAL_FAILURE(StartGateway());
  ASSERT_NO_FATAL_FAILURE(MakeSigner());
  ASSERT_NO_FATAL_FAILURE(StartSigner());
  ASSERT_TRUE(WaitForEligible(true)) << GatewayLog() << "\n" << SignerLog();

  // The signer's listener is open (from inside its namespace a connection is accepted) but the
  // gateway's side cannot reach it: the firewall turns the connection away.
  EXPECT_TRUE(
      sandbox_->Connect(sandbox_->signer_ns(), NetworkSandbox::kSignerAddress, signer_port_));
  const int64_t rejected_before = sandbox_->RejectedTcp();
  ASSERT_GE(rejected_before, 0);
  EXPECT_FALSE(
      sandbox_->Connect(sandbox_->gateway_ns(), NetworkSandbox::kSignerAddress, signer_port_));
  EXPECT_GT(sandbox_->RejectedTcp(), rejected_before) << "the firewall, not a closed port, refused";

  // Yet the node's requests are served, over the stream the signer opened.
  const grpc::Status served = SignPrevote(1, 0xa1);
  ASSERT_TRUE(served.ok()) << served.error_message() << "\n" << GatewayLog();
  EXPECT_EQ(SignPrevote(1, 0xb2).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // The link goes down: keepalive pings go unanswered, the gateway drops the stream and the node
  // gets UNAVAILABLE (the signer is out of the pool), never a hang until the deadline.
  ASSERT_NO_FATAL_FAILURE(sandbox_->SetLink(false));
  ASSERT_TRUE(WaitForEligible(false)) << GatewayLog();
  EXPECT_NE(GatewayLog().find("upstream signer-1 disconnected"), std::string::npos) << GatewayLog();
  EXPECT_EQ(SignPrevote(2, 0xa1).error_code(), grpc::StatusCode::UNAVAILABLE);

  // The link comes back: the signer dials in again on its own and serves again.
  ASSERT_NO_FATAL_FAILURE(sandbox_->SetLink(true));
  ASSERT_TRUE(WaitForEligible(true)) << GatewayLog() << "\n" << SignerLog();
  const std::string log = GatewayLog();
  const size_t first = log.find("upstream signer-1 dialed in");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(log.find("upstream signer-1 dialed in", first + 1), std::string::npos) << log;
  const grpc::Status again = SignPrevote(2, 0xa1);
  EXPECT_TRUE(again.ok()) << again.error_message() << "\n" << GatewayLog();
  EXPECT_EQ(SignPrevote(1, 0xb2).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
