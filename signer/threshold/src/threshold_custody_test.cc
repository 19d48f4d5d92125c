// ThresholdCustody against in-process fake key agents that go down, come back and lie.
#include "threshold/threshold_custody.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "key_agent.grpc.pb.h"
#include "keymgr/ed25519.h"
#include "keymgr/frost.h"
#include "support/dev_pki.h"
#include "support/in_memory_custody.h"
#include "support/temp_dir.h"
#include "tls/grpc_credentials.h"

namespace signer {
namespace {

namespace frost = keymgr::frost;
namespace pb = keyagent::v1;

constexpr char kKeyType[] = "gran";

std::string AsString(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }
std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// FakeAgent answers ListShares, Commit and SignShare for one FROST share the way keyagentd does,
// without protection or audit; a test can make it lie the way a compromised agent could.
class FakeAgent final : public pb::KeyAgent::Service {
 public:
  // What Commit answers beyond what keyagentd would.
  enum class CommitLie { kNone, kOneMoreThanAsked, kRepeatedCommitment };

  FakeAgent(frost::KeyPackage key_package, frost::PublicKeyPackage public_package)
      : key_package_(std::move(key_package)), public_package_(std::move(public_package)) {}

  // RewriteListing changes every ListShares reply before it leaves.
  void RewriteListing(std::function<void(pb::ListSharesReply::Share&)> rewrite) {
    std::lock_guard lock(mutex_);
    rewrite_listing_ = std::move(rewrite);
  }
  void LieInCommit(CommitLie lie) {
    std::lock_guard lock(mutex_);
    commit_lie_ = lie;
  }
  int shares_signed() {
    std::lock_guard lock(mutex_);
    return shares_signed_;
  }

  grpc::Status ListShares(grpc::ServerContext* /*context*/,
                          const pb::ListSharesRequest* /*request*/,
                          pb::ListSharesReply* reply) override {
    std::lock_guard lock(mutex_);
    pb::ListSharesReply::Share* share = reply->add_shares();
    share->set_key_type(kKeyType);
    share->set_group_public_key(AsString(key_package_.group_public_key));
    share->set_identifier(key_package_.identifier.value());
    share->set_public_key_package(AsString(public_package_.Serialize()));
    if (rewrite_listing_) rewrite_listing_(*share);
    return grpc::Status::OK;
  }

  grpc::Status Commit(grpc::ServerContext* /*context*/, const pb::CommitRequest* request,
                      pb::CommitReply* reply) override {
    std::lock_guard lock(mutex_);
    const uint32_t count = std::max<uint32_t>(request->count(), 1);
    const uint32_t made = count + (commit_lie_ == CommitLie::kOneMoreThanAsked ? 1 : 0);
    for (uint32_t i = 0; i < made; ++i) {
      base::Result<frost::Round1> round = frost::Commit(key_package_);
      if (!round.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "commit");
      const std::string encoded = AsString(round->commitments.Encode());
      reply->add_commitments(encoded);
      nonces_.emplace(encoded, std::move(round->nonces));
    }
    if (commit_lie_ == CommitLie::kRepeatedCommitment) {
      *reply->mutable_commitments(1) = reply->commitments(0);
    }
    return grpc::Status::OK;
  }

  grpc::Status SignShare(grpc::ServerContext* /*context*/, const pb::SignShareRequest* request,
                         pb::SignShareReply* reply) override {
    std::lock_guard lock(mutex_);
    base::Result<frost::CommitmentList> list =
        frost::DecodeCommitmentList(key_package_.suite, AsBytes(request->commitment_list()));
    if (!list.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "list");
    auto own = std::find_if(list->begin(), list->end(), [&](const frost::SigningCommitments& c) {
      return c.identifier == key_package_.identifier;
    });
    if (own == list->end()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no entry");
    auto nonces = nonces_.find(AsString(own->Encode()));
    if (nonces == nonces_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no nonce");
    base::Result<frost::SignatureShare> share =
        frost::Sign(key_package_, std::move(nonces->second), AsBytes(request->message()), *list);
    nonces_.erase(nonces);
    if (!share.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sign");
    reply->set_signature_share(AsString(share->Encode()));
    ++shares_signed_;
    return grpc::Status::OK;
  }

 private:
  std::mutex mutex_;
  const frost::KeyPackage key_package_;
  const frost::PublicKeyPackage public_package_;
  std::function<void(pb::ListSharesReply::Share&)> rewrite_listing_;
  CommitLie commit_lie_ = CommitLie::kNone;
  std::map<std::string, frost::SigningNonces> nonces_;
  int shares_signed_ = 0;
};

// ThresholdCustodyTest serves a 2-of-3 ed25519 key's shares from three fake agents on loopback
// mTLS (the dev PKI), each on a port of its own that it keeps across a stop and start.
class ThresholdCustodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(support::MakeDevPki(dir_.path(), {"coordinator"}).ok());
    auto credentials =
        tls::ReloadableServerCredentials::Create(support::DevPkiServerFiles(dir_.path()));
    ASSERT_TRUE(credentials.ok()) << credentials.status().message();
    server_credentials_ = std::move(credentials).value();

    std::array<uint8_t, 32> seed{};
    randombytes_buf(seed.data(), seed.size());
    auto pair = keymgr::Ed25519Keypair::FromSeed(seed);
    ASSERT_TRUE(pair.ok());
    group_key_.assign(pair->public_key().begin(), pair->public_key().end());
    auto split = frost::TrustedDealerSplitEd25519(*pair, 2, 3);
    ASSERT_TRUE(split.ok());
    public_package_ = split->public_package;
    for (size_t i = 0; i < 3; ++i) {
      auto key_package = frost::VerifySecretShare(split->shares[i]);
      ASSERT_TRUE(key_package.ok());
      agents_.push_back(
          std::make_unique<FakeAgent>(std::move(key_package).value(), split->public_package));
      servers_.emplace_back();
      ports_.push_back(0);
      StartAgent(i);
    }

    // The custody's log lines land here, so a test can see whom a warning names.
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    previous_logger_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("threshold-custody-test", log_));
  }

