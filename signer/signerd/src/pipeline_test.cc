// Pipeline tests: the fixed request order fails closed at every step (custody and history doubles).
#include "signerd/pipeline_core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/keypair.h"
#include "support/in_memory_custody.h"
#include "support/memory_protection.h"
#include "support/well_known_keys.h"
#include "test_payloads.h"

namespace signer {
namespace {

using base::Scheme;

// RecordingAudit keeps every record and can be told to fail, as a full disk would.
class RecordingAudit final : public AuditSink {
 public:
  base::Status Append(const AuditRecord& record) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fail) {
      return base::Status::Unavailable("injected audit failure");
    }
    records.push_back(record);
    return base::Status::Ok();
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return records.size();
  }
  std::mutex mutex_;
  std::vector<AuditRecord> records;
  bool fail = false;
};

// GrandpaVote builds the 53-byte localized payload of the spec (section 4):
// stage ++ target_hash ++ target_number u32 LE ++ round u64 LE ++ set_id u64 LE.
std::vector<uint8_t> GrandpaVote(uint8_t stage, uint8_t hash_byte, uint32_t number, uint64_t round,
                                 uint64_t set_id) {
  std::vector<uint8_t> out = {stage};
  out.insert(out.end(), 32, hash_byte);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(number >> (8 * i)));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(round >> (8 * i)));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(set_id >> (8 * i)));
  return out;
}

std::vector<uint8_t> Hex(std::string_view text) { return *base::HexDecode(text); }

constexpr std::string_view kAliceEd25519 = support::kAliceEd25519.hex();
constexpr std::string_view kAliceSr25519 = support::kAliceSr25519.hex();
// A key granted to alice in the policy but never put into custody.
constexpr std::string_view kGrantedButAbsent =
    "1111111111111111111111111111111111111111111111111111111111111111";

class PipelineTest : public testing::Test {
 protected:
  void SetUp() override {
    auto gran = base::MakeKeyTypeId("gran");
    auto babe = base::MakeKeyTypeId("babe");
    auto ed = keymgr::KeypairFromSuri(Scheme::kEd25519, "//Alice");
    auto sr = keymgr::KeypairFromSuri(Scheme::kSr25519, "//Alice");
    ASSERT_TRUE(ed.ok() && sr.ok());
    ASSERT_EQ(ed->public_key(), Hex(kAliceEd25519));
    ASSERT_EQ(sr->public_key(), Hex(kAliceSr25519));
    ASSERT_TRUE(custody_.Import(*gran, *ed).ok());
    ASSERT_TRUE(custody_.Import(*babe, *sr).ok());
    auto policy = Policy::Parse(std::string(R"(
identities:
  validator-alice:
    - key_types: [gran]
      operations: [sign, list]
      public_keys: [")") + std::string(kAliceEd25519) +
                                "\", \"" + std::string(kGrantedButAbsent) +
                                R"("]
    - key_types: [babe]
      operations: [vrf, list]
      public_keys: [")" + std::string(kAliceSr25519) +
                                R"("]
  key-admin:
    - key_types: [gran]
      operations: [generate, insert]
  intruder: []
)");
    ASSERT_TRUE(policy.ok()) << policy.status().message();
    policy_ = std::make_unique<Policy>(std::move(*policy));
    pipeline_ = std::make_unique<Pipeline>(
        PipelineDeps{custody_, protection_.protector, *policy_, audit_, protection_.clock});
  }

  Reply<std::vector<uint8_t>> SignVote(const std::vector<uint8_t>& vote,
                                       std::string_view identity = "validator-alice",
                                       std::string_view public_key = kAliceEd25519) {
    const std::vector<uint8_t> key = Hex(public_key);
    SignInput input;
    input.key_type = "gran";
    input.scheme = base::ParseSchemeOrCryptoId("ed25519");
    input.public_key = key;
    input.message = vote;
    return pipeline_->SignWith(CallContext{std::string(identity), "SignWith"}, input);
  }

