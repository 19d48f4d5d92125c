// Table-driven rule tests for every domain, dispute cross-rules, policy and the metrics hook.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "base/hash.h"
#include "slashing/history.h"
#include "slashing/history_admin.h"
#include "slashing/protector.h"
#include "support/fake_clock.h"
#include "support/memory_history_store.h"
#include "support/temp_dir.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

// Payload is one sign request's bytes.
struct Payload {
  std::vector<uint8_t> message;
  std::optional<std::vector<uint8_t>> preimage;
};

// DomainCase describes one domain: how to make a payload at a position with a digest variant,
// and which refusal an equivocation gives.
struct DomainCase {
  const char* name;
  base::KeyTypeId key_type;
  Domain domain;
  std::function<Payload(uint64_t position, uint8_t variant)> make;
  Verdict equivocation;
  bool has_preimage;
};

std::vector<uint8_t> ToVector(const base::Hash256& hash) { return {hash.begin(), hash.end()}; }

const DomainCase kCases[] = {
    {"babe", base::kKeyTypeBabe, Domain::kBabe,
     [](uint64_t slot, uint8_t variant) {
       auto header = testing::BabeHeader(slot, variant);
       return Payload{ToVector(base::Blake2b256(header)), header};
     },
     Verdict::kRefusedBabeEquivocation, true},
    {"grandpa_prevote", base::kKeyTypeGrandpa, Domain::kGrandpaPrevote,
     [](uint64_t round, uint8_t variant) {
       return Payload{testing::GrandpaMessage(0, FilledHash(variant), 100, round, 3), {}};
     },
     Verdict::kRefusedGrandpaEquivocation, false},
    {"grandpa_precommit", base::kKeyTypeGrandpa, Domain::kGrandpaPrecommit,
     [](uint64_t round, uint8_t variant) {
       return Payload{testing::GrandpaMessage(1, FilledHash(variant), 100, round, 3), {}};
     },
     Verdict::kRefusedGrandpaEquivocation, false},
    {"beefy", base::kKeyTypeBeefy, Domain::kBeefy,
     [](uint64_t block, uint8_t variant) {
       auto commitment = testing::BeefyCommitment(static_cast<uint32_t>(block), 2, variant);
       return Payload{ToVector(base::Keccak256(commitment)), commitment};
     },
     Verdict::kRefusedBeefyEquivocation, true},
    {"dispute", base::kKeyTypePara, Domain::kDispute,
     [](uint64_t session, uint8_t variant) {
       // variant 0 = valid, anything else = invalid: the only two digests of the domain.
       return Payload{testing::DisputeStatement(variant == 0, FilledHash(0x3c),
                                                static_cast<uint32_t>(session)),
                      {}};
     },
     Verdict::kRefusedDisputeConflict, false},
};

enum class Backend { kMemory, kRocksDb };

class RuleTest : public ::testing::TestWithParam<std::tuple<size_t, Backend>> {
 protected:
  void SetUp() override {
    if (std::get<1>(GetParam()) == Backend::kRocksDb) {
      auto opened = OpenHistory(dir_.Path("db"), FilledHash(0x11));
      ASSERT_TRUE(opened.ok()) << opened.status().message();
      rocks_ = std::move(*opened);
      store_ = rocks_.get();
    } else {
      store_ = &memory_;
    }
    log_ = std::make_unique<LocalHistoryLog>(*store_);
    protector_ = std::make_unique<Protector>(*log_, clock_, ProtectionPolicy{});
  }

  const DomainCase& Case() const { return kCases[std::get<0>(GetParam())]; }

  Verdict Decide(const Payload& payload, uint8_t key_seed = 1) {
    const std::vector<uint8_t> public_key(32, key_seed);
    SignRequest request{Case().key_type, public_key, payload.message, std::nullopt};
    if (payload.preimage) request.preimage = std::span<const uint8_t>(*payload.preimage);
    auto decision = protector_->Decide(request);
    EXPECT_TRUE(decision.ok()) << decision.status().message();
    if (!decision.ok()) return Verdict::kRefusedUndecodable;
    if (!IsAllowed(decision->verdict) && decision->claim) {
      EXPECT_EQ(decision->claim->domain, Case().domain);  // the typed reason names the domain
    }
    return decision->verdict;
  }

