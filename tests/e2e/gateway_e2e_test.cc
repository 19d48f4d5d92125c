// signer-gateway with real signerd processes: it pools only signers of one history, passes
// refusals through, fails over within a replicated history, and never to another history.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "keymgr/keypair.h"
#include "remote_keystore.grpc.pb.h"
#include "support/dev_broker.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"
#include "test_payloads.h"
#include "tls/dev_pki.h"

namespace {

namespace fs = std::filesystem;
namespace pb = parity::polkadot::signer;
using Clock = std::chrono::steady_clock;

constexpr char kGenesis[] = "dede000000000000000000000000000000000000000000000000000000000003";

std::string AsString(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

class GatewayE2eTest : public testing::Test {
 protected:
  struct Signer {
    fs::path dir;
    std::optional<support::SoftHsm> hsm;
    std::optional<support::ChildProcess> process;
    int port = 0;
  };
  // Gateway is one signer-gateway and the stub of the node beside it.
  struct Gateway {
    fs::path dir;
    std::optional<support::ChildProcess> process;
    int metrics_port = 0;
    std::unique_ptr<pb::RemoteKeystore::Stub> node;
  };

  void SetUp() override {
    ASSERT_TRUE(support::MakeDevPki(dir_.path() / "pki", {"gateway"}).ok());
    ASSERT_TRUE(support::WriteFile(dir_.path() / "policy.yaml",
                                   "identities:\n  gateway:\n"
                                   "    - {key_types: [gran], operations: [sign, list], "
                                   "public_keys: [\"" +
                                       std::string(support::kAliceEd25519.hex()) + "\"]}\n",
                                   0600)
                    .ok());
  }

  void TearDown() override {
    gateways_.clear();
    for (Signer& signer : signers_) signer.process.reset();
    if (broker_) broker_->Stop(SIGTERM);
    if (HasFailure()) {
      std::cerr << "kept for inspection: " << dir_.path() << "\n";
      dir_.Keep();
    }
  }

  void StartBroker() {
    auto broker = support::StartDevBroker({}, dir_.path() / "broker.log");
    ASSERT_TRUE(broker.ok()) << broker.status().message();
    bootstrap_ = broker->bootstrap;
    broker_ = std::move(broker->process);
  }

  // AddSigner makes signer-N: its own SoftHSM2 token holding //Alice's ed25519 key, the shared
  // PKI and policy, and (when a broker runs) the Kafka section that puts it in one history with
  // the other replicated signers.
  void AddSigner(const std::string& server_extra = "") {
    Signer& signer = signers_.emplace_back();
    const std::string id = "signer-" + std::to_string(signers_.size());
    signer.dir = dir_.path() / id;
    auto hsm = support::SoftHsm::Create(signer.dir);
    ASSERT_TRUE(hsm.ok()) << hsm.status().message();
    ASSERT_TRUE(hsm->InitToken(id, "gateway-pin", "gateway-so-pin").ok());
    signer.hsm = *hsm;
    ASSERT_TRUE(support::WriteFile(signer.dir / "hsm.pin", "gateway-pin", 0600).ok());
    const std::string kafka =
        bootstrap_.empty() ? ""
                           : "kafka:\n  brokers: \"" + bootstrap_ +
                                 "\"\n  claim_timeout_ms: 2000\n  catch_up_timeout_ms: 60000\n";
    ASSERT_TRUE(support::WriteFile(signer.dir / "signerd.yaml",
                                   "signer_id: " + id + "\nhsm:\n  module: " +
                                       SIGNER_SOFTHSM2_MODULE + "\n  token_label: " + id +
                                       "\n  pin_file: hsm.pin\nhistory:\n  data_dir: history\n"
                                       "  genesis_hash: \"0x" +
                                       kGenesis +
                                       "\"\nserver:\n  listen: \"127.0.0.1:0\"\n"
                                       "  tls:\n    cert_file: ../pki/server.crt\n"
                                       "    key_file: ../pki/server.key\n"
                                       "    client_ca_file: ../pki/ca.crt\n"
                                       "  policy_file: ../policy.yaml\n  audit_log: audit.jsonl\n" +
                                       server_extra + kafka,
                                   0600)
                    .ok());
    support::ProcessOptions import;
    import.set_env = {hsm->ConfigEnv(), "SIGNER_SURI=//Alice"};
    const support::ProcessResult run = support::ResultOrStartFailure(
        support::RunProcess({support::Location("signerctl"), "keys", "import", "--config",
                             (signer.dir / "signerd.yaml").string(), "--type", "gran"},
                            import));
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    support::ChildOptions options;
    options.set_env = {hsm->ConfigEnv()};
    options.stderr_file = signer.dir / "signerd.log";
    auto child = support::ChildProcess::Start(
        {support::Location("signerd"), "--config", (signer.dir / "signerd.yaml").string()},
        options);
    ASSERT_TRUE(child.ok()) << child.status().message();
    const std::optional<std::string> line = child->ReadLine(std::chrono::seconds(90));
    const std::string prefix = "signerd listening on 127.0.0.1:";
    ASSERT_TRUE(line.has_value() && line->rfind(prefix, 0) == 0)
        << id << " said " << line.value_or("nothing") << "; log:\n"
        << support::ReadFile(signer.dir / "signerd.log");
    child->CloseStdout();
    signer.port = std::stoi(line->substr(prefix.size()));
    signer.process = std::move(child).value();
  }

  // StartGateway runs one more signer-gateway over every signer added so far (listed last to
  // first when `reversed`, so it prefers another signer), in a directory of its own, and connects
  // a node's stub to its Unix socket.
  void StartGateway(bool reversed = false, const std::string& extra_config = "",
                    const std::string& extra_upstreams = "") {
    Gateway& gateway = gateways_.emplace_back();
    gateway.dir = dir_.path() / ("gateway-" + std::to_string(gateways_.size()));
    fs::create_directories(gateway.dir);
    const tls::ClientCredentialFiles client =
        support::DevPkiClientFiles(dir_.path() / "pki", "gateway");
    std::string upstreams;
    for (size_t n = 0; n < signers_.size(); ++n) {
      const size_t i = reversed ? signers_.size() - 1 - n : n;
      upstreams += "  - {name: signer-" + std::to_string(i + 1) +
                   ", address: \"127.0.0.1:" + std::to_string(signers_[i].port) + "\"}\n";
    }
    const fs::path socket = gateway.dir / "keystore.sock";
    ASSERT_TRUE(support::WriteFile(
                    gateway.dir / "gateway.yaml",
                    "listen: {unix_socket: " + socket.string() + "}\nstate_dir: state\n" +
                        (extra_config.find("health_interval_ms") == std::string::npos
                             ? "health_interval_ms: 100\n"
                             : "") +
                        extra_config +
                        "cache_ttl_ms: 60000\nmetrics_listen: \"127.0.0.1:0\"\n"
                        "upstream_tls: {ca: " +
                        client.server_ca.string() + ", cert: " + client.certificate.string() +
                        ", key: " + client.private_key.string() + "}\nupstreams:\n" + upstreams +
                        extra_upstreams,
                    0600)
                    .ok());
    support::ChildOptions options;
    options.stderr_file = gateway.dir / "gateway.log";
    auto child = support::ChildProcess::Start(
        {support::Location("signer-gateway"), "--config", (gateway.dir / "gateway.yaml").string()},
        options);
    ASSERT_TRUE(child.ok()) << child.status().message();
    const std::optional<std::string> listening = child->ReadLine(std::chrono::seconds(30));
    ASSERT_EQ(listening.value_or("nothing"), "signer-gateway listening on unix:" + socket.string())
        << GatewayLog();
    const std::optional<std::string> metrics = child->ReadLine(std::chrono::seconds(5));
    const std::string prefix = "signer-gateway metrics on 127.0.0.1:";
    ASSERT_TRUE(metrics.has_value() && metrics->rfind(prefix, 0) == 0) << metrics.value_or("");
    gateway.metrics_port = std::stoi(metrics->substr(prefix.size()));
    gateway.process = std::move(child).value();
    gateway.node = pb::RemoteKeystore::NewStub(
        grpc::CreateChannel("unix:" + socket.string(), grpc::InsecureChannelCredentials()));
  }

  std::string GatewayLog(size_t gateway = 0) {
    return support::ReadFile(dir_.path() / ("gateway-" + std::to_string(gateway + 1)) /
                             "gateway.log");
  }
  double Metric(const std::string& series, size_t gateway = 0) {
    const std::string page =
        support::HttpBody(support::HttpRequest(gateways_[gateway].metrics_port, "GET", "/metrics"));
    return support::PrometheusSample(page, series).value_or(-1);
  }

  // WaitForEligible waits until gateway-1's view of signer-N is `eligible` (a condition the
  // gateway reaches by its own checks every 100 ms), for at most 30 s.
  bool WaitForEligible(size_t signer, bool eligible, size_t gateway = 0) {
    const std::string series =
        "gateway_upstream_eligible{upstream=\"signer-" + std::to_string(signer) + "\"}";
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (Metric(series, gateway) == (eligible ? 1 : 0)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // SignPrevote asks the gateway to sign a GRANDPA prevote of set 0 for `target_seed` in `round`
  // with //Alice's ed25519 key; a signature that comes back is verified.
  grpc::Status SignPrevote(uint64_t round, uint8_t target_seed, size_t gateway = 0) {
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
    grpc::Status status = gateways_[gateway].node->SignWith(&context, request, &reply);
    if (status.ok()) {
      const std::string& signature = reply.signature().signature();
      EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kEd25519, support::kAliceEd25519.Bytes(),
                                          message,
                                          std::vector<uint8_t>(signature.begin(), signature.end())))
          << "round " << round;
    }
    return status;
  }

  support::TempDir dir_{"gateway-e2e"};
  std::string bootstrap_;
  std::optional<support::ChildProcess> broker_;
  std::vector<Signer> signers_;
  std::vector<Gateway> gateways_;
};

TEST_F(GatewayE2eTest, StandaloneSignersAreNeverPooledAndRefusalsPassThrough) {
  signers_.reserve(2);
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  ASSERT_TRUE(WaitForEligible(1, true)) << GatewayLog();
  ASSERT_TRUE(WaitForEligible(2, false)) << GatewayLog();
  EXPECT_NE(GatewayLog().find("upstream signer-2 not eligible: reports history"), std::string::npos)
      << GatewayLog();

  // The node's key look-ups: the second one is answered by the gateway's cache.
  for (int i = 0; i < 2; ++i) {
    pb::Ed25519PublicKeysRequest request;
    request.set_key_type("gran");
    pb::Ed25519PublicKeysReply reply;
    grpc::ClientContext context;
    ASSERT_TRUE(gateways_[0].node->Ed25519PublicKeys(&context, request, &reply).ok());
    ASSERT_EQ(reply.public_keys_size(), 1);
    EXPECT_EQ(reply.public_keys(0), AsString(support::kAliceEd25519.Bytes()));
  }
  EXPECT_EQ(Metric("gateway_key_cache_lookups_total{result=\"hit\"}"), 1);

  ASSERT_TRUE(SignPrevote(1, 0xa1).ok());
  const grpc::Status conflicting = SignPrevote(1, 0xb2);
  EXPECT_EQ(conflicting.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << conflicting.error_message();

  // With signer-1 gone, the only other signer keeps a separate history: it has never seen round 1,
  // so the gateway must not send it anything, not even the conflicting vote.
  signers_[0].process.reset();
  const grpc::Status after_loss = SignPrevote(1, 0xb2);
  EXPECT_EQ(after_loss.error_code(), grpc::StatusCode::UNAVAILABLE) << after_loss.error_message();
  EXPECT_EQ(Metric("gateway_failovers_total{upstream=\"signer-1\"}"), -1)
      << "no failover may be counted: there was nowhere safe to go";
  const std::string signer2_audit = support::ReadFile(signers_[1].dir / "audit.jsonl");
  EXPECT_EQ(signer2_audit.find("\"sign\""), std::string::npos) << signer2_audit;
}

TEST_F(GatewayE2eTest, ReplicatedSignersFailOverAndStillRefuseTheConflict) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  signers_.reserve(2);
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  ASSERT_TRUE(WaitForEligible(1, true)) << GatewayLog();
  ASSERT_TRUE(WaitForEligible(2, true)) << GatewayLog();

  ASSERT_TRUE(SignPrevote(1, 0xa1).ok());
  // signer-1 (the one serving) dies; the next requests go to signer-2, which shares the history.
  signers_[0].process.reset();
  const grpc::Status next_round = SignPrevote(2, 0xa1);
  EXPECT_TRUE(next_round.ok()) << next_round.error_message() << "\n" << GatewayLog();
  const grpc::Status conflicting = SignPrevote(1, 0xb2);
  EXPECT_EQ(conflicting.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << "signer-2 knows signer-1's round-1 vote through the claims topic: "
      << conflicting.error_message();
  const grpc::Status resign = SignPrevote(1, 0xa1);
  EXPECT_TRUE(resign.ok()) << "the same vote again is an allowed re-sign: "
                           << resign.error_message();
}

// A signer that stops answering while connected (SIGSTOP) would hold a sign request until its
// deadline. With hedging the request also goes to the next signer of the same history after the
// delay, and the node gets that answer; the history still refuses a conflicting vote.
TEST_F(GatewayE2eTest, ASilentSignerIsHedgedToAnotherSignerOfTheSameHistory) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  signers_.reserve(2);
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  // Health is checked at start only, so the silent signer stays eligible (and first) and the
  // request can only be answered by the hedge.
  ASSERT_NO_FATAL_FAILURE(StartGateway(
      false, "health_interval_ms: 60000\nhedge_delay_ms: 50\nhedge_budget_percent: 100\n"));
  ASSERT_TRUE(WaitForEligible(1, true)) << GatewayLog();
  ASSERT_TRUE(WaitForEligible(2, true)) << GatewayLog();
  ASSERT_TRUE(signers_[0].process->Signal(SIGSTOP).ok());
  const grpc::Status hedged = SignPrevote(1, 0xc1);
  EXPECT_TRUE(hedged.ok()) << hedged.error_message() << "\n" << GatewayLog();
  EXPECT_EQ(Metric("gateway_hedges_total{outcome=\"sent\"}"), 1);
  EXPECT_EQ(Metric("gateway_hedges_total{outcome=\"won\"}"), 1);
  const grpc::Status conflicting = SignPrevote(1, 0xc2);
  EXPECT_EQ(conflicting.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << conflicting.error_message();
  ASSERT_TRUE(signers_[0].process->Signal(SIGCONT).ok());
}

// Two nodes of one validator (active and standby), each with its own gateway preferring another
// signer of one replicated set, are told to vote in the same rounds for different blocks at once:
// for every round exactly one of the two votes is signed, never both.
TEST_F(GatewayE2eTest, TwoGatewaysRacingConflictingVotesNeverGetTwoSignaturesForOneRound) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  signers_.reserve(2);
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  gateways_.reserve(2);
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  ASSERT_NO_FATAL_FAILURE(StartGateway(/*reversed=*/true));
  for (size_t gateway = 0; gateway < 2; ++gateway) {
    ASSERT_TRUE(WaitForEligible(1, true, gateway)) << GatewayLog(gateway);
    ASSERT_TRUE(WaitForEligible(2, true, gateway)) << GatewayLog(gateway);
  }
  constexpr uint64_t kRounds = 60;
  std::array<std::vector<grpc::Status>, 2> answers;
  std::vector<std::thread> nodes;
  for (size_t gateway = 0; gateway < 2; ++gateway) {
    nodes.emplace_back([&, gateway] {
      for (uint64_t round = 1; round <= kRounds; ++round) {
        answers[gateway].push_back(SignPrevote(round, gateway == 0 ? 0xa1 : 0xb2, gateway));
      }
    });
  }
  for (std::thread& node : nodes) node.join();
  for (uint64_t round = 1; round <= kRounds; ++round) {
    const grpc::Status& first = answers[0][round - 1];
    const grpc::Status& second = answers[1][round - 1];
    EXPECT_FALSE(first.ok() && second.ok()) << "round " << round << " was signed twice";
    EXPECT_TRUE(first.ok() || second.ok())
        << "round " << round << ": " << first.error_message() << " / " << second.error_message();
    for (const grpc::Status* status : {&first, &second}) {
      if (!status->ok()) {
        EXPECT_EQ(status->error_code(), grpc::StatusCode::FAILED_PRECONDITION)
            << "round " << round << ": " << status->error_message();
      }
    }
  }
}

}  // namespace

// Hot reload: SIGHUP re-reads the file and applies its upstream list. A call already sent to a
// signer the new list drops still finishes with its signature; a file that does not parse, or that
// changes what only a restart can change, is refused with a log line and the pool stays as it was.
class GatewayReloadE2eTest : public GatewayE2eTest {
 protected:
  fs::path ConfigPath() { return gateways_[0].dir / "gateway.yaml"; }
  // WriteUpstreams replaces the upstream list (the file's last section) and sends SIGHUP, then
  // waits for the gateway to log its `count`-th reload outcome (applied or refused).
  std::string Reload(const std::string& upstreams, size_t count) {
    const std::string text = support::ReadFile(ConfigPath());
    EXPECT_TRUE(support::WriteFile(ConfigPath(),
                                   text.substr(0, text.find("upstreams:\n")) + upstreams, 0600)
                    .ok());
    EXPECT_TRUE(gateways_[0].process->Signal(SIGHUP).ok());
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      const std::string log = GatewayLog();
      size_t seen = 0;
      std::string last;
      for (size_t at = 0; (at = FindReload(log, at)) != std::string::npos; ++at, ++seen) {
        last = log.substr(at, log.find('\n', at) - at);
      }
      if (seen >= count) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "no reload logged";
  }
  static size_t FindReload(const std::string& log, size_t from) {
    const size_t applied = log.find("pool reloaded: ", from);
    const size_t refused = log.find("config reload refused", from);
    return std::min(applied, refused);
  }
  std::string SignerEntry(size_t signer) {
    return "  - {name: signer-" + std::to_string(signer + 1) +
           ", address: \"127.0.0.1:" + std::to_string(signers_[signer].port) + "\"}\n";
  }
};

TEST_F(GatewayReloadE2eTest, SighupChangesThePoolWithoutDroppingCallsInFlight) {
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  ASSERT_TRUE(WaitForEligible(1, true)) << GatewayLog();

  // Added: a signer that is not there (nothing listens on port 1) joins, not eligible.
  const std::string ghost = "  - {name: signer-9, address: \"127.0.0.1:1\"}\n";
  EXPECT_NE(Reload("upstreams:\n" + SignerEntry(0) + ghost, 1).find("added signer-9, 1 kept"),
            std::string::npos)
      << GatewayLog();
  ASSERT_TRUE(WaitForEligible(9, false)) << GatewayLog();
  ASSERT_TRUE(SignPrevote(1, 0xa1).ok());

  // A call in flight to signer-1 (stopped, so it cannot answer yet) survives signer-1's removal.
  ASSERT_TRUE(signers_[0].process->Signal(SIGSTOP).ok());
  const std::vector<uint8_t> message =
      slashing::testing::GrandpaMessage(0, slashing::testing::FilledHash(0xa2), 10, 2, 0);
  pb::SignWithRequest request;
  request.set_key_type("gran");
  request.set_crypto_type("ed25519");
  request.set_public_key(AsString(support::kAliceEd25519.Bytes()));
  request.set_message(AsString(message));
  pb::SignWithReply reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  std::promise<grpc::Status> done;
  gateways_[0].node->async()->SignWith(
      &context, &request, &reply, [&done](const grpc::Status& status) { done.set_value(status); });
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Metric("gateway_requests_in_flight") != 1 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(Metric("gateway_requests_in_flight"), 1);
  EXPECT_NE(Reload("upstreams:\n" + ghost, 2).find("removed signer-1"), std::string::npos)
      << GatewayLog();
  ASSERT_TRUE(signers_[0].process->Signal(SIGCONT).ok());
  std::future<grpc::Status> answered = done.get_future();
  ASSERT_EQ(answered.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const grpc::Status in_flight = answered.get();
  ASSERT_TRUE(in_flight.ok()) << in_flight.error_message() << "\n" << GatewayLog();
  const std::string& signature = reply.signature().signature();
  EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kEd25519, support::kAliceEd25519.Bytes(),
                                      message,
                                      std::vector<uint8_t>(signature.begin(), signature.end())));
  // From now on nothing goes to signer-1: the pool holds only the ghost.
  EXPECT_EQ(SignPrevote(3, 0xa1).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Metric("gateway_upstream_eligible{upstream=\"signer-1\"}"), 0);

