// KeyAgent in process: each nonce signs at most once, refusals burn it, decisions come first,
// audit; its gRPC service wipes the secrets it is sent.
#include "keyagentd/key_agent.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "key_agent.grpc.pb.h"
#include "keyagentd/key_agent_service.h"
#include "keymgr/ed25519.h"
#include "keymgr/pkcs11_custody.h"
#include "slashing/history_log.h"
#include "support/environment.h"
#include "support/fake_clock.h"
#include "support/memory_history_store.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "test_payloads.h"

namespace signer {
namespace {

namespace frost = keymgr::frost;
using slashing::testing::FilledHash;
using slashing::testing::GrandpaMessage;

constexpr std::string_view kPin = "agent-test-pin";

// RecordingAudit keeps every record; it can be made to fail.
class RecordingAudit final : public AuditSink {
 public:
  base::Status Append(const AuditRecord& record) override {
    std::lock_guard lock(mutex_);
    if (fail_) return base::Status::Unavailable("audit disk full");
    records_.push_back(record);
    return base::Status::Ok();
  }
  std::vector<AuditRecord> records() {
    std::lock_guard lock(mutex_);
    return records_;
  }
  void Fail() {
    std::lock_guard lock(mutex_);
    fail_ = true;
  }

 private:
  std::mutex mutex_;
  std::vector<AuditRecord> records_;
  bool fail_ = false;
};

std::vector<uint8_t> Prevote(uint64_t round, uint8_t target) {
  return GrandpaMessage(0, FilledHash(target), 10, round, 0);
}

// KeyAgentTest runs agent 1 of a 2-of-3 ed25519 key on a SoftHSM2 token; the test plays agent 2
// (whose share it keeps in memory) and the coordinator.
class KeyAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hsm = support::SoftHsm::Create(dir_.path());
    ASSERT_TRUE(hsm.ok()) << hsm.status().message();
    hsm_ = std::make_unique<support::SoftHsm>(*hsm);
    env_ = std::make_unique<support::ScopedEnvironmentVariable>("SOFTHSM2_CONF",
                                                                hsm_->config_path().string());
    ASSERT_TRUE(hsm_->InitToken("agent", kPin, "agent-so-pin").ok());
    keymgr::Pkcs11Config config;
    config.module_path = SIGNER_SOFTHSM2_MODULE;
    config.token_label = "agent";
    config.pin = base::SecretBytes::CopyFrom(
        std::span(reinterpret_cast<const uint8_t*>(kPin.data()), kPin.size()));
    auto custody = keymgr::Pkcs11Custody::Open(std::move(config));
    ASSERT_TRUE(custody.ok()) << custody.status().message();
    custody_ = std::move(custody).value();

    std::array<uint8_t, 32> seed{};
    randombytes_buf(seed.data(), seed.size());
    auto pair = keymgr::Ed25519Keypair::FromSeed(seed);
    ASSERT_TRUE(pair.ok());
    group_key_.assign(pair->public_key().begin(), pair->public_key().end());
    auto split = frost::TrustedDealerSplitEd25519(*pair, 2, 3);
    ASSERT_TRUE(split.ok());
    split_ = std::make_unique<frost::DealerOutput>(std::move(split).value());
    auto own = frost::VerifySecretShare(split_->shares[1]);
    ASSERT_TRUE(own.ok());
    peer_package_ = std::make_unique<frost::KeyPackage>(std::move(own).value());

    auto policy = Policy::Parse(
        "identities:\n  coordinator:\n    - {key_types: [gran], operations: "
        "[sign, insert, list], public_keys: [\"" +
        base::HexEncode(group_key_) + "\"]}\n  stranger: []\n");
    ASSERT_TRUE(policy.ok()) << policy.status().message();
    policy_ = std::make_shared<const Policy>(std::move(policy).value());
    log_ = std::make_unique<slashing::LocalHistoryLog>(store_);
    protector_ = std::make_unique<slashing::Protector>(*log_, clock_, slashing::ProtectionPolicy{});
  }

  void StartAgent(KeyAgentOptions options = {}) {
    auto agent = KeyAgent::Create(KeyAgentDeps{*custody_, *protector_, audit_, clock_, nullptr},
                                  policy_, options);
    ASSERT_TRUE(agent.ok()) << agent.status().message();
    agent_ = std::move(agent).value();
    frost::SecretShare share;
    share.suite = frost::Suite::kEd25519;
    share.identifier = split_->shares[0].identifier;
    share.value = base::SecretBytes::CopyFrom(split_->shares[0].value.span());
    share.commitment = split_->shares[0].commitment;
    auto imported = agent_->ImportShare(Coordinator(), "gran", std::move(share),
                                        split_->public_package.Serialize());
    ASSERT_TRUE(imported.ok()) << imported.message;
  }