  Watermark WatermarkAt(uint64_t position) {
    auto payload = Case().make(position, 0);
    std::optional<std::span<const uint8_t>> preimage;
    if (payload.preimage) preimage = std::span<const uint8_t>(*payload.preimage);
    auto classification = Classify(Case().key_type, payload.message, preimage);
    const Position& at = classification.claims.at(0).position;
    return Watermark{at.major, at.minor};
  }

  support::TempDir dir_;
  MemoryHistoryStore memory_;
  std::unique_ptr<RocksDbStore> rocks_;
  HistoryStore* store_ = nullptr;
  FakeClock clock_{1'700'000'000'000};
  std::unique_ptr<LocalHistoryLog> log_;
  std::unique_ptr<Protector> protector_;
};

TEST_P(RuleTest, FirstSignIsAllowedAndRecorded) {
  EXPECT_EQ(Decide(Case().make(10, 0)), Verdict::kAllowedNew);
}

TEST_P(RuleTest, IdenticalResignIsAllowed) {
  EXPECT_EQ(Decide(Case().make(10, 0)), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(10, 0)), Verdict::kAllowedResign);
  EXPECT_EQ(Decide(Case().make(10, 0)), Verdict::kAllowedResign);
}

TEST_P(RuleTest, EquivocationIsRefusedWithTypedReason) {
  EXPECT_EQ(Decide(Case().make(10, 0)), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(10, 1)), Case().equivocation);
  // The refusal recorded nothing: the original is still the one that re-signs.
  EXPECT_EQ(Decide(Case().make(10, 0)), Verdict::kAllowedResign);
  EXPECT_EQ(Decide(Case().make(10, 1)), Case().equivocation);
}

TEST_P(RuleTest, PositionsAreIndependent) {
  EXPECT_EQ(Decide(Case().make(10, 0)), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(11, 1)), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(9, 1)), Verdict::kAllowedNew);
}

TEST_P(RuleTest, KeysAreIndependent) {
  EXPECT_EQ(Decide(Case().make(10, 0), 1), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(10, 1), 2), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(10, 1), 1), Case().equivocation);
}

TEST_P(RuleTest, BelowWatermarkIsRefused) {
  EXPECT_EQ(Decide(Case().make(50, 0)), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(200, 0)), Verdict::kAllowedNew);
  auto pruned = PruneBelow(*store_, Case().domain, WatermarkAt(100));
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(pruned->keys, 1u);
  EXPECT_EQ(pruned->records_deleted, 1u);
  EXPECT_EQ(Decide(Case().make(50, 0)), Verdict::kRefusedBelowWatermark);
  EXPECT_EQ(Decide(Case().make(60, 1)), Verdict::kRefusedBelowWatermark);
  EXPECT_EQ(Decide(Case().make(100, 0)), Verdict::kAllowedNew);
  EXPECT_EQ(Decide(Case().make(200, 0)), Verdict::kAllowedResign);
  EXPECT_EQ(Decide(Case().make(200, 1)), Case().equivocation);
}

TEST_P(RuleTest, WrongPreimageAndUndecodablePayloadAreRefused) {
  auto payload = Case().make(10, 0);
  if (Case().has_preimage) {
    Payload lying = payload;
    lying.preimage = Case().make(10, 1).preimage;  // a valid preimage of another message
    EXPECT_EQ(Decide(lying), Verdict::kRefusedPreimageMismatch);
    Payload missing = payload;
    missing.preimage.reset();
    EXPECT_EQ(Decide(missing), Verdict::kRefusedUndecodable);
  }
  Payload garbage = payload;
  garbage.message.push_back(0xff);
  EXPECT_EQ(Decide(garbage), Verdict::kRefusedUndecodable);
  Payload truncated = payload;
  truncated.message.resize(truncated.message.size() / 2);
  EXPECT_EQ(Decide(truncated), Verdict::kRefusedUndecodable);
  // None of the refused requests recorded anything.
  EXPECT_EQ(Decide(Case().make(10, 1)), Verdict::kAllowedNew);
}

