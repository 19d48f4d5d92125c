// Distributed key generation between real keyagentd processes: keys made by `signerctl threshold
// create` sign through a signerd coordinator, and a lying coordinator or an impostor peer fails it.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/hex.h"
#include "key_agent.grpc.pb.h"
#include "keymgr/frost.h"
#include "keymgr/keypair.h"
#include "remote_keystore.grpc.pb.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "test_payloads.h"
#include "threshold_processes.h"

namespace {

namespace fs = std::filesystem;
namespace frost = keymgr::frost;
namespace pb = parity::polkadot::signer;
namespace agentpb = keyagent::v1;
using slashing::testing::FilledHash;
using slashing::testing::GrandpaMessage;

constexpr char kGenesis[] = "dede000000000000000000000000000000000000000000000000000000000013";
constexpr size_t kMaxAgents = 5;

std::string AsString(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}
std::vector<uint8_t> AsBytes(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::vector<uint8_t> Prevote(uint64_t round, uint8_t target) {
  return GrandpaMessage(0, FilledHash(target), 100, round, 1);
}

std::string AgentName(size_t i) { return "agent-" + std::to_string(i + 1); }

// GeneratedKey is what `signerctl threshold create` printed about a key.
struct GeneratedKey {
  std::string key_type;
  std::vector<uint8_t> public_key;
  std::string hex_0x;
};

class ThresholdDkgE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> identities = {"validator", "coordinator", "intruder"};
    for (size_t i = 0; i < kMaxAgents; ++i) identities.push_back(AgentName(i));
    ASSERT_TRUE(support::MakeDevPki(dir_.path() / "pki", identities).ok());
    WritePolicies();
  }

  void TearDown() override {
    processes_.reset();
    if (HasFailure()) {
      std::cerr << "kept for inspection: " << dir_.path() << "\n";
      dir_.Keep();
    }
  }

  // WritePolicies writes the agents' policy (the coordinator may generate and list, and sign with
  // `keys`; every agent may deliver DKG shares, i.e. generate) and the node's policy on the
  // coordinator (sign with `keys`).
  void WritePolicies(const std::vector<GeneratedKey>& keys = {}) {
    std::string agent_policy =
        "identities:\n  coordinator:\n"
        "    - {key_types: [gran, para], operations: [generate, list]}\n";
    std::string node_policy = "identities:\n  validator:\n";
    for (const GeneratedKey& key : keys) {
      agent_policy += "    - {key_types: [" + key.key_type +
                      "], operations: [sign], public_keys: [\"" + key.hex_0x + "\"]}\n";
      node_policy += "    - {key_types: [" + key.key_type +
                     "], operations: [sign, list], public_keys: [\"" + key.hex_0x + "\"]}\n";
    }
    if (keys.empty()) node_policy += "    - {key_types: [gran], operations: [list]}\n";
    for (size_t i = 0; i < kMaxAgents; ++i) {
      agent_policy +=
          "  " + AgentName(i) + ":\n    - {key_types: [gran, para], operations: [generate]}\n";
    }
    ASSERT_TRUE(support::WriteFile(dir_.path() / "agent-policy.yaml", agent_policy, 0600).ok());
    ASSERT_TRUE(support::WriteFile(dir_.path() / "node-policy.yaml", node_policy, 0600).ok());
  }

