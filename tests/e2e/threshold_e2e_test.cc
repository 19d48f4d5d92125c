// Threshold signing with real keyagentd processes behind a signerd coordinator: t-of-n keys sign
// while agents die, cheating agents are named, and no set of agents can be made to equivocate.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "key_agent.grpc.pb.h"
#include "keymgr/frost.h"
#include "keymgr/keypair.h"
#include "remote_keystore.grpc.pb.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"
#include "test_payloads.h"
#include "threshold_processes.h"
#include "tls/credentials.h"
#include "tls/grpc_credentials.h"

namespace {

namespace fs = std::filesystem;
namespace frost = keymgr::frost;
namespace pb = parity::polkadot::signer;
namespace agentpb = keyagent::v1;
using slashing::testing::FilledHash;
using slashing::testing::GrandpaMessage;

constexpr char kGenesis[] = "dede000000000000000000000000000000000000000000000000000000000012";

std::string AsString(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}
std::vector<uint8_t> AsBytes(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::vector<uint8_t> Prevote(uint64_t round, uint8_t target) {
  return GrandpaMessage(0, FilledHash(target), 100, round, 1);
}

// CorruptingProxy stands where an agent should be: it forwards every call to a real agent and, for
// SignShare, flips one bit of the share it returns, as a compromised agent would.
class CorruptingProxy final : public agentpb::KeyAgent::Service {
 public:
  explicit CorruptingProxy(std::unique_ptr<agentpb::KeyAgent::Stub> upstream)
      : upstream_(std::move(upstream)) {}

  grpc::Status Commit(grpc::ServerContext* /*context*/, const agentpb::CommitRequest* request,
                      agentpb::CommitReply* reply) override {
    grpc::ClientContext context;
    return upstream_->Commit(&context, *request, reply);
  }
  grpc::Status SignShare(grpc::ServerContext* /*context*/, const agentpb::SignShareRequest* request,
                         agentpb::SignShareReply* reply) override {
    grpc::ClientContext context;
    grpc::Status status = upstream_->SignShare(&context, *request, reply);
    if (status.ok() && reply->signature_share().size() == 64) {
      (*reply->mutable_signature_share())[40] ^= 0x01;
      ++corrupted_;
    }
    return status;
  }
  grpc::Status ImportShare(grpc::ServerContext* /*context*/,
                           const agentpb::ImportShareRequest* request,
                           agentpb::ImportShareReply* reply) override {
    grpc::ClientContext context;
    return upstream_->ImportShare(&context, *request, reply);
  }
  grpc::Status ListShares(grpc::ServerContext* /*context*/,
                          const agentpb::ListSharesRequest* request,
                          agentpb::ListSharesReply* reply) override {
    grpc::ClientContext context;
    return upstream_->ListShares(&context, *request, reply);
  }

  int corrupted() const { return corrupted_.load(); }

 private:
  std::unique_ptr<agentpb::KeyAgent::Stub> upstream_;
  std::atomic<int> corrupted_{0};
};

class ThresholdE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(support::MakeDevPki(dir_.path() / "pki", {"validator", "coordinator"}).ok());
    const std::string keys = "[\"" + std::string(support::kAliceEd25519.hex()) + "\", \"" +
                             std::string(support::kAliceSr25519.hex()) + "\"]";
    // The agents serve the coordinator only; the node reaches the coordinator only.
    ASSERT_TRUE(support::WriteFile(dir_.path() / "agent-policy.yaml",
                                   "identities:\n  coordinator:\n"
                                   "    - {key_types: [gran, para], operations: [sign, insert, "
                                   "list], public_keys: " +
                                       keys + "}\n",
                                   0600)
                    .ok());
    ASSERT_TRUE(support::WriteFile(dir_.path() / "node-policy.yaml",
                                   "identities:\n  validator:\n"
                                   "    - {key_types: [gran, para], operations: [sign, list], "
                                   "public_keys: " +
                                       keys + "}\n",
                                   0600)
                    .ok());
  }

  void TearDown() override {
    if (proxy_server_) proxy_server_->Shutdown();
    processes_.reset();
    if (HasFailure()) {
      std::cerr << "kept for inspection: " << dir_.path() << "\n";
      dir_.Keep();
    }
  }