std::string CaseName(const ::testing::TestParamInfo<std::tuple<size_t, Backend>>& info) {
  return std::string(kCases[std::get<0>(info.param)].name) +
         (std::get<1>(info.param) == Backend::kMemory ? "_memory" : "_rocksdb");
}

INSTANTIATE_TEST_SUITE_P(AllDomains, RuleTest,
                         ::testing::Combine(::testing::Range<size_t>(0, std::size(kCases)),
                                            ::testing::Values(Backend::kMemory, Backend::kRocksDb)),
                         CaseName);

// Dispute cross-rules: backing and approval are "valid" votes in the dispute domain.
class DisputeRuleTest : public ::testing::Test {
 protected:
  base::Result<Decision> Sign(const std::vector<uint8_t>& message) {
    const std::vector<uint8_t> public_key(32, 7);
    return protector_.Decide({base::kKeyTypePara, public_key, message, std::nullopt});
  }
  Verdict VerdictOf(const std::vector<uint8_t>& message) {
    auto decision = Sign(message);
    EXPECT_TRUE(decision.ok());
    return decision.ok() ? decision->verdict : Verdict::kRefusedUndecodable;
  }

  MemoryHistoryStore store_;
  LocalHistoryLog log_{store_};
  FakeClock clock_{1};
  Protector protector_{log_, clock_, ProtectionPolicy{}};
};

TEST_F(DisputeRuleTest, BackingThenDisputeInvalidIsRefused) {
  EXPECT_EQ(VerdictOf(testing::BackingStatement(1, FilledHash(1), 5)), Verdict::kAllowedNew);
  EXPECT_EQ(VerdictOf(testing::BackingStatement(2, FilledHash(1), 5)), Verdict::kAllowedResign);
  auto refused = Sign(testing::DisputeStatement(false, FilledHash(1), 5));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->verdict, Verdict::kRefusedDisputeConflict);
  ASSERT_TRUE(refused->claim.has_value());
  EXPECT_EQ(refused->claim->position.major, 5u);
  EXPECT_EQ(refused->claim->position.candidate, FilledHash(1));
  // Another session or candidate is another position.
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(false, FilledHash(1), 6)), Verdict::kAllowedNew);
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(false, FilledHash(2), 5)), Verdict::kAllowedNew);
}

TEST_F(DisputeRuleTest, DisputeInvalidThenApprovalIsRefused) {
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(false, FilledHash(1), 5)), Verdict::kAllowedNew);
  EXPECT_EQ(VerdictOf(testing::ApprovalVote({FilledHash(1)}, 5)), Verdict::kRefusedDisputeConflict);
  EXPECT_EQ(VerdictOf(testing::BackingStatement(2, FilledHash(1), 5)),
            Verdict::kRefusedDisputeConflict);
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(true, FilledHash(1), 5)),
            Verdict::kRefusedDisputeConflict);
}

TEST_F(DisputeRuleTest, MultiCandidateApprovalProtectsEachCandidateAtomically) {
  EXPECT_EQ(VerdictOf(testing::ApprovalVote({FilledHash(1), FilledHash(2), FilledHash(3)}, 5)),
            Verdict::kAllowedNew);
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(false, FilledHash(2), 5)),
            Verdict::kRefusedDisputeConflict);
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(true, FilledHash(3), 5)), Verdict::kAllowedResign);
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(false, FilledHash(4), 5)), Verdict::kAllowedNew);
  // One refused candidate refuses the whole vote and records none of it.
  auto refused = Sign(testing::ApprovalVote({FilledHash(5), FilledHash(4)}, 5));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->verdict, Verdict::kRefusedDisputeConflict);
  EXPECT_EQ(refused->claim->position.candidate, FilledHash(4));
  EXPECT_EQ(VerdictOf(testing::DisputeStatement(false, FilledHash(5), 5)), Verdict::kAllowedNew);
  // A multi-candidate vote partly re-signing and partly new is allowed and new.
  EXPECT_EQ(VerdictOf(testing::ApprovalVote({FilledHash(1), FilledHash(6)}, 5)),
            Verdict::kAllowedNew);
  EXPECT_EQ(VerdictOf(testing::ApprovalVote({FilledHash(1), FilledHash(6)}, 5)),
            Verdict::kAllowedResign);
}