  void TearDown() override {
    custody_.reset();
    for (size_t i = 0; i < servers_.size(); ++i) StopAgent(i);
    spdlog::set_default_logger(previous_logger_);
  }

  // StartAgent serves agent i, on the port it had before if it had one.
  void StartAgent(size_t i) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(ports_[i]),
                             server_credentials_->GrpcCredentials(), &port);
    builder.RegisterService(agents_[i].get());
    servers_[i] = builder.BuildAndStart();
    ASSERT_NE(servers_[i], nullptr);
    ASSERT_NE(port, 0);
    ports_[i] = port;
  }

  void StopAgent(size_t i) {
    if (servers_[i] == nullptr) return;
    servers_[i]->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    servers_[i].reset();
  }

  void OpenCustody() {
    ThresholdConfig config;
    const tls::ClientCredentialFiles files = support::DevPkiClientFiles(dir_.path(), "coordinator");
    config.agent_ca_file = files.server_ca.string();
    config.cert_file = files.certificate.string();
    config.key_file = files.private_key.string();
    // Long enough for an agent that was just started to be connected to on a loaded machine.
    config.timeout_ms = 10'000;
    for (size_t i = 0; i < agents_.size(); ++i) {
      config.agents.push_back(ThresholdAgentConfig{
          "agent-" + std::to_string(i + 1), "127.0.0.1:" + std::to_string(ports_[i]), "localhost"});
    }
    auto custody = ThresholdCustody::Open(inner_, config);
    ASSERT_TRUE(custody.ok()) << custody.status().message();
    custody_ = std::move(custody).value();
  }

  // ReportAThreeOfThreePackage makes agent i list the key with another public package than the
  // other agents' (3-of-3 instead of 2-of-3), as a compromised or misconfigured agent could.
  void ReportAThreeOfThreePackage(size_t i) {
    frost::PublicKeyPackage other = public_package_;
    other.min_signers = 3;
    agents_[i]->RewriteListing(
        [serialized = AsString(other.Serialize())](pb::ListSharesReply::Share& share) {
          share.set_public_key_package(serialized);
        });
  }

  keymgr::KeyId KeyId() const { return keymgr::KeyId{*base::MakeKeyTypeId(kKeyType), group_key_}; }

  // Sign asks the coordinator for a signature and checks any it returns against the group key.
  base::Result<std::vector<uint8_t>> Sign(const std::string& text) {
    const std::vector<uint8_t> message(text.begin(), text.end());
    base::Result<std::vector<uint8_t>> signature =
        custody_->Sign(KeyId(), base::Scheme::kEd25519, message);
    if (signature.ok()) {
      EXPECT_TRUE(frost::VerifySignature(frost::Suite::kEd25519, group_key_, message, *signature));
    }
    return signature;
  }

  std::vector<std::string> Holders() const {
    for (const ThresholdCustody::KeySummary& key : custody_->ThresholdKeys()) {
      if (key.id == KeyId()) return key.agents;
    }
    return {};
  }

  std::string Log() const {
    std::string joined;
    for (const std::string& line : log_->last_formatted()) joined += line;
    return joined;
  }

  uint64_t Failures(const std::string& agent) const {
    for (const AgentStats& stats : custody_->Stats()) {
      if (stats.name == agent) return stats.failures;
    }
    return 0;
  }

  support::TempDir dir_{"threshold-custody-test"};
  std::unique_ptr<tls::ReloadableServerCredentials> server_credentials_;
  std::vector<uint8_t> group_key_;
  frost::PublicKeyPackage public_package_;
  std::vector<std::unique_ptr<FakeAgent>> agents_;
  std::vector<std::unique_ptr<grpc::Server>> servers_;
  std::vector<int> ports_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
  keymgr::InMemoryCustody inner_;
  std::unique_ptr<ThresholdCustody> custody_;
};