  // StartAgents makes and starts `count` agents, each with its own token, history and audit log.
  void StartAgents(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const base::Status added = processes_->AddAgent("agent-" + std::to_string(i + 1));
      ASSERT_TRUE(added.ok()) << added.message();
      StartAgent(i);
    }
  }

  // StartAgent (re)starts agent i; a restart keeps the port the coordinator knows.
  void StartAgent(size_t i) {
    const base::Status started = processes_->StartAgent(i);
    ASSERT_TRUE(started.ok()) << started.message();
  }

  void KillAgent(size_t i) { processes_->StopAgent(i, SIGKILL); }

  void WriteCoordinatorConfig(const std::map<size_t, int>& override_port = {}) {
    const base::Status written = processes_->WriteCoordinatorConfig(override_port);
    ASSERT_TRUE(written.ok()) << written.message();
  }

  // Split runs `signerctl threshold split` for //Alice's key of `key_type`.
  support::ProcessResult Split(const std::string& key_type, int threshold) {
    support::ProcessOptions options;
    options.set_env = {"SIGNER_SURI=//Alice"};
    return support::ResultOrStartFailure(
        support::RunProcess({support::Location("signerctl"), "threshold", "split", "--config",
                             processes_->coordinator_config().string(), "--type", key_type,
                             "--threshold", std::to_string(threshold)},
                            options));
  }

  void StartCoordinator() {
    const base::Status started = processes_->StartCoordinator();
    ASSERT_TRUE(started.ok()) << started.message();
    node_ = processes_->NodeStub("validator");
    ASSERT_NE(node_, nullptr);
  }

  // SignWith asks the coordinator, as the node would, and verifies any signature it returns.
  grpc::Status SignWith(const std::string& key_type, base::Scheme scheme,
                        const std::vector<uint8_t>& message,
                        std::vector<uint8_t>* signature_out = nullptr) {
    const support::WellKnownKey& key =
        scheme == base::Scheme::kEd25519 ? support::kAliceEd25519 : support::kAliceSr25519;
    pb::SignWithRequest request;
    request.set_key_type(key_type);
    request.set_crypto_type(scheme == base::Scheme::kEd25519 ? "ed25519" : "sr25519");
    request.set_public_key(AsString(key.Bytes()));
    request.set_message(AsString(message));
    pb::SignWithReply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = node_->SignWith(&context, request, &reply);
    if (status.ok()) {
      const std::vector<uint8_t> signature = AsBytes(reply.signature().signature());
      EXPECT_TRUE(keymgr::VerifySignature(scheme, key.Bytes(), message, signature))
          << "the aggregate does not verify as an ordinary signature";
      if (signature_out) *signature_out = signature;
    }
    return status;
  }

  std::unique_ptr<agentpb::KeyAgent::Stub> AgentStub(int port) {
    return processes_->AgentStub(port, "coordinator");
  }

  // DirectStub is the test's own channel to agent i, as the coordinator's identity, kept for the
  // whole test (a restarted agent keeps its port, and the channel reconnects).
  agentpb::KeyAgent::Stub& DirectStub(size_t i) {
    std::unique_ptr<agentpb::KeyAgent::Stub>& stub = direct_stubs_[agents_[i].port];
    if (!stub) stub = AgentStub(agents_[i].port);
    return *stub;
  }

  // Direct calls wait for the agent to be connected (it may just have been restarted), bounded.
  static void DirectDeadline(grpc::ClientContext& context) {
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

  // DirectAttempt is what a compromised coordinator can do: talk to agents of its choice directly
  // and try to aggregate a GRANDPA vote from their shares. Returns the signature if every agent
  // of `set` gave a share and they aggregate; each agent's status goes to `statuses`.
  std::optional<std::vector<uint8_t>> DirectAttempt(const std::vector<size_t>& set,
                                                    const std::vector<uint8_t>& message,
                                                    std::vector<grpc::Status>* statuses) {
    agentpb::ThresholdKey key;
    key.set_key_type("gran");
    key.set_group_public_key(AsString(support::kAliceEd25519.Bytes()));
    if (gran_public_package_.empty()) {
      agentpb::ListSharesReply listed;
      grpc::ClientContext context;
      DirectDeadline(context);
      EXPECT_TRUE(
          DirectStub(set[0]).ListShares(&context, agentpb::ListSharesRequest(), &listed).ok());
      for (const auto& share : listed.shares()) {
        if (share.key_type() == "gran") gran_public_package_ = share.public_key_package();
      }
    }
    std::vector<frost::SigningCommitments> commitments;
    for (size_t i : set) {
      agentpb::CommitRequest request;
      *request.mutable_key() = key;
      agentpb::CommitReply reply;
      grpc::ClientContext context;
      DirectDeadline(context);
      const grpc::Status committed = DirectStub(i).Commit(&context, request, &reply);
      EXPECT_TRUE(committed.ok()) << committed.error_message();
      if (reply.commitments_size() != 1) return std::nullopt;
      auto decoded =
          frost::SigningCommitments::Decode(frost::Suite::kEd25519, AsBytes(reply.commitments(0)));
      EXPECT_TRUE(decoded.ok());
      commitments.push_back(*decoded);
    }
    auto list = frost::MakeCommitmentList(commitments);
    EXPECT_TRUE(list.ok());
    const std::string encoded = AsString(frost::EncodeCommitmentList(*list));
    std::vector<frost::SignatureShare> shares;
    for (size_t i : set) {
      agentpb::SignShareRequest request;
      *request.mutable_key() = key;
      request.set_message(AsString(message));
      request.set_commitment_list(encoded);
      agentpb::SignShareReply reply;
      grpc::ClientContext context;
      DirectDeadline(context);
      statuses->push_back(DirectStub(i).SignShare(&context, request, &reply));
      if (statuses->back().ok()) {
        shares.push_back(*frost::SignatureShare::Decode(AsBytes(reply.signature_share())));
      }
    }
    if (shares.size() != set.size()) return std::nullopt;
    auto package = frost::PublicKeyPackage::Parse(AsBytes(gran_public_package_));
    EXPECT_TRUE(package.ok());
    auto signature = frost::Aggregate(*package, message, *list, shares);
    if (!signature.ok()) return std::nullopt;
    return std::vector<uint8_t>(signature->begin(), signature->end());
  }

  // AgentEvents reads the coordinator's count of `event` for `agent` from its /metrics page.
  double AgentEvents(const std::string& agent, const std::string& event) {
    const std::string page = support::HttpBody(
        support::HttpRequest(processes_->coordinator_metrics_port(), "GET", "/metrics"));
    return support::PrometheusSample(page, "signer_threshold_agent_events_total{agent=\"" + agent +
                                               "\",event=\"" + event + "\"}")
        .value_or(-1);
  }

  std::string CoordinatorLog() { return processes_->CoordinatorLog(); }

  support::TempDir dir_{"threshold-e2e"};
  std::optional<e2e::ThresholdProcesses> processes_{std::in_place, dir_.path(), kGenesis};
  std::vector<e2e::ThresholdProcesses::Agent>& agents_ = processes_->agents();
  std::unique_ptr<pb::RemoteKeystore::Stub> node_;
  std::unique_ptr<grpc::Server> proxy_server_;
  std::map<int, std::unique_ptr<agentpb::KeyAgent::Stub>> direct_stubs_;  // by agent port
  std::string gran_public_package_;
};