TEST_F(DisputeRuleTest, UnprotectedParaMessagesPassWithoutRecording) {
  EXPECT_EQ(VerdictOf(testing::Bitfield(64, 5)), Verdict::kAllowedUnprotected);
  EXPECT_EQ(VerdictOf(testing::PvfCheck(false, 5)), Verdict::kAllowedUnprotected);
  EXPECT_EQ(store_.synced_writes(), 0u);
}

TEST(PolicyTest, UnrecognisedPayloadsAreRefusedUnlessAllowedPerKeyType) {
  MemoryHistoryStore store;
  LocalHistoryLog log(store);
  FakeClock clock(1);
  const std::vector<uint8_t> public_key(32, 1);
  const std::vector<uint8_t> junk = {'j', 'u', 'n', 'k'};
  Protector strict(log, clock, ProtectionPolicy{});
  Protector lenient(log, clock, ProtectionPolicy{{base::kKeyTypePara}});
  EXPECT_EQ(strict.Decide({base::kKeyTypePara, public_key, junk, std::nullopt})->verdict,
            Verdict::kRefusedUndecodable);
  EXPECT_EQ(lenient.Decide({base::kKeyTypePara, public_key, junk, std::nullopt})->verdict,
            Verdict::kAllowedByPolicy);
  EXPECT_EQ(lenient.Decide({base::kKeyTypeGrandpa, public_key, junk, std::nullopt})->verdict,
            Verdict::kRefusedUndecodable);
  EXPECT_EQ(
      strict.Decide({base::KeyTypeIdFromLiteral("audi"), public_key, junk, std::nullopt})->verdict,
      Verdict::kAllowedUnprotected);
  // A lying preimage is refused even where unrecognised payloads are allowed.
  Protector babe_lenient(log, clock, ProtectionPolicy{{base::kKeyTypeBabe}});
  const auto header = testing::BabeHeader(1, 1);
  const std::vector<uint8_t> wrong_hash(32, 0);
  EXPECT_EQ(
      babe_lenient
          .Decide({base::kKeyTypeBabe, public_key, wrong_hash, std::span<const uint8_t>(header)})
          ->verdict,
      Verdict::kRefusedPreimageMismatch);
}