  // Refused whole: a file with an unknown field, and one that moves the node's socket.
  EXPECT_NE(Reload("upstreams:\n" + SignerEntry(0) + "  - {name: x, adress: \"a:1\"}\n", 3)
                .find("config reload refused, keeping the current pool: unknown field"),
            std::string::npos)
      << GatewayLog();
  const std::string text = support::ReadFile(ConfigPath());
  const std::string socket_line = "keystore.sock}";
  std::string moved = text;
  moved.replace(moved.find(socket_line), socket_line.size(), "elsewhere.sock}");
  ASSERT_TRUE(support::WriteFile(ConfigPath(), moved, 0600).ok());
  EXPECT_NE(Reload("upstreams:\n" + ghost, 4).find("listen changed"), std::string::npos)
      << GatewayLog();
  EXPECT_EQ(SignPrevote(3, 0xa1).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the refused files did not bring signer-1 back";

  // A good file again: signer-1 back, the ghost gone; round 2 is still its record.
  ASSERT_TRUE(support::WriteFile(ConfigPath(), text, 0600).ok());
  EXPECT_NE(Reload("upstreams:\n" + SignerEntry(0), 5).find("added signer-1, removed signer-9"),
            std::string::npos)
      << GatewayLog();
  ASSERT_TRUE(WaitForEligible(1, true)) << GatewayLog();
  EXPECT_TRUE(SignPrevote(3, 0xa1).ok());
  EXPECT_EQ(SignPrevote(2, 0xb2).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

// log_format: json: every line the gateway writes is one JSON object.
TEST_F(GatewayE2eTest, JsonLogsAreOneObjectPerLine) {
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(StartGateway(false, "log_format: json\n"));
  ASSERT_TRUE(WaitForEligible(1, true)) << GatewayLog();
  ASSERT_TRUE(gateways_[0].process->Signal(SIGTERM).ok());
  gateways_[0].process->Wait();
  const std::string log = GatewayLog();
  size_t lines = 0;
  bool saw_eligible = false;
  for (size_t at = 0, end = 0; at < log.size(); at = end + 1) {
    end = log.find('\n', at);
    ASSERT_NE(end, std::string::npos) << "every line ends with a newline";
    const nlohmann::json line = nlohmann::json::parse(log.substr(at, end - at), nullptr, false);
    ASSERT_TRUE(line.is_object()) << log.substr(at, end - at);
    EXPECT_TRUE(line["time"].is_string());
    EXPECT_TRUE(line["level"] == "info" || line["level"] == "warning" || line["level"] == "error");
    EXPECT_EQ(line["component"], "signer-gateway");
    saw_eligible = saw_eligible || line["message"] == "upstream signer-1 eligible";
    ++lines;
  }
  EXPECT_GE(lines, 3u) << log;
  EXPECT_TRUE(saw_eligible) << log;
}

// A dialed-in signer is a pool member like any other: with a replicated signer that the gateway
// calls and one that dials in (same claims topic), the node's votes fail over from the one to the
// other when the first dies, and the dialed-in signer still refuses the dead one's conflict.
TEST_F(GatewayE2eTest, ADialedInSignerTakesOverInAReplicatedPool) {
  // The uplink has its own PKI: the gateway's server certificate named "gateway" (the identity
  // the signers' policy grants) and the dialing signer's client certificate.
  tls::DevPkiOptions uplink_pki;
  uplink_pki.directory = dir_.path() / "uplink-pki";
  uplink_pki.client_identities = {"signer-2"};
  uplink_pki.server_names = {"gateway"};
  ASSERT_TRUE(tls::CreateDevPki(uplink_pki).ok());
  const fs::path pki = uplink_pki.directory;
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  signers_.reserve(2);
  ASSERT_NO_FATAL_FAILURE(AddSigner());
  ASSERT_NO_FATAL_FAILURE(StartGateway(
      false,
      "uplink_listen: \"127.0.0.1:0\"\nuplink_keepalive_ms: 1000\nuplink_tls: {cert: " +
          (pki / "server.crt").string() + ", key: " + (pki / "server.key").string() +
          ", client_ca: " + (pki / "ca.crt").string() + "}\n",
      "  - {name: signer-2, dial_in: true, identity: signer-2}\n"));
  const std::optional<std::string> uplink = gateways_[0].process->ReadLine(std::chrono::seconds(5));
  const std::string prefix = "signer-gateway uplink on 127.0.0.1:";
  ASSERT_TRUE(uplink && uplink->starts_with(prefix)) << uplink.value_or("nothing");
  ASSERT_NO_FATAL_FAILURE(AddSigner(
      "  uplink:\n    gateway: \"127.0.0.1:" + uplink->substr(prefix.size()) +
      "\"\n    server_name: gateway\n    ca_file: " + (pki / "ca.crt").string() +
      "\n    cert_file: " + (pki / "signer-2.crt").string() + "\n    key_file: " +
      (pki / "signer-2.key").string() + "\n    keepalive_ms: 1000\n    min_backoff_ms: 100\n"));
  ASSERT_TRUE(WaitForEligible(1, true)) << GatewayLog();
  ASSERT_TRUE(WaitForEligible(2, true)) << GatewayLog();

  ASSERT_TRUE(SignPrevote(1, 0xa1).ok());
  signers_[0].process.reset();
  const grpc::Status next_round = SignPrevote(2, 0xa1);
  EXPECT_TRUE(next_round.ok()) << next_round.error_message() << "\n" << GatewayLog();
  const grpc::Status conflicting = SignPrevote(1, 0xb2);
  EXPECT_EQ(conflicting.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << conflicting.error_message();
  EXPECT_TRUE(SignPrevote(1, 0xa1).ok()) << "the same vote again is an allowed re-sign";
  // Those three went over signer-2's own stream: its audit log has them, for the gateway.
  const std::string audit = support::ReadFile(signers_[1].dir / "audit.jsonl");
  EXPECT_NE(audit.find("\"identity\":\"gateway\""), std::string::npos) << audit;
}
