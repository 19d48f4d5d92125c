// Two replicated signers (librdkafka's mock cluster): a key's slashable role judges requests that
// name its other key types on every signer, because the claims go through the shared log.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "kafka/replicated_log.h"
#include "keymgr/custody.h"
#include "keymgr/keypair.h"
#include "signerd/pipeline_core.h"
#include "slashing/history.h"
#include "support/fake_clock.h"
#include "support/in_memory_custody.h"
#include "support/memory_history_store.h"
#include "support/well_known_keys.h"
#include "test_payloads.h"

namespace {

using base::Scheme;
using signer::ReplyCode;

constexpr char kTopic[] = "roles-claims";
constexpr std::string_view kAliceSr25519 = support::kAliceSr25519.hex();
constexpr std::string_view kAliceEd25519 = support::kAliceEd25519.hex();

class NullAudit final : public signer::AuditSink {
 public:
  base::Status Append(const signer::AuditRecord&) override { return base::Status::Ok(); }
};

base::Hash256 Genesis() {
  base::Hash256 genesis;
  genesis.fill(0x7b);
  return genesis;
}

using slashing::testing::BabeHeader;

// GrandpaPrevote is a prevote in (`set_id`, `round`) for the block filled with `hash_byte`.
std::vector<uint8_t> GrandpaPrevote(uint8_t hash_byte, uint64_t round, uint64_t set_id) {
  return slashing::testing::GrandpaMessage(0, slashing::testing::FilledHash(hash_byte), 1, round,
                                           set_id);
}

// ReplicaSigner is one signer of the set: its own custody (the same keys), store and pipeline.
struct ReplicaSigner {
  keymgr::InMemoryCustody custody;
  slashing::MemoryHistoryStore store;
  std::unique_ptr<kafka::ReplicatedHistoryLog> log;
  slashing::FakeClock clock{support::kTestClockStartMs};
  std::unique_ptr<slashing::Protector> protector;
  NullAudit audit;
  std::unique_ptr<signer::Policy> policy;
  std::unique_ptr<signer::Pipeline> pipeline;
};

class RolesReplicatedTest : public testing::Test {
 protected:
  void SetUp() override {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    anchor_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    ASSERT_NE(anchor_, nullptr) << error;
    cluster_ = rd_kafka_mock_cluster_new(anchor_, 3);
    rd_kafka_mock_topic_create(cluster_, kTopic, 2, 3);
    for (int i = 0; i < 2; ++i) {
      auto replica = std::make_unique<ReplicaSigner>();
      for (const char* key_type : {"babe", "audi"}) {
        auto pair = keymgr::KeypairFromSuri(Scheme::kSr25519, "//Alice");
        ASSERT_TRUE(replica->custody.Import(*base::MakeKeyTypeId(key_type), *pair).ok());
      }
      for (const char* key_type : {"gran", "acco"}) {
        auto pair = keymgr::KeypairFromSuri(Scheme::kEd25519, "//Alice");
        ASSERT_TRUE(replica->custody.Import(*base::MakeKeyTypeId(key_type), *pair).ok());
      }
      ASSERT_TRUE(slashing::BindGenesis(replica->store, Genesis()).ok());
      kafka::ReplicatedHistoryLogOptions options;
      options.brokers = rd_kafka_mock_cluster_bootstraps(cluster_);
      options.claims_topic = kTopic;
      options.signer_id = "signer-" + std::to_string(i);
      options.genesis_hash = Genesis();
      options.claim_timeout = std::chrono::milliseconds(10'000);
      options.warning = [](std::string_view) {};
      auto log = kafka::ReplicatedHistoryLog::Open(replica->store, std::move(options));
      ASSERT_TRUE(log.ok()) << log.status().message();
      replica->log = std::move(*log);
      replica->protector = std::make_unique<slashing::Protector>(*replica->log, replica->clock,
                                                                 slashing::ProtectionPolicy{});
      auto policy = signer::Policy::Parse(
          std::string("identities:\n  validator:\n    - {key_types: [babe, audi, gran, acco], "
                      "operations: [sign], public_keys: [\"") +
          std::string(kAliceSr25519) + "\", \"" + std::string(kAliceEd25519) + "\"]}\n");
      ASSERT_TRUE(policy.ok()) << policy.status().message();
      replica->policy = std::make_unique<signer::Policy>(std::move(*policy));
      replica->pipeline = std::make_unique<signer::Pipeline>(signer::PipelineDeps{
          replica->custody, *replica->protector, *replica->policy, replica->audit, replica->clock});
      replicas_.push_back(std::move(replica));
    }
  }

  void TearDown() override {
    replicas_.clear();
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (anchor_ != nullptr) rd_kafka_destroy(anchor_);
  }

  signer::Reply<std::vector<uint8_t>> Sign(size_t replica, std::string_view key_type,
                                           std::string_view crypto_type,
                                           std::string_view public_hex,
                                           const std::vector<uint8_t>& message,
                                           std::optional<std::vector<uint8_t>> preimage) {
    const std::vector<uint8_t> public_key = *base::HexDecode(public_hex);
    signer::SignInput input;
    input.key_type = key_type;
    input.scheme = base::ParseSchemeOrCryptoId(crypto_type);
    input.public_key = public_key;
    input.message = message;
    if (preimage) input.preimage = std::span<const uint8_t>(*preimage);
    return replicas_[replica]->pipeline->SignWith(signer::CallContext{"validator", "SignWith"},
                                                  input);
  }

  signer::Reply<std::vector<uint8_t>> Seal(size_t replica, std::string_view key_type,
                                           const std::vector<uint8_t>& header) {
    const base::Hash256 hash = base::Blake2b256(header);
    return Sign(replica, key_type, "sr25519", kAliceSr25519, {hash.begin(), hash.end()}, header);
  }

  rd_kafka_t* anchor_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::vector<std::unique_ptr<ReplicaSigner>> replicas_;
};

TEST_F(RolesReplicatedTest, SealThroughAudiOnOneSignerConflictsWithBabeOnAnother) {
  ASSERT_EQ(Seal(0, "babe", BabeHeader(42, 0xa1)).code, ReplyCode::kOk);
  auto refused = Seal(1, "audi", BabeHeader(42, 0xb2));
  EXPECT_EQ(refused.code, ReplyCode::kRefused) << refused.message;
  EXPECT_NE(refused.message.find("refused_babe_equivocation"), std::string::npos);
  // The other way round: a seal through audi is a claim in the log that binds babe everywhere.
  ASSERT_EQ(Seal(1, "audi", BabeHeader(43, 0xa1)).code, ReplyCode::kOk);
  EXPECT_EQ(Seal(0, "babe", BabeHeader(43, 0xb2)).code, ReplyCode::kRefused);
  EXPECT_EQ(Seal(0, "audi", BabeHeader(43, 0xb2)).code, ReplyCode::kRefused);
}

TEST_F(RolesReplicatedTest, PrevoteThroughAccoConflictsWithGranOnAnotherSigner) {
  ASSERT_EQ(
      Sign(0, "gran", "ed25519", kAliceEd25519, GrandpaPrevote(0xaa, 7, 3), std::nullopt).code,
      ReplyCode::kOk);
  auto refused =
      Sign(1, "acco", "ed25519", kAliceEd25519, GrandpaPrevote(0xbb, 7, 3), std::nullopt);
  EXPECT_EQ(refused.code, ReplyCode::kRefused) << refused.message;
  EXPECT_NE(refused.message.find("refused_grandpa_equivocation"), std::string::npos);
}

}  // namespace