// gran and para messages are signed as they are: a preimage sent with one is refused whatever the
// policy. Before, it made the message "unrecognised", and a policy allowing unrecognised gran or
// para messages then signed a second vote for the same round, or an invalid dispute vote after a
// backing statement, without checking or recording either.
TEST(PolicyTest, APreimageWithAVoteSignedAsItIsIsRefusedWhateverThePolicy) {
  MemoryHistoryStore store;
  LocalHistoryLog log(store);
  FakeClock clock(1);
  const std::vector<uint8_t> public_key(32, 1);
  const std::vector<uint8_t> preimage = {'x'};
  Protector lenient(log, clock, ProtectionPolicy{{base::kKeyTypeGrandpa, base::kKeyTypePara}});
  const auto prevote_a = testing::GrandpaMessage(0, FilledHash(1), 10, 5, 1);
  const auto prevote_b = testing::GrandpaMessage(0, FilledHash(2), 10, 5, 1);
  const auto backing = testing::BackingStatement(1, FilledHash(7), 3);
  const auto invalid = testing::DisputeStatement(false, FilledHash(7), 3);
  const base::KeyTypeId gran = base::kKeyTypeGrandpa;
  const base::KeyTypeId para = base::kKeyTypePara;
  const std::vector<uint8_t> junk = {'j', 'u', 'n', 'k'};
  struct Case {
    std::vector<uint8_t> message;
    std::optional<std::span<const uint8_t>> preimage;
    Verdict verdict;
    base::KeyTypeId key_type;
  };
  const Case cases[] = {
      {prevote_a, std::nullopt, Verdict::kAllowedNew, gran},
      {prevote_b, preimage, Verdict::kRefusedPreimageMismatch, gran},
      {prevote_b, std::nullopt, Verdict::kRefusedGrandpaEquivocation, gran},
      {prevote_a, preimage, Verdict::kRefusedPreimageMismatch, gran},
      {prevote_a, std::span<const uint8_t>(), Verdict::kAllowedResign, gran},
      {backing, std::nullopt, Verdict::kAllowedNew, para},
      {invalid, preimage, Verdict::kRefusedPreimageMismatch, para},
      {invalid, std::nullopt, Verdict::kRefusedDisputeConflict, para},
      // Junk is still the policy's to allow, and still refused when it comes with a preimage.
      {junk, std::nullopt, Verdict::kAllowedByPolicy, para},
      {junk, preimage, Verdict::kRefusedPreimageMismatch, para},
  };
  for (const Case& c : cases) {
    auto decision = lenient.Decide({c.key_type, public_key, c.message, c.preimage});
    ASSERT_TRUE(decision.ok()) << decision.status().message();
    EXPECT_EQ(decision->verdict, c.verdict)
        << base::KeyTypeName(c.key_type) << " " << c.message.size() << " bytes, preimage "
        << (c.preimage.has_value() ? c.preimage->size() : 0);
  }
}

TEST(PolicyTest, MalformedPublicKeyIsAnError) {
  MemoryHistoryStore store;
  LocalHistoryLog log(store);
  FakeClock clock(1);
  Protector protector(log, clock, ProtectionPolicy{});
  const auto message = testing::GrandpaMessage(0, FilledHash(1), 1, 1, 1);
  auto decision = protector.Decide({base::kKeyTypeGrandpa, {}, message, std::nullopt});
  ASSERT_FALSE(decision.ok());
  EXPECT_EQ(decision.status().code(), base::StatusCode::kInvalidArgument);
}

// One public key held under several key types: protection follows every slashable role the
// caller reports, whatever key type the request names. Each case is a sequence of requests on a
// fresh history; each step gives the verdict it must get.
struct RoleStep {
  base::KeyTypeId key_type;
  std::vector<base::KeyTypeId> other_roles;
  std::vector<uint8_t> message;
  std::optional<std::vector<uint8_t>> preimage;
  Verdict expected;
};

struct RoleCase {
  const char* name;
  std::vector<base::KeyTypeId> allow_unrecognised;
  std::vector<RoleStep> steps;
};

std::vector<uint8_t> HashOf(const std::vector<uint8_t>& header) {
  const base::Hash256 hash = base::Blake2b256(header);
  return {hash.begin(), hash.end()};
}