  CallContext Coordinator(const char* method = "SignShare") { return {"coordinator", method}; }

  // Round one on both sides: the agent's commitment (from Commit) and the test's own.
  struct Round {
    frost::SigningCommitments agent;
    frost::SigningNonces peer_nonces;
    std::vector<uint8_t> list;
  };
  Round NewRound() {
    Round round;
    auto committed = agent_->Commit(Coordinator("Commit"), "gran", group_key_, 1);
    EXPECT_TRUE(committed.ok()) << committed.message;
    round.agent = committed.value.at(0);
    auto peer = frost::Commit(*peer_package_);
    EXPECT_TRUE(peer.ok());
    round.peer_nonces = std::move(peer->nonces);
    auto list = frost::MakeCommitmentList({round.agent, peer->commitments});
    EXPECT_TRUE(list.ok());
    round.list = frost::EncodeCommitmentList(*list);
    return round;
  }

  Reply<frost::SignatureShare> SignShare(const Round& round, const std::vector<uint8_t>& message,
                                         const char* identity = "coordinator") {
    AgentSignInput input;
    input.key_type = "gran";
    input.group_public_key = group_key_;
    input.message = message;
    input.commitment_list = round.list;
    return agent_->SignShare(CallContext{identity, "SignShare"}, input);
  }

  support::TempDir dir_{"key-agent-test"};
  std::unique_ptr<support::SoftHsm> hsm_;
  std::unique_ptr<support::ScopedEnvironmentVariable> env_;
  std::unique_ptr<keymgr::Pkcs11Custody> custody_;
  std::vector<uint8_t> group_key_;
  std::unique_ptr<frost::DealerOutput> split_;
  std::unique_ptr<frost::KeyPackage> peer_package_;
  std::shared_ptr<const Policy> policy_;
  slashing::MemoryHistoryStore store_;
  slashing::FakeClock clock_{1'700'000'000'000};
  std::unique_ptr<slashing::LocalHistoryLog> log_;
  std::unique_ptr<slashing::Protector> protector_;
  RecordingAudit audit_;
  std::unique_ptr<KeyAgent> agent_;
};

TEST_F(KeyAgentTest, AShareAggregatesIntoAnOrdinarySignatureAndItsNonceSignsOnce) {
  StartAgent();
  Round round = NewRound();
  const std::vector<uint8_t> vote = Prevote(1, 0x11);
  auto share = SignShare(round, vote);
  ASSERT_TRUE(share.ok()) << share.message;
  auto list = frost::DecodeCommitmentList(frost::Suite::kEd25519, round.list);
  ASSERT_TRUE(list.ok());
  auto peer_share = frost::Sign(*peer_package_, std::move(round.peer_nonces), vote, *list);
  ASSERT_TRUE(peer_share.ok());
  const std::vector<frost::SignatureShare> both = {share.value, *peer_share};
  auto signature = frost::Aggregate(split_->public_package, vote, *list, both);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_TRUE(frost::VerifySignature(frost::Suite::kEd25519, group_key_, vote, *signature));

  // The same commitment again, even for the very same vote: its nonces are gone.
  auto again = SignShare(round, vote);
  EXPECT_EQ(again.code, ReplyCode::kPairNotFound) << again.message;
  EXPECT_EQ(agent_->UnusedNonces(), 0u);
  const std::vector<AuditRecord> records = audit_.records();
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[records.size() - 2].verdict, "allowed_new");
  EXPECT_EQ(records[records.size() - 2].domain, "grandpa_prevote");
  EXPECT_EQ(records.back().verdict, "not_found");
}

TEST_F(KeyAgentTest, ARefusalBurnsTheNonceAndIsDecidedBeforeAnyShare) {
  StartAgent();
  Round first = NewRound();
  ASSERT_TRUE(SignShare(first, Prevote(5, 0x21)).ok());
  Round second = NewRound();
  auto refused = SignShare(second, Prevote(5, 0x22));
  EXPECT_EQ(refused.code, ReplyCode::kRefused) << refused.message;
  EXPECT_NE(refused.message.find("refused_grandpa_equivocation"), std::string::npos);
  // The refused request's nonce is burnt: it cannot be used for anything else either.
  auto reused = SignShare(second, Prevote(6, 0x21));
  EXPECT_EQ(reused.code, ReplyCode::kPairNotFound) << reused.message;
  EXPECT_EQ(audit_.records().back().verdict, "not_found");
}