  // StartAgents makes `count` agents, each with its own token, history and audit log, and a
  // threshold section naming every other agent as its peer. An agent's port is known only once it
  // runs, so each starts once without peers and then again with them, on the same port.
  void StartAgents(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const base::Status added = processes_->AddAgent(AgentName(i));
      ASSERT_TRUE(added.ok()) << added.message();
      ASSERT_NO_FATAL_FAILURE(StartAgent(i));
    }
    for (size_t i = 0; i < count; ++i) {
      std::vector<size_t> peers;
      for (size_t j = 0; j < count; ++j) {
        if (j != i) peers.push_back(j);
      }
      agents_[i].peers = peers;
      ASSERT_NO_FATAL_FAILURE(RestartAgent(i));
    }
  }

  void RestartAgent(size_t i) {
    processes_->StopAgent(i, SIGTERM);
    StartAgent(i);
  }

  // StartAgent starts agent i with its current peers; a restart keeps the port its peers know.
  void StartAgent(size_t i) {
    const base::Status started = processes_->StartAgent(i);
    ASSERT_TRUE(started.ok()) << started.message();
  }

  void KillAgent(size_t i) { processes_->StopAgent(i, SIGKILL); }

  fs::path CoordinatorConfig() const { return processes_->coordinator_config(); }

  // WriteCoordinatorConfig writes signerd's configuration: an empty token of its own, and a
  // threshold section naming every agent in order (identifiers 1..n).
  void WriteCoordinatorConfig() {
    const base::Status written = processes_->WriteCoordinatorConfig();
    ASSERT_TRUE(written.ok()) << written.message();
  }

  support::ProcessResult Signerctl(const std::vector<std::string>& arguments) {
    std::vector<std::string> argv = {support::Location("signerctl")};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return support::ResultOrStartFailure(support::RunProcess(argv));
  }

  // Create runs `signerctl threshold create` and checks what it printed: t-of-n, a verifying share
  // per agent in config order, and a group key that the agents agree on.
  std::optional<GeneratedKey> Create(const std::string& key_type, int threshold) {
    const support::ProcessResult run =
        Signerctl({"threshold", "create", "--config", CoordinatorConfig().string(), "--type",
                   key_type, "--threshold", std::to_string(threshold)});
    EXPECT_EQ(run.exit_code, 0) << run.Describe();
    if (run.exit_code != 0) return std::nullopt;
    const nlohmann::json printed = run.Json();
    EXPECT_FALSE(printed.is_discarded()) << run.out;
    if (printed.is_discarded()) return std::nullopt;
    EXPECT_EQ(printed["key_type"], key_type);
    EXPECT_EQ(printed["generated"], true);
    EXPECT_EQ(printed["threshold"].get<std::string>().rfind(
                  std::to_string(threshold) + "-of-" + std::to_string(agents_.size()), 0),
              0u)
        << run.out;
    EXPECT_EQ(printed["agents"].size(), agents_.size());
    std::set<std::string> verifying_shares;
    for (size_t i = 0; i < printed["agents"].size(); ++i) {
      EXPECT_EQ(printed["agents"][i]["agent"], agents_[i].name);
      EXPECT_EQ(printed["agents"][i]["identifier"], i + 1);
      verifying_shares.insert(printed["agents"][i]["verifying_share"].get<std::string>());
    }
    EXPECT_EQ(verifying_shares.size(), agents_.size());
    GeneratedKey key;
    key.key_type = key_type;
    key.hex_0x = printed["public_key"].get<std::string>();
    auto bytes = base::HexDecode(std::string_view(key.hex_0x).substr(2));
    EXPECT_TRUE(bytes.ok() && bytes->size() == 32) << key.hex_0x;
    if (!bytes.ok()) return std::nullopt;
    key.public_key = *bytes;
    return key;
  }

  void StartCoordinator() {
    const base::Status started = processes_->StartCoordinator();
    ASSERT_TRUE(started.ok()) << started.message();
    node_ = processes_->NodeStub("validator");
    ASSERT_NE(node_, nullptr);
  }

  // SignWith asks the coordinator, as the node would, and checks any signature it returns as an
  // ordinary signature under the generated group key.
  grpc::Status SignWith(const GeneratedKey& key, base::Scheme scheme,
                        const std::vector<uint8_t>& message) {
    pb::SignWithRequest request;
    request.set_key_type(key.key_type);
    request.set_crypto_type(scheme == base::Scheme::kEd25519 ? "ed25519" : "sr25519");
    request.set_public_key(AsString(key.public_key));
    request.set_message(AsString(message));
    pb::SignWithReply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = node_->SignWith(&context, request, &reply);
    if (status.ok()) {
      EXPECT_TRUE(keymgr::VerifySignature(scheme, key.public_key, message,
                                          AsBytes(reply.signature().signature())))
          << "the aggregate does not verify as an ordinary signature under the group key";
    }
    return status;
  }

  // AgentStub calls agent i with `identity`'s client certificate.
  std::unique_ptr<agentpb::KeyAgent::Stub> AgentStub(size_t i, const std::string& identity) {
    return processes_->AgentStub(agents_[i].port, identity);
  }

  // The steps of a DKG run as a coordinator (here: the test, with the coordinator's certificate)
  // drives them, each on one agent.
  static std::string NewSessionId(uint8_t tag) { return std::string(16, static_cast<char>(tag)); }

  grpc::Status Round1(size_t i, const std::string& session, const std::string& key_type,
                      uint32_t threshold, std::string* package_out) {
    agentpb::DkgRound1Request request;
    request.set_session_id(session);
    request.set_key_type(key_type);
    request.set_min_signers(threshold);
    for (size_t j = 0; j < agents_.size(); ++j) {
      agentpb::DkgParticipant* participant = request.add_participants();
      participant->set_identifier(static_cast<uint32_t>(j + 1));
      participant->set_name(agents_[j].name);
    }
    agentpb::DkgRound1Reply reply;
    grpc::ClientContext context;
    grpc::Status status = AgentStub(i, "coordinator")->DkgRound1(&context, request, &reply);
    if (package_out) *package_out = reply.round1_package();
    return status;
  }

  grpc::Status Round2(size_t i, const std::string& session,
                      const std::vector<std::string>& packages) {
    agentpb::DkgRound2Request request;
    request.set_session_id(session);
    for (const std::string& package : packages) request.add_round1_packages(package);
    agentpb::DkgRound2Reply reply;
    grpc::ClientContext context;
    return AgentStub(i, "coordinator")->DkgRound2(&context, request, &reply);
  }

  grpc::Status Finalize(size_t i, const std::string& session, std::string* package_out) {
    agentpb::DkgFinalizeRequest request;
    request.set_session_id(session);
    agentpb::DkgFinalizeReply reply;
    grpc::ClientContext context;
    grpc::Status status = AgentStub(i, "coordinator")->DkgFinalize(&context, request, &reply);
    if (package_out) *package_out = reply.public_key_package();
    return status;
  }

  grpc::Status Deliver(size_t i, const std::string& identity, const std::string& session,
                       const frost::DkgShare& share, const std::string& view_hash) {
    agentpb::DkgDeliverRequest request;
    request.set_session_id(session);
    request.set_share(AsString(share.Encode().span()));
    request.set_round1_view_hash(view_hash);
    agentpb::DkgDeliverReply reply;
    grpc::ClientContext context;
    return AgentStub(i, identity)->DkgDeliver(&context, request, &reply);
  }

  size_t SharesHeld(size_t i) {
    agentpb::ListSharesReply reply;
    grpc::ClientContext context;
    EXPECT_TRUE(AgentStub(i, "coordinator")
                    ->ListShares(&context, agentpb::ListSharesRequest(), &reply)
                    .ok());
    return static_cast<size_t>(reply.shares_size());
  }

  std::string AuditOf(size_t i) { return support::ReadFile(agents_[i].dir / "audit.jsonl"); }

  // Audited is true when agent i's audit log has a record with all of `fields`.
  bool Audited(size_t i, const std::map<std::string, std::string>& fields) {
    std::istringstream lines(AuditOf(i));
    for (std::string line; std::getline(lines, line);) {
      const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_discarded()) continue;
      bool matches = true;
      for (const auto& [name, value] : fields) {
        if (!record.contains(name) || record[name] != value) matches = false;
      }
      if (matches) return true;
    }
    return false;
  }

  std::string CoordinatorLog() { return processes_->CoordinatorLog(); }

  support::TempDir dir_{"threshold-dkg-e2e"};
  std::optional<e2e::ThresholdProcesses> processes_{std::in_place, dir_.path(), kGenesis};
  std::vector<e2e::ThresholdProcesses::Agent>& agents_ = processes_->agents();
  std::unique_ptr<pb::RemoteKeystore::Stub> node_;
};