TEST_F(ThresholdE2eTest, TwoOfThreeSignsOrdinarySignaturesAndNeedsTwoAgents) {
  StartAgents(3);
  WriteCoordinatorConfig();
  const support::ProcessResult gran = Split("gran", 2);
  ASSERT_EQ(gran.exit_code, 0) << gran.Describe();
  EXPECT_NE(gran.out.find("\"2-of-3, tolerates 0 compromised agents\""), std::string::npos)
      << gran.out;
  EXPECT_NE(gran.out.find(support::kAliceEd25519.hex()), std::string::npos)
      << "the split keeps the key's public key";
  const support::ProcessResult para = Split("para", 2);
  ASSERT_EQ(para.exit_code, 0) << para.Describe();
  // Keys that cannot be thresholded, and an unsafe threshold, are refused before anything moves.
  EXPECT_EQ(Split("babe", 2).exit_code, 2);
  EXPECT_EQ(Split("beef", 2).exit_code, 2);
  EXPECT_EQ(Split("audi", 1).exit_code, 2);
  StartCoordinator();

  EXPECT_TRUE(SignWith("gran", base::Scheme::kEd25519, Prevote(1, 0x11)).ok()) << CoordinatorLog();
  EXPECT_TRUE(SignWith("para", base::Scheme::kSr25519,
                       slashing::testing::BackingStatement(1, FilledHash(0x21), 3))
                  .ok())
      << CoordinatorLog();
  // The coordinator's own history refuses the equivocation first; the agents would too.
  EXPECT_EQ(SignWith("gran", base::Scheme::kEd25519, Prevote(1, 0x12)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  KillAgent(0);
  EXPECT_TRUE(SignWith("gran", base::Scheme::kEd25519, Prevote(2, 0x11)).ok()) << CoordinatorLog();
  KillAgent(1);
  const grpc::Status alone = SignWith("gran", base::Scheme::kEd25519, Prevote(3, 0x11));
  EXPECT_EQ(alone.error_code(), grpc::StatusCode::UNAVAILABLE) << alone.error_message();

  // The agents come back with their shares (wrapped on their tokens) and their histories.
  StartAgent(0);
  StartAgent(1);
  const grpc::Status back = SignWith("gran", base::Scheme::kEd25519, Prevote(4, 0x11));
  EXPECT_TRUE(back.ok()) << back.error_message();
  const support::ProcessResult listed = support::ResultOrStartFailure(
      support::RunProcess({support::Location("signerctl"), "threshold", "list", "--config",
                           processes_->coordinator_config().string()}));
  ASSERT_EQ(listed.exit_code, 0) << listed.Describe();
  EXPECT_NE(listed.out.find("\"agents_agree\":true"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find("\"agents_agree\":false"), std::string::npos) << listed.out;
}

TEST_F(ThresholdE2eTest, ThreeOfFiveSignsWithTwoAgentsDown) {
  StartAgents(5);
  WriteCoordinatorConfig();
  const support::ProcessResult split = Split("gran", 3);
  ASSERT_EQ(split.exit_code, 0) << split.Describe();
  EXPECT_NE(split.out.find("\"3-of-5, tolerates 0 compromised agents\""), std::string::npos);
  StartCoordinator();
  EXPECT_TRUE(SignWith("gran", base::Scheme::kEd25519, Prevote(1, 0x31)).ok()) << CoordinatorLog();
  KillAgent(1);
  KillAgent(3);
  for (uint64_t round = 2; round < 6; ++round) {
    EXPECT_TRUE(SignWith("gran", base::Scheme::kEd25519, Prevote(round, 0x31)).ok())
        << CoordinatorLog();
  }
  KillAgent(4);
  EXPECT_EQ(SignWith("gran", base::Scheme::kEd25519, Prevote(6, 0x31)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// A compromised coordinator talks to the agents directly. Once a vote is signed by any two of
// three agents, every other pair contains one of them, and that agent refuses the conflicting
// vote: no aggregate of it can be made.
TEST_F(ThresholdE2eTest, NoSetOfAgentsSignsAConflictingVote) {
  StartAgents(3);
  WriteCoordinatorConfig();
  ASSERT_EQ(Split("gran", 2).exit_code, 0);
  const std::vector<uint8_t> vote = Prevote(7, 0x41);
  const std::vector<uint8_t> conflicting = Prevote(7, 0x42);
  std::vector<grpc::Status> statuses;
  std::optional<std::vector<uint8_t>> signed_vote = DirectAttempt({0, 1}, vote, &statuses);
  ASSERT_TRUE(signed_vote.has_value());
  EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kEd25519, support::kAliceEd25519.Bytes(), vote,
                                      *signed_vote));
  for (const std::vector<size_t>& set : std::vector<std::vector<size_t>>{{0, 1}, {0, 2}, {1, 2}}) {
    statuses.clear();
    EXPECT_FALSE(DirectAttempt(set, conflicting, &statuses).has_value());
    int refused = 0;
    for (const grpc::Status& status : statuses) {
      if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) ++refused;
    }
    EXPECT_GE(refused, 1) << "agents " << set[0] + 1 << " and " << set[1] + 1;
  }
  // Through an honest coordinator the same: its own history is empty (it never saw round 7), so
  // the refusal comes from the agents.
  StartCoordinator();
  const grpc::Status refused = SignWith("gran", base::Scheme::kEd25519, conflicting);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << refused.error_message();
  EXPECT_NE(refused.error_message().find("refused"), std::string::npos);
  EXPECT_NE(support::ReadFile(processes_->coordinator_dir() / "audit.jsonl")
                .find("refused_by_key_agents"),
            std::string::npos);
  EXPECT_NE(support::ReadFile(agents_[0].dir / "audit.jsonl").find("refused_grandpa_equivocation"),
            std::string::npos);
}

// An agent whose shares are wrong is named by FROST's per-share check; with t honest agents left
// the signature completes without it.
TEST_F(ThresholdE2eTest, ACorruptedShareIsIdentifiedAndSigningCompletesWithoutIt) {
  StartAgents(3);
  // Agent 3 is reached through a proxy that corrupts its shares.
  auto server_credentials =
      tls::ReloadableServerCredentials::Create(support::DevPkiServerFiles(dir_.path() / "pki"));
  ASSERT_TRUE(server_credentials.ok());
  CorruptingProxy proxy(AgentStub(agents_[2].port));
  int proxy_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", (*server_credentials)->GrpcCredentials(), &proxy_port);
  builder.RegisterService(&proxy);
  proxy_server_ = builder.BuildAndStart();
  ASSERT_NE(proxy_port, 0);
  WriteCoordinatorConfig({{2, proxy_port}});
  ASSERT_EQ(Split("gran", 2).exit_code, 0);
  StartCoordinator();

  // With agent 1 down, the coordinator must use agents 2 and 3: agent 3's share is found invalid,
  // and one honest agent is not enough.
  KillAgent(0);
  const grpc::Status failed = SignWith("gran", base::Scheme::kEd25519, Prevote(1, 0x51));
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE) << failed.error_message();
  EXPECT_NE(failed.error_message().find("agent-3: invalid signature share"), std::string::npos)
      << failed.error_message();
  EXPECT_EQ(proxy.corrupted(), 1);
  EXPECT_EQ(AgentEvents("agent-3", "invalid_shares"), 1);
  EXPECT_EQ(AgentEvents("agent-2", "invalid_shares"), 0);
  EXPECT_NE(CoordinatorLog().find("event=invalid_signature_share agent=agent-3"),
            std::string::npos);
  // With agent 1 back, every signature completes, whichever pair the coordinator tries first.
  StartAgent(0);
  for (uint64_t round = 2; round < 8; ++round) {
    EXPECT_TRUE(SignWith("gran", base::Scheme::kEd25519, Prevote(round, 0x51)).ok())
        << CoordinatorLog();
  }
}

// Agents are killed and restarted at random while the coordinator signs. Every signature that
// comes back verifies, no two share a nonce commitment R (a reused nonce pair would reveal the
// share), and afterwards no set of agents signs a conflicting vote for any signed round.
TEST_F(ThresholdE2eTest, KillStormReusesNoNonceAndSignsNoEquivocation) {
  StartAgents(3);
  WriteCoordinatorConfig();
  ASSERT_EQ(Split("gran", 2).exit_code, 0);
  StartCoordinator();
  std::atomic<bool> stop{false};
  std::thread storm([&] {
    std::mt19937 random(20261205);
    int kills = 0;
    while (!stop.load() || kills < 3) {
      const size_t victim = random() % agents_.size();
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 200));
      KillAgent(victim);
      ++kills;
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 100));
      StartAgent(victim);
    }
  });
  std::set<std::string> nonce_commitments;
  std::vector<uint64_t> signed_rounds;
  for (uint64_t round = 1; round <= 60; ++round) {
    std::vector<uint8_t> signature;
    const grpc::Status status =
        SignWith("gran", base::Scheme::kEd25519, Prevote(round, 0x61), &signature);
    if (!status.ok()) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
      continue;
    }
    signed_rounds.push_back(round);
    EXPECT_TRUE(nonce_commitments.insert(AsString(std::span(signature).first(32))).second)
        << "round " << round << " reused a group nonce commitment";
  }
  stop = true;
  storm.join();
  EXPECT_GE(signed_rounds.size(), 10u) << CoordinatorLog();
  for (size_t i = 0; i < agents_.size(); ++i) {
    if (!agents_[i].process) StartAgent(i);
  }
  for (uint64_t round : signed_rounds) {
    for (const std::vector<size_t>& set :
         std::vector<std::vector<size_t>>{{0, 1}, {0, 2}, {1, 2}}) {
      std::vector<grpc::Status> statuses;
      EXPECT_FALSE(DirectAttempt(set, Prevote(round, 0x62), &statuses).has_value())
          << "round " << round;
    }
  }
}

}  // namespace