std::vector<RoleCase> RoleCases() {
  const auto header_a = testing::BabeHeader(42, 0xa1);
  const auto header_b = testing::BabeHeader(42, 0xb2);
  const auto prevote_a = testing::GrandpaMessage(0, FilledHash(0xa1), 100, 7, 3);
  const auto prevote_b = testing::GrandpaMessage(0, FilledHash(0xb2), 100, 7, 3);
  auto not_grandpa = prevote_a;
  not_grandpa[0] = 9;                                     // 53 bytes, but no GRANDPA stage
  const std::vector<uint8_t> discovery_record(120, 'r');  // an authority-discovery record's size
  const base::KeyTypeId audi = base::KeyTypeIdFromLiteral("audi");
  const base::KeyTypeId acco = base::KeyTypeIdFromLiteral("acco");
  return {
      {"SealThroughBabeThenConflictingSealThroughAudiIsRefused",
       {},
       {{base::kKeyTypeBabe, {}, HashOf(header_a), header_a, Verdict::kAllowedNew},
        {audi, {base::kKeyTypeBabe}, HashOf(header_b), header_b, Verdict::kRefusedBabeEquivocation},
        {audi, {base::kKeyTypeBabe}, HashOf(header_a), header_a, Verdict::kAllowedResign}}},
      {"SealThroughAudiIsRecordedAndBindsTheBabeRole",
       {},
       {{audi,
         {base::kKeyTypeBabe, base::kKeyTypePara},
         HashOf(header_a),
         header_a,
         Verdict::kAllowedNew},
        {base::kKeyTypeBabe, {}, HashOf(header_b), header_b, Verdict::kRefusedBabeEquivocation}}},
      {"BareHashThroughAudiIsRefusedAsTheBabeRuleWould",
       {},
       {{audi,
         {base::kKeyTypeBabe},
         HashOf(header_b),
         std::nullopt,
         Verdict::kRefusedUndecodable}}},
      {"LyingPreimageThroughAudiIsRefused",
       {},
       {{audi,
         {base::kKeyTypeBabe},
         HashOf(header_a),
         header_b,
         Verdict::kRefusedPreimageMismatch}}},
      {"BareHashThroughAudiIsAllowedWhereThePolicyAllowsUnrecognisedBabe",
       {base::kKeyTypeBabe},
       {{audi, {base::kKeyTypeBabe}, HashOf(header_b), std::nullopt, Verdict::kAllowedByPolicy}}},
      {"AuthorityDiscoveryRecordThroughAudiStillSigns",
       {},
       {{audi,
         {base::kKeyTypeBabe, base::kKeyTypePara},
         discovery_record,
         std::nullopt,
         Verdict::kAllowedUnprotected}}},
      {"BackingThroughAudiBindsTheDisputeRule",
       {},
       {{audi,
         {base::kKeyTypePara},
         testing::BackingStatement(2, FilledHash(0x5c), 9),
         std::nullopt,
         Verdict::kAllowedNew},
        {base::kKeyTypePara,
         {},
         testing::DisputeStatement(false, FilledHash(0x5c), 9),
         std::nullopt,
         Verdict::kRefusedDisputeConflict}}},
      {"MalformedParaStatementThroughAudiIsRefused",
       {},
       {{audi,
         {base::kKeyTypePara},
         {'B', 'K', 'N', 'G', 0xff},
         std::nullopt,
         Verdict::kRefusedUndecodable}}},
      {"PrevoteThroughAccoConflictingWithGranIsRefused",
       {},
       {{base::kKeyTypeGrandpa, {}, prevote_a, std::nullopt, Verdict::kAllowedNew},
        {acco,
         {base::kKeyTypeGrandpa},
         prevote_b,
         std::nullopt,
         Verdict::kRefusedGrandpaEquivocation}}},
      {"PrevoteThroughAccoFirstBindsTheGranRole",
       {},
       {{acco, {base::kKeyTypeGrandpa}, prevote_b, std::nullopt, Verdict::kAllowedNew},
        {base::kKeyTypeGrandpa,
         {},
         prevote_a,
         std::nullopt,
         Verdict::kRefusedGrandpaEquivocation}}},
      {"GrandpaSizedJunkThroughAccoIsRefused",
       {},
       {{acco, {base::kKeyTypeGrandpa}, not_grandpa, std::nullopt, Verdict::kRefusedUndecodable}}},
      {"WithoutASlashableRoleAuditedTypesSignAnything",
       {},
       {{acco, {}, prevote_a, std::nullopt, Verdict::kAllowedUnprotected},
        {audi,
         {audi, base::KeyTypeIdFromLiteral("asgn")},
         HashOf(header_a),
         std::nullopt,
         Verdict::kAllowedUnprotected}}},
  };
}

class RoleUnionTest : public ::testing::TestWithParam<size_t> {};