  size_t SignCalls() const { return custody_.CallCount(keymgr::CustodyOp::kSign); }

  keymgr::InMemoryCustody custody_;
  support::MemoryProtection protection_;
  RecordingAudit audit_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, GrandpaVoteIsSignedVerifiedAndAudited) {
  const auto vote = GrandpaVote(0, 0xaa, 100, 7, 3);
  auto reply = SignVote(vote);
  ASSERT_EQ(reply.code, ReplyCode::kOk) << reply.message;
  EXPECT_TRUE(keymgr::VerifySignature(Scheme::kEd25519, Hex(kAliceEd25519), vote, reply.value));
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.records[0].verdict, "allowed_new");
  EXPECT_EQ(audit_.records[0].domain, "grandpa_prevote");
  EXPECT_EQ(audit_.records[0].position, "set_id=3 round=7");
  EXPECT_EQ(audit_.records[0].identity, "validator-alice");
}

TEST_F(PipelineTest, IdenticalResignIsAllowed) {
  const auto vote = GrandpaVote(1, 0xaa, 100, 7, 3);
  ASSERT_EQ(SignVote(vote).code, ReplyCode::kOk);
  auto again = SignVote(vote);
  ASSERT_EQ(again.code, ReplyCode::kOk);
  EXPECT_EQ(audit_.records.back().verdict, "allowed_resign");
}

TEST_F(PipelineTest, EquivocationIsRefusedNamingRuleAndPositionWithoutSigning) {
  ASSERT_EQ(SignVote(GrandpaVote(0, 0xaa, 100, 7, 3)).code, ReplyCode::kOk);
  const size_t calls = SignCalls();
  auto refused = SignVote(GrandpaVote(0, 0xbb, 101, 7, 3));
  EXPECT_EQ(refused.code, ReplyCode::kRefused);
  EXPECT_TRUE(refused.value.empty());
  EXPECT_EQ(SignCalls(), calls);
  EXPECT_NE(refused.message.find("refused_grandpa_equivocation"), std::string::npos);
  EXPECT_NE(refused.message.find("set_id=3 round=7"), std::string::npos);
  EXPECT_EQ(audit_.records.back().verdict, "refused_grandpa_equivocation");
  // A precommit at the same round is another stage: independent, so allowed.
  EXPECT_EQ(SignVote(GrandpaVote(1, 0xbb, 101, 7, 3)).code, ReplyCode::kOk);
}

TEST_F(PipelineTest, HsmDownIsUnavailable) {
  custody_.SetUnavailable(true);
  auto reply = SignVote(GrandpaVote(0, 0xaa, 100, 7, 3));
  EXPECT_EQ(reply.code, ReplyCode::kUnavailable);
  EXPECT_TRUE(reply.value.empty());
  EXPECT_EQ(audit_.records.back().verdict, "unavailable");
}

TEST_F(PipelineTest, HistoryWriteFailureIsUnavailableAndNothingIsSigned) {
  protection_.store.SetFailWrites(true);
  auto reply = SignVote(GrandpaVote(0, 0xaa, 100, 7, 3));
  EXPECT_EQ(reply.code, ReplyCode::kUnavailable);
  EXPECT_EQ(SignCalls(), 0u);
  EXPECT_EQ(audit_.records.back().verdict, "unavailable");
}

TEST_F(PipelineTest, DecisionIsDurableEvenWhenSigningThenFails) {
  // The HSM fails after the decision: the vote must still count, so a conflicting one is refused.
  custody_.FailNext(keymgr::CustodyOp::kSign, base::Status::Unavailable("hsm gone"));
  EXPECT_EQ(SignVote(GrandpaVote(0, 0xaa, 100, 7, 3)).code, ReplyCode::kUnavailable);
  EXPECT_EQ(protection_.store.synced_writes(), 1u);
  EXPECT_EQ(SignVote(GrandpaVote(0, 0xbb, 100, 7, 3)).code, ReplyCode::kRefused);
}