// A commitment list that cannot make a usable share (fewer than t entries, or a participant the key
// does not have) is refused before the decision, so it records nothing: a correct request for
// another vote at the same position still signs.
TEST_F(KeyAgentTest, AListThatCannotMakeAShareIsRefusedBeforeTheDecision) {
  StartAgent();
  Round alone = NewRound();
  auto own_only = frost::MakeCommitmentList({alone.agent});
  ASSERT_TRUE(own_only.ok());
  alone.list = frost::EncodeCommitmentList(*own_only);
  EXPECT_EQ(SignShare(alone, Prevote(1, 0x81)).code, ReplyCode::kInvalidArgument);

  Round with_stranger = NewRound();
  auto stranger = frost::Commit(*peer_package_);
  ASSERT_TRUE(stranger.ok());
  stranger->commitments.identifier = *frost::Identifier::Create(7);
  auto list = frost::MakeCommitmentList({with_stranger.agent, stranger->commitments});
  ASSERT_TRUE(list.ok());
  with_stranger.list = frost::EncodeCommitmentList(*list);
  EXPECT_EQ(SignShare(with_stranger, Prevote(1, 0x82)).code, ReplyCode::kInvalidArgument);

  auto share = SignShare(NewRound(), Prevote(1, 0x83));
  EXPECT_TRUE(share.ok()) << share.message;
}

TEST_F(KeyAgentTest, NoShareLeavesWithoutItsAuditLine) {
  StartAgent();
  Round round = NewRound();
  audit_.Fail();
  auto share = SignShare(round, Prevote(9, 0x31));
  EXPECT_EQ(share.code, ReplyCode::kUnavailable);
  EXPECT_EQ(share.value.share, frost::Scalar{});
}

TEST_F(KeyAgentTest, PolicyBoundsAndExpiry) {
  KeyAgentOptions options;
  options.max_unused_nonces = 3;
  StartAgent(options);
  // A caller the policy does not name gets nothing, not even commitments.
  EXPECT_EQ(agent_->Commit(CallContext{"stranger", "Commit"}, "gran", group_key_, 1).code,
            ReplyCode::kPairNotFound);
  Round round = NewRound();
  EXPECT_EQ(SignShare(round, Prevote(1, 0x41), "stranger").code, ReplyCode::kPermissionDenied);
  // Outstanding nonces are bounded.
  EXPECT_TRUE(agent_->Commit(Coordinator("Commit"), "gran", group_key_, 2).ok());
  EXPECT_EQ(agent_->Commit(Coordinator("Commit"), "gran", group_key_, 1).code,
            ReplyCode::kResourceExhausted);
  EXPECT_EQ(agent_->Commit(Coordinator("Commit"), "gran", group_key_, 65).code,
            ReplyCode::kInvalidArgument);
  // Unknown keys and malformed lists.
  std::vector<uint8_t> other_key(32, 0x01);
  EXPECT_EQ(agent_->Commit(Coordinator("Commit"), "gran", other_key, 1).code,
            ReplyCode::kPairNotFound);
  round.list.pop_back();
  EXPECT_EQ(SignShare(round, Prevote(1, 0x41)).code, ReplyCode::kInvalidArgument);
}

TEST_F(KeyAgentTest, ExpiredNoncesAreGone) {
  KeyAgentOptions options;
  options.nonce_lifetime = std::chrono::milliseconds(0);
  StartAgent(options);
  Round round = NewRound();
  EXPECT_EQ(SignShare(round, Prevote(1, 0x51)).code, ReplyCode::kPairNotFound);
  EXPECT_EQ(agent_->UnusedNonces(), 0u);
}