// Agent 2 is down when the coordinator lists the keys and comes back; then agent 1 goes down.
// Agents 2 and 3 are t = 2 agents holding the key, so the signature must come from them.
TEST_F(ThresholdCustodyTest, AnAgentDownAtTheListingSignsOnceItIsBack) {
  StopAgent(1);
  OpenCustody();
  EXPECT_EQ(Holders(), (std::vector<std::string>{"agent-1", "agent-3"}));
  StartAgent(1);
  StopAgent(0);
  base::Result<std::vector<uint8_t>> signature = Sign("prevote, round 1");
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_EQ(agents_[1]->shares_signed(), 1);
  EXPECT_EQ(agents_[2]->shares_signed(), 1);
  EXPECT_EQ(Holders(), (std::vector<std::string>{"agent-1", "agent-2", "agent-3"}));
}

// Without any request, an agent that was down at the listing is listed again once it is back.
TEST_F(ThresholdCustodyTest, AnAgentDownAtTheListingIsListedAgainInTheBackground) {
  StopAgent(1);
  OpenCustody();
  StartAgent(1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Holders().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Holders(), (std::vector<std::string>{"agent-1", "agent-2", "agent-3"}));
}

// One agent reports another public package (here 3-of-3 instead of 2-of-3): it is left out and
// named, and the two agents that agree sign.
TEST_F(ThresholdCustodyTest, AnAgentReportingAnotherPackageIsLeftOutNotTheKey) {
  ReportAThreeOfThreePackage(2);
  OpenCustody();
  EXPECT_EQ(Holders(), (std::vector<std::string>{"agent-1", "agent-2"}));
  EXPECT_NE(Log().find("agent agent-3 reports another public package"), std::string::npos) << Log();
  for (int round = 1; round <= 3; ++round) {
    base::Result<std::vector<uint8_t>> signature = Sign("prevote, round " + std::to_string(round));
    EXPECT_TRUE(signature.ok()) << signature.status().message();
  }
  EXPECT_EQ(agents_[2]->shares_signed(), 0);
}

// One agent repeats another's identifier: the key stays usable, and no signing set holds both.
TEST_F(ThresholdCustodyTest, AnAgentRepeatingAnIdentifierDoesNotBlockTheKey) {
  agents_[2]->RewriteListing([](pb::ListSharesReply::Share& share) { share.set_identifier(1); });
  OpenCustody();
  EXPECT_NE(Log().find("agents agent-1 and agent-3 both report identifier 1"), std::string::npos)
      << Log();
  for (int round = 1; round <= 3; ++round) {
    base::Result<std::vector<uint8_t>> signature = Sign("prevote, round " + std::to_string(round));
    EXPECT_TRUE(signature.ok()) << signature.status().message();
  }
}

// An agent reporting an identifier the package does not list is left out.
TEST_F(ThresholdCustodyTest, AnAgentReportingAnUnlistedIdentifierIsLeftOut) {
  agents_[2]->RewriteListing([](pb::ListSharesReply::Share& share) { share.set_identifier(9); });
  OpenCustody();
  EXPECT_EQ(Holders(), (std::vector<std::string>{"agent-1", "agent-2"}));
  EXPECT_NE(Log().find("agent agent-3 reports identifier 9"), std::string::npos) << Log();
  EXPECT_TRUE(Sign("prevote, round 1").ok());
}

// With agent 1 down at the listing, agents 2 and 3 disagree: neither is a majority, so neither
// package is the key's, whichever of them is true.
TEST_F(ThresholdCustodyTest, NoMinorityDefinesThePackage) {
  ReportAThreeOfThreePackage(2);
  StopAgent(0);
  OpenCustody();
  EXPECT_TRUE(Holders().empty());
  EXPECT_NE(Log().find("none of them by a majority"), std::string::npos) << Log();
}

// An agent answering Commit with more commitments than asked for, or with one commitment twice,
// is left out as malformed; the other two sign.
TEST_F(ThresholdCustodyTest, CommitRepliesBeyondTheRequestAreMalformed) {
  for (FakeAgent::CommitLie lie :
       {FakeAgent::CommitLie::kOneMoreThanAsked, FakeAgent::CommitLie::kRepeatedCommitment}) {
    SCOPED_TRACE(static_cast<int>(lie));
    agents_[1]->LieInCommit(lie);
    OpenCustody();
    for (int round = 1; round <= 3; ++round) {
      base::Result<std::vector<uint8_t>> signature =
          Sign("prevote, round " + std::to_string(round));
      EXPECT_TRUE(signature.ok()) << signature.status().message();
    }
    EXPECT_GE(Failures("agent-2"), 1u);
    EXPECT_EQ(agents_[1]->shares_signed(), 0);
  }
}

}  // namespace
}  // namespace signer