TEST_F(PipelineTest, AuditFailureWithholdsTheSignature) {
  audit_.fail = true;
  auto reply = SignVote(GrandpaVote(0, 0xaa, 100, 7, 3));
  EXPECT_EQ(reply.code, ReplyCode::kUnavailable);
  EXPECT_TRUE(reply.value.empty());
}

TEST_F(PipelineTest, UnknownKeyIsPairNotFound) {
  // Granted but not held: custody answers not found after the decision.
  EXPECT_EQ(SignVote(GrandpaVote(0, 0xaa, 100, 7, 3), "validator-alice", kGrantedButAbsent).code,
            ReplyCode::kPairNotFound);
  // Held by custody but outside the caller's grant: equally absent for this caller, never signed.
  auto other = keymgr::KeypairFromSuri(Scheme::kEd25519, "//Bob");
  ASSERT_TRUE(custody_.Import(*base::MakeKeyTypeId("gran"), *other).ok());
  const std::string bob_hex = base::HexEncode(other->public_key());
  const size_t calls = SignCalls();
  EXPECT_EQ(SignVote(GrandpaVote(0, 0xaa, 100, 7, 3), "validator-alice", bob_hex).code,
            ReplyCode::kPairNotFound);
  EXPECT_EQ(SignCalls(), calls);
  EXPECT_EQ(audit_.records.back().verdict, "not_found");
}

TEST_F(PipelineTest, MalformedInputIsInvalidArgument) {
  const auto vote = GrandpaVote(0, 0xaa, 100, 7, 3);
  const std::vector<uint8_t> key = Hex(kAliceEd25519);
  const CallContext alice{"validator-alice", "SignWith"};
  struct Case {
    std::string_view key_type;
    std::string_view crypto_type;
    size_t key_size;
    bool prehashed;
  };
  for (const Case& c : {Case{"gr", "ed25519", 32, false}, Case{"gran", "rsa", 32, false},
                        Case{"gran", "ed25519", 31, false}, Case{"gran", "ed25519", 32, true}}) {
    SignInput input;
    input.key_type = c.key_type;
    input.scheme = base::ParseSchemeOrCryptoId(c.crypto_type);
    input.public_key = std::span<const uint8_t>(key).first(c.key_size);
    input.message = vote;
    input.prehashed = c.prehashed;
    EXPECT_EQ(pipeline_->SignWith(alice, input).code, ReplyCode::kInvalidArgument)
        << c.key_type << " " << c.crypto_type;
  }
  // A payload the GRANDPA classifier cannot decode is refused by protection, not signed.
  const std::vector<uint8_t> garbage(10, 0x42);
  SignInput input;
  input.key_type = "gran";
  input.scheme = base::ParseSchemeOrCryptoId("ed25519");
  input.public_key = key;
  input.message = garbage;
  auto reply = pipeline_->SignWith(alice, input);
  EXPECT_EQ(reply.code, ReplyCode::kRefused);
  EXPECT_EQ(SignCalls(), 0u);
}

// A SIGHUP reload swaps the policy: the next request is judged by the new grants, both ways.
TEST_F(PipelineTest, ReplacedPolicyGovernsTheNextRequest) {
  const auto vote = GrandpaVote(0, 0xab, 200, 9, 3);
  ASSERT_EQ(SignVote(vote, "intruder").code, ReplyCode::kPermissionDenied);

  auto granting = Policy::Parse(std::string(R"(
identities:
  intruder:
    - key_types: [gran]
      operations: [sign]
      public_keys: [")") + std::string(kAliceEd25519) +
                                R"("]
)");
  ASSERT_TRUE(granting.ok()) << granting.status().message();
  pipeline_->ReplacePolicy(std::make_shared<const Policy>(std::move(*granting)));
  auto allowed = SignVote(vote, "intruder");
  ASSERT_EQ(allowed.code, ReplyCode::kOk) << allowed.message;
  EXPECT_TRUE(keymgr::VerifySignature(Scheme::kEd25519, Hex(kAliceEd25519), vote, allowed.value));
  // The new policy no longer names validator-alice, so her grants are gone with the old one.
  EXPECT_EQ(SignVote(vote).code, ReplyCode::kPermissionDenied);
}