TEST_P(RoleUnionTest, EveryRoleOfThePublicKeyJudges) {
  const RoleCase role_case = RoleCases()[GetParam()];
  MemoryHistoryStore store;
  LocalHistoryLog log(store);
  FakeClock clock(1);
  Protector protector(log, clock, ProtectionPolicy{role_case.allow_unrecognised});
  const std::vector<uint8_t> public_key(32, 0x42);
  for (size_t i = 0; i < role_case.steps.size(); ++i) {
    const RoleStep& step = role_case.steps[i];
    SignRequest request;
    request.key_type = step.key_type;
    request.public_key = public_key;
    request.message = step.message;
    if (step.preimage) request.preimage = std::span<const uint8_t>(*step.preimage);
    request.other_roles = step.other_roles;
    auto decision = protector.Decide(request);
    ASSERT_TRUE(decision.ok()) << decision.status().message();
    EXPECT_EQ(decision->verdict, step.expected)
        << "step " << i << ": got " << VerdictName(decision->verdict);
  }
}

std::string RoleCaseName(const ::testing::TestParamInfo<size_t>& param_info) {
  return RoleCases()[param_info.param].name;
}

INSTANTIATE_TEST_SUITE_P(Cases, RoleUnionTest, ::testing::Range<size_t>(0, RoleCases().size()),
                         RoleCaseName);

TEST(RoleShapeTest, OnlyMessagesOfARoleShapeAreJudgedByIt) {
  EXPECT_TRUE(MayBeMessageOf(base::kKeyTypeBabe, std::vector<uint8_t>(32)));
  EXPECT_FALSE(MayBeMessageOf(base::kKeyTypeBabe, std::vector<uint8_t>(33)));
  EXPECT_TRUE(MayBeMessageOf(base::kKeyTypeBeefy, std::vector<uint8_t>(32)));
  EXPECT_TRUE(MayBeMessageOf(base::kKeyTypeGrandpa, std::vector<uint8_t>(53)));
  EXPECT_FALSE(MayBeMessageOf(base::kKeyTypeGrandpa, std::vector<uint8_t>(52)));
  for (const char* magic : {"BKNG", "APPR", "DISP", "VCPC"}) {
    EXPECT_TRUE(MayBeMessageOf(base::kKeyTypePara, std::vector<uint8_t>(magic, magic + 4)))
        << magic;
  }
  EXPECT_FALSE(MayBeMessageOf(base::kKeyTypePara, testing::Bitfield(64, 5)));
  EXPECT_FALSE(MayBeMessageOf(base::KeyTypeIdFromLiteral("audi"), std::vector<uint8_t>(32)));
}

class RecordingObserver : public DecisionObserver {
 public:
  void OnDecision(const DecisionEvent& event) override { events.push_back(event); }
  std::vector<DecisionEvent> events;
};

TEST(MetricsHookTest, ReportsDomainVerdictAndLatency) {
  MemoryHistoryStore store;
  LocalHistoryLog log(store);
  FakeClock clock(1);
  RecordingObserver observer;
  Protector protector(log, clock, ProtectionPolicy{}, &observer);
  const std::vector<uint8_t> public_key(32, 1);
  const auto vote = testing::GrandpaMessage(1, FilledHash(1), 1, 1, 1);
  const auto other = testing::GrandpaMessage(1, FilledHash(2), 1, 1, 1);
  ASSERT_TRUE(protector.Decide({base::kKeyTypeGrandpa, public_key, vote, std::nullopt}).ok());
  ASSERT_TRUE(protector.Decide({base::kKeyTypeGrandpa, public_key, other, std::nullopt}).ok());
  store.SetFailWrites(true);
  const auto third = testing::GrandpaMessage(1, FilledHash(3), 1, 2, 1);
  ASSERT_FALSE(protector.Decide({base::kKeyTypeGrandpa, public_key, third, std::nullopt}).ok());
  ASSERT_EQ(observer.events.size(), 3u);
  EXPECT_EQ(observer.events[0].domain, Domain::kGrandpaPrecommit);
  EXPECT_EQ(observer.events[0].verdict, Verdict::kAllowedNew);
  EXPECT_EQ(observer.events[1].verdict, Verdict::kRefusedGrandpaEquivocation);
  EXPECT_FALSE(observer.events[2].verdict.has_value());
  EXPECT_EQ(observer.events[2].key_type, base::kKeyTypeGrandpa);
  EXPECT_GT(observer.events[0].latency.count(), 0);
}

}  // namespace
}  // namespace slashing