// A fabricated share: the right shape for a DKG share from `sender` to `recipient`, with a value
// nobody derived from a polynomial.
frost::DkgShare ForgedShare(uint32_t sender, uint32_t recipient) {
  frost::DkgShare share;
  share.sender = *frost::Identifier::Create(sender);
  share.recipient = *frost::Identifier::Create(recipient);
  std::array<uint8_t, 32> value{};
  value[0] = 7;
  share.value = base::SecretBytes::CopyFrom(value);
  return share;
}

TEST_F(ThresholdDkgE2eTest, TwoOfThreeGranKeyFromDkgSignsThroughTheCoordinator) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(3));
  ASSERT_NO_FATAL_FAILURE(WriteCoordinatorConfig());
  const std::optional<GeneratedKey> gran = Create("gran", 2);
  ASSERT_TRUE(gran.has_value());
  // Unsafe thresholds and key types FROST cannot serve are refused before any agent is asked.
  EXPECT_EQ(Signerctl({"threshold", "create", "--config", CoordinatorConfig().string(), "--type",
                       "gran", "--threshold", "1"})
                .exit_code,
            2);
  EXPECT_EQ(Signerctl({"threshold", "create", "--config", CoordinatorConfig().string(), "--type",
                       "babe", "--threshold", "2"})
                .exit_code,
            2);
  for (size_t i = 0; i < agents_.size(); ++i) {
    EXPECT_TRUE(Audited(i, {{"method", "DkgFinalize"},
                            {"operation", "generate"},
                            {"key_type", "gran"},
                            {"public_key", gran->hex_0x.substr(2)},
                            {"verdict", "allowed"}}))
        << AuditOf(i);
  }
  const support::ProcessResult listed =
      Signerctl({"threshold", "list", "--config", CoordinatorConfig().string()});
  ASSERT_EQ(listed.exit_code, 0) << listed.Describe();
  const nlohmann::json keys = listed.Json()["keys"];
  ASSERT_EQ(keys.size(), 1u) << listed.out;
  EXPECT_EQ(keys[0]["public_key"], gran->hex_0x);
  EXPECT_EQ(keys[0]["agents_agree"], true);
  ASSERT_EQ(keys[0]["agents"].size(), 3u);
  for (const nlohmann::json& holder : keys[0]["agents"]) EXPECT_EQ(holder["generated"], true);

  // Grant the new key, and sign through the coordinator with any two agents.
  ASSERT_NO_FATAL_FAILURE(WritePolicies({*gran}));
  for (size_t i = 0; i < agents_.size(); ++i) ASSERT_NO_FATAL_FAILURE(RestartAgent(i));
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  EXPECT_TRUE(SignWith(*gran, base::Scheme::kEd25519, Prevote(1, 0x11)).ok()) << CoordinatorLog();
  KillAgent(0);
  EXPECT_TRUE(SignWith(*gran, base::Scheme::kEd25519, Prevote(2, 0x11)).ok()) << CoordinatorLog();
  KillAgent(1);
  EXPECT_EQ(SignWith(*gran, base::Scheme::kEd25519, Prevote(3, 0x11)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ThresholdDkgE2eTest, ThreeOfFiveParaKeyFromDkgSignsWithTwoAgentsDown) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(5));
  ASSERT_NO_FATAL_FAILURE(WriteCoordinatorConfig());
  const std::optional<GeneratedKey> para = Create("para", 3);
  ASSERT_TRUE(para.has_value());
  ASSERT_NO_FATAL_FAILURE(WritePolicies({*para}));
  for (size_t i = 0; i < agents_.size(); ++i) ASSERT_NO_FATAL_FAILURE(RestartAgent(i));
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  EXPECT_TRUE(SignWith(*para, base::Scheme::kSr25519,
                       slashing::testing::BackingStatement(1, FilledHash(0x21), 3))
                  .ok())
      << CoordinatorLog();
  KillAgent(0);
  KillAgent(3);
  EXPECT_TRUE(SignWith(*para, base::Scheme::kSr25519,
                       slashing::testing::BackingStatement(1, FilledHash(0x22), 3))
                  .ok())
      << CoordinatorLog();
  KillAgent(4);
  EXPECT_EQ(SignWith(*para, base::Scheme::kSr25519,
                     slashing::testing::BackingStatement(1, FilledHash(0x23), 3))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// A coordinator that shows one agent a different (validly proven) round-one package for another
// agent cannot make the agents end with different keys: the agents compare their round-one views
// before accepting each other's shares, and the run fails. Both ways of meeting the lie are
// exercised: the lied-to agent finds shares that came under another view when its own round two
// starts, or its shares reach agents that find they were sent under another view.
TEST_F(ThresholdDkgE2eTest, ATamperedRoundOnePackageForOneAgentFailsTheRun) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(3));
  // A package for identifier 1 with a valid proof, but not agent 1's.
  auto substitute = frost::DkgRound1(frost::Suite::kEd25519, *frost::Identifier::Create(1), 2, 3);
  ASSERT_TRUE(substitute.ok());
  const std::string substitute_package = AsString(substitute->package.Encode());

  // Round two runs one agent after the other, in `order`; `refusing` are the agents whose round
  // two must fail. In the order 1, 2, 3 agents 1 and 2 agree and deliver; agent 3 finds their
  // shares sent under another view. In the order 3, 1, 2 agent 3 delivers first; agents 1 and 2
  // each find its share sent under another view.
  struct Case {
    std::vector<size_t> order;
    std::set<size_t> refusing;
  };
  for (const Case& run : {Case{{0, 1, 2}, {2}}, Case{{2, 0, 1}, {0, 1}}}) {
    SCOPED_TRACE("round two starting with agent " + std::to_string(run.order[0] + 1));
    const std::string session = NewSessionId(static_cast<uint8_t>(0x40 + run.order[0]));
    std::vector<std::string> packages(3);
    for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(Round1(i, session, "gran", 2, &packages[i]).ok());
    std::vector<std::string> tampered = packages;
    tampered[0] = substitute_package;
    for (size_t i : run.order) {
      const grpc::Status status = Round2(i, session, i == 2 ? tampered : packages);
      if (run.refusing.contains(i)) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
            << AgentName(i) << ": " << status.error_message();
      } else {
        EXPECT_TRUE(status.ok()) << AgentName(i) << ": " << status.error_message();
      }
    }
    // No agent finishes the run, and none holds a share afterwards.
    for (size_t i = 0; i < 3; ++i) {
      const grpc::Status finalized = Finalize(i, session, nullptr);
      if (run.refusing.contains(i)) {
        EXPECT_EQ(finalized.error_code(), grpc::StatusCode::NOT_FOUND)
            << AgentName(i) << " dropped the session";
      } else {
        EXPECT_EQ(finalized.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
            << AgentName(i) << " lacks a share: " << finalized.error_message();
      }
      EXPECT_EQ(SharesHeld(i), 0u) << AgentName(i);
    }
  }
  EXPECT_TRUE(Audited(2, {{"method", "DkgRound2"}, {"verdict", "refused"}}));
}