TEST_F(PipelineTest, PolicyDenialIsPermissionDeniedAndAudited) {
  for (std::string_view identity : {"intruder", "stranger", ""}) {
    auto reply = SignVote(GrandpaVote(0, 0xaa, 100, 7, 3), identity);
    EXPECT_EQ(reply.code, ReplyCode::kPermissionDenied) << identity;
    EXPECT_EQ(audit_.records.back().verdict, "denied");
    EXPECT_EQ(audit_.records.back().identity, identity);
  }
  EXPECT_EQ(SignCalls(), 0u);
  EXPECT_EQ(protection_.store.synced_writes(), 0u);
  // alice may list but not sign babe keys.
  const std::vector<uint8_t> key = Hex(kAliceSr25519);
  SignInput input;
  input.key_type = "babe";
  input.scheme = base::ParseSchemeOrCryptoId("sr25519");
  input.public_key = key;
  input.message = key;
  EXPECT_EQ(pipeline_->SignWith(CallContext{"validator-alice", "SignWith"}, input).code,
            ReplyCode::kPermissionDenied);
}

TEST_F(PipelineTest, ListingShowsOnlyTheCallersOwnKeys) {
  auto other = keymgr::KeypairFromSuri(Scheme::kEd25519, "//Bob");
  ASSERT_TRUE(custody_.Import(*base::MakeKeyTypeId("gran"), *other).ok());
  auto keys = pipeline_->PublicKeys(CallContext{"validator-alice", "Ed25519PublicKeys"},
                                    Scheme::kEd25519, "gran");
  ASSERT_EQ(keys.code, ReplyCode::kOk);
  EXPECT_EQ(keys.value, std::vector<std::vector<uint8_t>>{Hex(kAliceEd25519)});
  EXPECT_TRUE(pipeline_
                  ->PublicKeys(CallContext{"validator-alice", "Sr25519PublicKeys"},
                               Scheme::kSr25519, "gran")
                  .value.empty());
  EXPECT_EQ(pipeline_->Keys(CallContext{"intruder", "Keys"}, "gran").code,
            ReplyCode::kPermissionDenied);
  auto has = pipeline_->HasKeys(CallContext{"validator-alice", "HasKeys"},
                                {KeyRef{"gran", Hex(kAliceEd25519)}});
  EXPECT_TRUE(has.ok() && has.value);
  has =
      pipeline_->HasKeys(CallContext{"validator-alice", "HasKeys"},
                         {KeyRef{"gran", Hex(kAliceEd25519)}, KeyRef{"gran", other->public_key()}});
  EXPECT_TRUE(has.ok() && !has.value);
}

TEST_F(PipelineTest, VrfSignProducesAVerifiableProof) {
  keymgr::VrfTranscriptData input;
  input.label = "BABE";
  input.items = {{"slot number", std::vector<uint8_t>(8, 1)},
                 {"current epoch", std::vector<uint8_t>(8, 2)},
                 {"chain randomness", std::vector<uint8_t>(32, 3)}};
  const std::vector<uint8_t> key = Hex(kAliceSr25519);
  auto reply = pipeline_->VrfSign(CallContext{"validator-alice", "Sr25519VrfSign"}, "babe", key,
                                  input, std::nullopt);
  ASSERT_EQ(reply.code, ReplyCode::kOk) << reply.message;
  EXPECT_TRUE(keymgr::Sr25519VrfVerify(key, input.Build(), std::nullopt, reply.value));
  EXPECT_EQ(audit_.records.back().verdict, "allowed_unprotected");
  EXPECT_EQ(
      pipeline_
          ->VrfSign(CallContext{"intruder", "Sr25519VrfSign"}, "babe", key, input, std::nullopt)
          .code,
      ReplyCode::kPermissionDenied);
}