// Expired nonce pairs go without any request for them, and are never counted as outstanding.
TEST_F(KeyAgentTest, ExpiredNoncesAreDroppedWithoutARequest) {
  KeyAgentOptions options;
  options.nonce_lifetime = std::chrono::milliseconds(10);
  StartAgent(options);
  ASSERT_TRUE(agent_->Commit(Coordinator("Commit"), "gran", group_key_, 5).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (agent_->UnusedNonces() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(agent_->UnusedNonces(), 0u);
}

// Many threads race for the same commitments: each nonce pair yields at most one share, and every
// distinct commitment yields exactly one.
TEST_F(KeyAgentTest, ConcurrentRequestsForOneCommitmentGetOneShare) {
  StartAgent();
  constexpr int kRounds = 12;
  constexpr int kThreadsPerRound = 4;
  std::vector<Round> rounds;
  for (int i = 0; i < kRounds; ++i) rounds.push_back(NewRound());
  std::atomic<int> shares{0};
  std::atomic<int> not_found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreadsPerRound; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        auto reply = SignShare(rounds[i], Prevote(100 + static_cast<uint64_t>(i), 0x61));
        if (reply.ok()) ++shares;
        if (reply.code == ReplyCode::kPairNotFound) ++not_found;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(shares.load(), kRounds);
  EXPECT_EQ(not_found.load(), kRounds * (kThreadsPerRound - 1));
  EXPECT_EQ(agent_->UnusedNonces(), 0u);
}

TEST_F(KeyAgentTest, SharesSurviveARestartAndNoncesDoNot) {
  StartAgent();
  Round round = NewRound();
  agent_.reset();
  auto restarted =
      KeyAgent::Create(KeyAgentDeps{*custody_, *protector_, audit_, clock_, nullptr}, policy_);
  ASSERT_TRUE(restarted.ok()) << restarted.status().message();
  agent_ = std::move(restarted).value();
  auto listed = agent_->ListShares(Coordinator("ListShares"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed.value.size(), 1u);
  EXPECT_EQ(listed.value[0].identifier, 1);
  EXPECT_EQ(SignShare(round, Prevote(1, 0x71)).code, ReplyCode::kPairNotFound);
  Round fresh = NewRound();
  EXPECT_TRUE(SignShare(fresh, Prevote(1, 0x71)).ok());
}

// SecretsLeftBehind stands in front of KeyAgentService and, once its handler returns, reads the
// secret field of the request: what gRPC frees right after (the synchronous server destroys the
// request before it sends the status) and a later reader of that memory would find.
class SecretsLeftBehind final : public keyagent::v1::KeyAgent::Service {
 public:
  explicit SecretsLeftBehind(KeyAgentService& service) : service_(service) {}

  grpc::Status ImportShare(grpc::ServerContext* context,
                           const keyagent::v1::ImportShareRequest* request,
                           keyagent::v1::ImportShareReply* reply) override {
    grpc::Status status = service_.ImportShare(context, request, reply);
    Keep(request->signing_share());
    return status;
  }
  grpc::Status DkgDeliver(grpc::ServerContext* context,
                          const keyagent::v1::DkgDeliverRequest* request,
                          keyagent::v1::DkgDeliverReply* reply) override {
    grpc::Status status = service_.DkgDeliver(context, request, reply);
    Keep(request->share());
    return status;
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void Keep(const std::string& field) {
    std::lock_guard lock(mutex_);
    seen_.push_back(field);
  }
  KeyAgentService& service_;
  std::mutex mutex_;
  std::vector<std::string> seen_;
};

// The service overwrites the secret share of an ImportShare or DkgDeliver request once the call is
// done with it, whichever way the call ends (here: a caller without a certificate is denied, and a
// malformed request is refused before the agent sees it).
TEST_F(KeyAgentTest, SharesAreWipedFromTheRequestOnceUsed) {
  StartAgent();
  KeyAgentService service(*agent_);
  SecretsLeftBehind probe(service);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&probe);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server && port > 0);
  auto stub = keyagent::v1::KeyAgent::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  const frost::SecretShare& third = split_->shares[2];
  const std::string secret(reinterpret_cast<const char*>(third.value.span().data()),
                           third.value.size());
  for (uint32_t identifier : {third.identifier.value(), uint16_t{0}}) {
    keyagent::v1::ImportShareRequest request;
    request.set_key_type("gran");
    request.set_identifier(identifier);
    request.set_signing_share(secret);
    const std::vector<uint8_t> commitment = frost::EncodeVssCommitment(third.commitment);
    request.set_vss_commitment(std::string(commitment.begin(), commitment.end()));
    const std::vector<uint8_t> package = split_->public_package.Serialize();
    request.set_public_key_package(std::string(package.begin(), package.end()));
    keyagent::v1::ImportShareReply reply;
    grpc::ClientContext context;
    EXPECT_FALSE(stub->ImportShare(&context, request, &reply).ok());
  }
  const std::string delivered(96, '\x5a');
  {
    keyagent::v1::DkgDeliverRequest request;
    request.set_session_id(std::string(16, '\x01'));
    request.set_share(delivered);
    request.set_round1_view_hash(std::string(32, '\x02'));
    keyagent::v1::DkgDeliverReply reply;
    grpc::ClientContext context;
    EXPECT_FALSE(stub->DkgDeliver(&context, request, &reply).ok());
  }
  server->Shutdown();
  const std::vector<std::string> seen = probe.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::string(secret.size(), '\0'));
  EXPECT_EQ(seen[1], std::string(secret.size(), '\0'));
  EXPECT_EQ(seen[2], std::string(delivered.size(), '\0'));
}

}  // namespace
}  // namespace signer