TEST_F(ThresholdDkgE2eTest, AnAgentWhosePeersDoNotIncludeAParticipantRefusesRoundOne) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(3));
  ASSERT_NO_FATAL_FAILURE(WriteCoordinatorConfig());
  // Agent 3 knows agent 1 only.
  agents_[2].peers = std::vector<size_t>{0};
  ASSERT_NO_FATAL_FAILURE(RestartAgent(2));
  const std::string session = NewSessionId(0x51);
  EXPECT_TRUE(Round1(0, session, "gran", 2, nullptr).ok());
  const grpc::Status refused = Round1(2, session, "gran", 2, nullptr);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << refused.error_message();
  // Through signerctl the run fails, naming the agent and the step.
  const support::ProcessResult run =
      Signerctl({"threshold", "create", "--config", CoordinatorConfig().string(), "--type", "gran",
                 "--threshold", "2"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("agent-3: round one"), std::string::npos) << run.err;
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(SharesHeld(i), 0u);
  // An agent without a threshold section has no peers, so it takes part in no DKG.
  agents_[2].peers.reset();
  ASSERT_NO_FATAL_FAILURE(RestartAgent(2));
  EXPECT_EQ(Round1(2, NewSessionId(0x52), "gran", 2, nullptr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// A share is accepted only from the client certificate of its sender: not from the coordinator,
// not from another participant, not from a stranger. Refused deliveries leave the run intact.
TEST_F(ThresholdDkgE2eTest, ADeliveryFromAnotherIdentityThanTheSendersIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(3));
  const std::string session = NewSessionId(0x61);
  std::vector<std::string> packages(3);
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(Round1(i, session, "gran", 2, &packages[i]).ok());
  const std::string any_view(32, '\x5a');
  for (const std::string identity : {"coordinator", "agent-3", "intruder"}) {
    const grpc::Status refused = Deliver(1, identity, session, ForgedShare(1, 2), any_view);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << identity << ": " << refused.error_message();
  }
  EXPECT_TRUE(Audited(1, {{"identity", "coordinator"},
                          {"method", "DkgDeliver"},
                          {"operation", "generate"},
                          {"verdict", "denied"}}))
      << AuditOf(1);
  // The run completes: the refused deliveries took no slot of agent 1's real share.
  std::vector<std::string> public_packages(3);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(Round2(i, session, packages).ok()) << AgentName(i);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(Finalize(i, session, &public_packages[i]).ok()) << AgentName(i);
  }
  EXPECT_FALSE(public_packages[0].empty());
  EXPECT_EQ(public_packages[0], public_packages[1]);
  EXPECT_EQ(public_packages[0], public_packages[2]);

  // Agent 1 itself, delivering under another view than agent 2's, ends agent 2's session.
  const std::string second = NewSessionId(0x62);
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(Round1(i, second, "gran", 2, &packages[i]).ok());
  ASSERT_TRUE(Round2(1, second, packages).ok());
  EXPECT_EQ(Deliver(1, "agent-1", second, ForgedShare(1, 2), any_view).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Finalize(1, second, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