TEST_F(PipelineTest, ConcurrentConflictingVotesSignExactlyOne) {
  // Many threads race to vote for different targets in the same round: the durable check-and-record
  // must let exactly one through, and the audit log must hold one line per request.
  constexpr int kThreads = 8;
  std::atomic<int> signed_count{0};
  std::atomic<int> refused_count{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto reply = SignVote(GrandpaVote(1, static_cast<uint8_t>(0x10 + i), 500, 9, 4));
      if (reply.code == ReplyCode::kOk) {
        signed_count.fetch_add(1);
      } else if (reply.code == ReplyCode::kRefused) {
        refused_count.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(signed_count.load(), 1);
  EXPECT_EQ(refused_count.load(), kThreads - 1);
  EXPECT_EQ(audit_.Count(), static_cast<size_t>(kThreads));
}

TEST_F(PipelineTest, GenerateAndInsertNeedTheirGrantAndAMatchingKey) {
  const CallContext admin{"key-admin", "Insert"};
  auto bob = keymgr::KeypairFromSuri(Scheme::kEd25519, "//Bob");
  ASSERT_TRUE(bob.ok());
  const std::vector<uint8_t> bob_key = bob->public_key();
  // The SURI must name the key given; a mismatch stores nothing.
  EXPECT_EQ(pipeline_->Insert(admin, "gran", "//Charlie", bob_key).code,
            ReplyCode::kInvalidArgument);
  EXPECT_EQ(
      pipeline_->Insert(CallContext{"validator-alice", "Insert"}, "gran", "//Bob", bob_key).code,
      ReplyCode::kPermissionDenied);
  EXPECT_EQ(audit_.records.back().verdict, "denied");
  EXPECT_EQ(pipeline_->Insert(admin, "gran", "//Bob", bob_key).code, ReplyCode::kOk);
  auto listed = custody_.List();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(), [&](const keymgr::KeyInfo& info) {
    return info.id.public_key == bob_key;
  }));
  // The audit line of an insert never carries the SURI.
  for (const AuditRecord& record : audit_.records) {
    EXPECT_EQ(record.reason.find("//Bob"), std::string::npos);
  }

  auto generated = pipeline_->GenerateNew(CallContext{"key-admin", "Ed25519GenerateNew"},
                                          Scheme::kEd25519, "gran", std::nullopt);
  ASSERT_EQ(generated.code, ReplyCode::kOk) << generated.message;
  EXPECT_EQ(generated.value.size(), 32u);
  EXPECT_EQ(custody_.CallCount(keymgr::CustodyOp::kGenerate), 1u);
  // The key type fixes the scheme: an sr25519 GRANDPA key is refused by custody.
  EXPECT_EQ(pipeline_
                ->GenerateNew(CallContext{"key-admin", "Sr25519GenerateNew"}, Scheme::kSr25519,
                              "gran", std::nullopt)
                .code,
            ReplyCode::kInvalidArgument);
  EXPECT_EQ(pipeline_
                ->GenerateNew(CallContext{"validator-alice", "Ed25519GenerateNew"},
                              Scheme::kEd25519, "gran", std::nullopt)
                .code,
            ReplyCode::kPermissionDenied);
}

using slashing::testing::BabeHeader;

std::vector<uint8_t> Blake2(const std::vector<uint8_t>& bytes) {
  const base::Hash256 hash = base::Blake2b256(bytes);
  return {hash.begin(), hash.end()};
}

// One public key under several key types (the dev setup's //Alice, or an operator reusing a SURI):
// whatever key type a request names, a message that a slashable role of that public key protects
// is judged and recorded by that role's rule.
class SharedKeyPipelineTest : public testing::Test {
 protected:
  void SetUp() override {
    auto bob = keymgr::KeypairFromSuri(Scheme::kSr25519, "//Bob");
    ASSERT_TRUE(bob.ok());
    auto policy = Policy::Parse(std::string("identities:\n  validator-alice:\n"
                                            "    - key_types: [babe, audi, para, gran, acco]\n"
                                            "      operations: [sign, list]\n"
                                            "      public_keys: [\"") +
                                std::string(kAliceSr25519) + "\", \"" + std::string(kAliceEd25519) +
                                "\", \"" + base::HexEncode(bob->public_key()) +
                                "\"]\n"
                                "    - key_types: [audi, acco]\n"
                                "      operations: [insert, generate]\n");
    ASSERT_TRUE(policy.ok()) << policy.status().message();
    policy_ = std::make_unique<Policy>(std::move(*policy));
    pipeline_ = std::make_unique<Pipeline>(
        PipelineDeps{custody_, protection_.protector, *policy_, audit_, protection_.clock});
  }

  void Hold(std::string_view key_type, Scheme scheme, std::string_view suri) {
    auto pair = keymgr::KeypairFromSuri(scheme, suri);
    ASSERT_TRUE(pair.ok());
    ASSERT_TRUE(custody_.Import(*base::MakeKeyTypeId(key_type), *pair).ok());
  }

  Reply<std::vector<uint8_t>> Sign(std::string_view key_type, std::string_view crypto_type,
                                   std::string_view public_key, const std::vector<uint8_t>& message,
                                   std::optional<std::vector<uint8_t>> preimage = std::nullopt) {
    const std::vector<uint8_t> key = Hex(public_key);
    SignInput input;
    input.key_type = key_type;
    input.scheme = base::ParseSchemeOrCryptoId(crypto_type);
    input.public_key = key;
    input.message = message;
    if (preimage) input.preimage = std::span<const uint8_t>(*preimage);
    return pipeline_->SignWith(context_, input);
  }

  Reply<std::vector<uint8_t>> Seal(std::string_view key_type, const std::vector<uint8_t>& header,
                                   bool with_preimage = true) {
    return Sign(key_type, "sr25519", kAliceSr25519, Blake2(header),
                with_preimage ? std::optional(header) : std::nullopt);
  }

  const CallContext context_{"validator-alice", "SignWith"};
  keymgr::InMemoryCustody custody_;
  support::MemoryProtection protection_;
  RecordingAudit audit_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(SharedKeyPipelineTest, BabeSealThroughAudiIsJudgedByTheBabeRule) {
  Hold("babe", Scheme::kSr25519, "//Alice");
  Hold("audi", Scheme::kSr25519, "//Alice");
  const auto header_a = BabeHeader(42, 0xa1);
  const auto header_b = BabeHeader(42, 0xb2);
  ASSERT_EQ(Seal("babe", header_a).code, ReplyCode::kOk);
  const size_t signs = custody_.CallCount(keymgr::CustodyOp::kSign);
  // The review's reproduction: header B's hash through `audi`, bare and with its header.
  EXPECT_EQ(Seal("audi", header_b, false).code, ReplyCode::kRefused);
  auto refused = Seal("audi", header_b);
  EXPECT_EQ(refused.code, ReplyCode::kRefused);
  EXPECT_NE(refused.message.find("refused_babe_equivocation"), std::string::npos);
  EXPECT_EQ(audit_.records.back().key_type, "audi");
  EXPECT_EQ(audit_.records.back().domain, "babe");
  EXPECT_EQ(audit_.records.back().position, "slot=42");
  EXPECT_EQ(custody_.CallCount(keymgr::CustodyOp::kSign), signs);
  // The same header again through `audi` is a re-sign; through audi first, the record binds babe.
  EXPECT_EQ(Seal("audi", header_a).code, ReplyCode::kOk);
  ASSERT_EQ(Seal("audi", BabeHeader(43, 0xa1)).code, ReplyCode::kOk);
  EXPECT_EQ(audit_.records.back().verdict, "allowed_new");
  EXPECT_EQ(Seal("babe", BabeHeader(43, 0xb2)).code, ReplyCode::kRefused);
}

TEST_F(SharedKeyPipelineTest, AudiKeepsSigningWhatNoSlashableRoleProtects) {
  Hold("babe", Scheme::kSr25519, "//Alice");
  Hold("para", Scheme::kSr25519, "//Alice");
  Hold("audi", Scheme::kSr25519, "//Alice");
  const std::vector<uint8_t> discovery_record(180, 0x0a);
  auto reply = Sign("audi", "sr25519", kAliceSr25519, discovery_record);
  ASSERT_EQ(reply.code, ReplyCode::kOk) << reply.message;
  EXPECT_TRUE(
      keymgr::VerifySignature(Scheme::kSr25519, Hex(kAliceSr25519), discovery_record, reply.value));
  EXPECT_EQ(audit_.records.back().verdict, "allowed_unprotected");
  // A key without a slashable role signs 32 bytes through any type, as an account key signs the
  // hash of a long extrinsic.
  Hold("acco", Scheme::kSr25519, "//Bob");
  auto bob = keymgr::KeypairFromSuri(Scheme::kSr25519, "//Bob");
  EXPECT_EQ(Sign("acco", "sr25519", base::HexEncode(bob->public_key()), Blake2({1, 2, 3})).code,
            ReplyCode::kOk);
}

TEST_F(SharedKeyPipelineTest, RoleAddedByInsertIsJudgedAtOnce) {
  Hold("babe", Scheme::kSr25519, "//Alice");
  ASSERT_EQ(Seal("babe", BabeHeader(50, 0xa1)).code, ReplyCode::kOk);
  ASSERT_EQ(
      pipeline_
          ->Insert(CallContext{"validator-alice", "Insert"}, "audi", "//Alice", Hex(kAliceSr25519))
          .code,
      ReplyCode::kOk);
  EXPECT_EQ(Seal("audi", BabeHeader(50, 0xb2)).code, ReplyCode::kRefused);
}

TEST_F(SharedKeyPipelineTest, GrandpaVoteThroughAccoIsJudgedByTheGranRule) {
  // The second role comes from GenerateNew with a seed, as a node's `--dev` key insertion does.
  Hold("gran", Scheme::kEd25519, "//Alice");
  auto generated = pipeline_->GenerateNew(CallContext{"validator-alice", "Ed25519GenerateNew"},
                                          Scheme::kEd25519, "acco", "//Alice");
  ASSERT_EQ(generated.code, ReplyCode::kOk) << generated.message;
  ASSERT_EQ(generated.value, Hex(kAliceEd25519));
  ASSERT_EQ(Sign("gran", "ed25519", kAliceEd25519, GrandpaVote(0, 0xaa, 100, 7, 3)).code,
            ReplyCode::kOk);
  auto refused = Sign("acco", "ed25519", kAliceEd25519, GrandpaVote(0, 0xbb, 101, 7, 3));
  EXPECT_EQ(refused.code, ReplyCode::kRefused);
  EXPECT_EQ(audit_.records.back().domain, "grandpa_prevote");
  // 53 bytes that are no GRANDPA message are refused too: the gran rule does not recognise them.
  auto junk = GrandpaVote(0, 0xcc, 1, 1, 1);
  junk[0] = 9;
  EXPECT_EQ(Sign("acco", "ed25519", kAliceEd25519, junk).code, ReplyCode::kRefused);
  // The acco role of another scheme's key is unaffected.
  EXPECT_EQ(Sign("acco", "ed25519", kAliceEd25519, {1, 2, 3}).code, ReplyCode::kOk);
}

TEST_F(SharedKeyPipelineTest, UnreadableRolesFailClosed) {
  Hold("babe", Scheme::kSr25519, "//Alice");
  Hold("audi", Scheme::kSr25519, "//Alice");
  custody_.FailNext(keymgr::CustodyOp::kHolds, base::Status::Unavailable("hsm gone"));
  const size_t signs = custody_.CallCount(keymgr::CustodyOp::kSign);
  auto reply = Seal("audi", BabeHeader(60, 0xa1));
  EXPECT_EQ(reply.code, ReplyCode::kUnavailable);
  EXPECT_TRUE(reply.value.empty());
  EXPECT_EQ(custody_.CallCount(keymgr::CustodyOp::kSign), signs);
}

}  // namespace
}  // namespace signer
