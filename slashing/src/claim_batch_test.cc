// ClaimBatch and the one rule: tables of claim sequences with the verdicts and writes they give.
#include "slashing/claim_batch.h"

#include "support/memory_history_store.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "slashing/record.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

constexpr uint64_t kNow = 1'700'000'000'000;

std::vector<uint8_t> PublicKey(uint8_t seed) { return std::vector<uint8_t>(32, seed); }

Claim MakeClaim(Domain domain, uint64_t major, uint64_t minor, std::vector<uint8_t> digest,
                uint8_t candidate_seed = 0) {
  Claim claim;
  claim.domain = domain;
  claim.position = {major, minor, {}};
  if (candidate_seed != 0) claim.position.candidate = FilledHash(candidate_seed);
  claim.digest = std::move(digest);
  return claim;
}

// Shorthands for the claims of each domain; `seed` varies the digest.
Claim Babe(uint64_t slot, uint8_t seed) {
  return MakeClaim(Domain::kBabe, slot, 0, std::vector<uint8_t>(32, seed));
}
Claim Prevote(uint64_t set_id, uint64_t round, uint8_t seed) {
  return MakeClaim(Domain::kGrandpaPrevote, set_id, round, std::vector<uint8_t>(36, seed));
}
Claim Precommit(uint64_t set_id, uint64_t round, uint8_t seed) {
  return MakeClaim(Domain::kGrandpaPrecommit, set_id, round, std::vector<uint8_t>(36, seed));
}
Claim Beefy(uint64_t set_id, uint64_t block, uint8_t seed) {
  return MakeClaim(Domain::kBeefy, set_id, block, std::vector<uint8_t>(32, seed));
}
Claim Dispute(uint64_t session, uint8_t candidate_seed, bool valid) {
  return MakeClaim(Domain::kDispute, session, 0, {static_cast<uint8_t>(valid ? 1 : 0)},
                   candidate_seed);
}

// StoredClaim is history present before the batch: a record of one or more digests (more than one
// marks an imported conflict) at the position of `claim`.
struct StoredClaim {
  uint8_t key_seed = 1;
  Claim claim;
  std::vector<std::vector<uint8_t>> extra_digests = {};
};

struct StoredWatermark {
  uint8_t key_seed = 1;
  Domain domain = Domain::kBabe;
  Watermark watermark;
};

// Request is one Apply call and the verdicts it must get.
struct Request {
  uint8_t key_seed = 1;
  std::vector<Claim> claims;
  std::vector<Verdict> expected;
};

// Staged names one claim whose new record the batch must write: request index, claim index.
struct Staged {
  size_t request = 0;
  size_t claim = 0;
};

struct BatchCase {
  const char* name;
  std::vector<StoredClaim> stored;
  std::vector<StoredWatermark> watermarks;
  std::vector<Request> requests;
  std::vector<Staged> staged;  // in the order the writes must come
};

// PrintTo names a failing case by its name rather than its bytes.
void PrintTo(const BatchCase& test_case, std::ostream* out) { *out << test_case.name; }

using V = Verdict;

const BatchCase kCases[] = {
    {"FirstClaimIsNewAndStaged", {}, {}, {{1, {Babe(5, 1)}, {V::kAllowedNew}}}, {{0, 0}}},
    {"IdenticalResignOfStoredRecordWritesNothing",
     {{1, Babe(5, 1)}},
     {},
     {{1, {Babe(5, 1)}, {V::kAllowedResign}}},
     {}},
    {"EquivocationAgainstStoreIsTypedByDomain",
     {{1, Babe(5, 1)},
      {1, Prevote(1, 2, 1)},
      {1, Precommit(1, 2, 1)},
      {1, Beefy(3, 4, 1)},
      {1, Dispute(9, 7, true)}},
     {},
     {{1, {Babe(5, 2)}, {V::kRefusedBabeEquivocation}},
      {1, {Prevote(1, 2, 2)}, {V::kRefusedGrandpaEquivocation}},
      {1, {Precommit(1, 2, 2)}, {V::kRefusedGrandpaEquivocation}},
      {1, {Beefy(3, 4, 2)}, {V::kRefusedBeefyEquivocation}},
      {1, {Dispute(9, 7, false)}, {V::kRefusedDisputeConflict}}},
     {}},
    {"ConflictingRequestsInOneBatchFirstWins",
     {},
     {},
     {{1, {Babe(5, 1)}, {V::kAllowedNew}},
      {1, {Babe(5, 2)}, {V::kRefusedBabeEquivocation}},
      {1, {Prevote(1, 2, 1)}, {V::kAllowedNew}},
      {1, {Prevote(1, 2, 3)}, {V::kRefusedGrandpaEquivocation}}},
     {{0, 0}, {2, 0}}},
    {"IdenticalResignInOneBatchIsAResign",
     {},
     {},
     {{1, {Beefy(3, 4, 1)}, {V::kAllowedNew}}, {1, {Beefy(3, 4, 1)}, {V::kAllowedResign}}},
     {{0, 0}}},
    {"ConflictInsideOneRequestStagesNothing",
     {},
     {},
     {{1, {Babe(5, 1), Babe(5, 2)}, {V::kAllowedNew, V::kRefusedBabeEquivocation}},
      // The refused request took nothing, so the second digest is new to a later request.
      {1, {Babe(5, 2)}, {V::kAllowedNew}}},
     {{1, 0}}},
    {"SameClaimTwiceInOneRequestIsStagedOnce",
     {},
     {},
     {{1, {Prevote(1, 2, 1), Prevote(1, 2, 1)}, {V::kAllowedNew, V::kAllowedResign}}},
     {{0, 0}}},
    {"OneRefusedClaimRefusesTheWholeRequest",
     {{1, Babe(5, 1)}},
     {},
     {{1,
       {Babe(6, 1), Babe(5, 2), Babe(7, 1)},
       {V::kAllowedNew, V::kRefusedBabeEquivocation, V::kAllowedNew}},
      {1, {Babe(6, 9)}, {V::kAllowedNew}}},
     {{1, 0}}},
    {"RequestRecordsAreWrittenInKeyOrder",
     {},
     {},
     {{1, {Babe(9, 1), Babe(2, 1), Babe(5, 1)}, {V::kAllowedNew, V::kAllowedNew, V::kAllowedNew}},
      {1, {Babe(1, 1)}, {V::kAllowedNew}}},
     {{0, 1}, {0, 2}, {0, 0}, {1, 0}}},
    {"BelowTheWatermarkIsRefusedEvenForAnIdenticalDigest",
     {{1, Prevote(4, 10, 1)}},
     {{1, Domain::kGrandpaPrevote, {4, 11}}},
     {{1, {Prevote(4, 10, 1)}, {V::kRefusedBelowWatermark}},
      {1, {Prevote(3, 99, 1)}, {V::kRefusedBelowWatermark}},
      {1, {Prevote(4, 11, 1)}, {V::kAllowedNew}},
      // The watermark is per domain: precommits of the same round are not affected.
      {1, {Precommit(4, 10, 1)}, {V::kAllowedNew}}},
     {{2, 0}, {3, 0}}},
    {"BelowTheWatermarkRefusesTheWholeRequest",
     {},
     {{1, Domain::kBabe, {100, 0}}},
     {{1, {Babe(100, 1), Babe(99, 1)}, {V::kAllowedNew, V::kRefusedBelowWatermark}}},
     {}},
    {"ConflictedPositionRefusesEveryDigest",
     {{1, Beefy(3, 4, 1), {std::vector<uint8_t>(32, 2)}}},
     {},
     {{1, {Beefy(3, 4, 1)}, {V::kRefusedConflictedPosition}},
      {1, {Beefy(3, 4, 2)}, {V::kRefusedConflictedPosition}},
      {1, {Beefy(3, 4, 3)}, {V::kRefusedConflictedPosition}}},
     {}},
    {"DisputesAreKeyedBySessionAndCandidate",
     {},
     {},
     {{1, {Dispute(9, 7, true), Dispute(9, 8, true)}, {V::kAllowedNew, V::kAllowedNew}},
      {1, {Dispute(9, 7, false)}, {V::kRefusedDisputeConflict}},
      {1, {Dispute(9, 8, true)}, {V::kAllowedResign}},
      {1, {Dispute(10, 7, false)}, {V::kAllowedNew}}},
     {{0, 0}, {0, 1}, {3, 0}}},
    {"PublicKeysAndDomainsAreIndependent",
     {},
     {},
     {{1, {Babe(5, 1)}, {V::kAllowedNew}},
      {2, {Babe(5, 2)}, {V::kAllowedNew}},
      {1, {Prevote(5, 0, 3)}, {V::kAllowedNew}},
      {1, {Precommit(5, 0, 4)}, {V::kAllowedNew}}},
     {{0, 0}, {1, 0}, {2, 0}, {3, 0}}},
    {"ResignOfStagedAndNewClaimTogether",
     {},
     {},
     {{1, {Babe(5, 1)}, {V::kAllowedNew}},
      {1, {Babe(5, 1), Babe(6, 1)}, {V::kAllowedResign, V::kAllowedNew}},
      {1, {Babe(6, 2), Babe(7, 1)}, {V::kRefusedBabeEquivocation, V::kAllowedNew}}},
     {{0, 0}, {1, 1}}},
};

class ClaimBatchTableTest : public ::testing::TestWithParam<BatchCase> {};

TEST_P(ClaimBatchTableTest, VerdictsAndWrites) {
  const BatchCase& test_case = GetParam();
  MemoryHistoryStore store;
  StoreBatch seed;
  for (const StoredClaim& stored : test_case.stored) {
    StoredRecord record{{stored.claim.digest}, 1};
    for (const auto& digest : stored.extra_digests) record.digests.push_back(digest);
    seed.push_back({EncodeRecordKey(RecordKey{PublicKey(stored.key_seed), stored.claim.domain,
                                              stored.claim.position}),
                    EncodeRecordValue(record)});
  }
  for (const StoredWatermark& stored : test_case.watermarks) {
    seed.push_back({EncodeWatermarkKey(PublicKey(stored.key_seed), stored.domain),
                    EncodeWatermarkValue(stored.watermark)});
  }
  if (!seed.empty()) {
    ASSERT_TRUE(store.WriteSynced(seed).ok());
  }
  const auto before = store.Snapshot();

  ClaimBatch batch(store);
  for (size_t i = 0; i < test_case.requests.size(); ++i) {
    const Request& request = test_case.requests[i];
    ASSERT_EQ(request.claims.size(), request.expected.size()) << "bad table row " << i;
    auto verdicts = batch.Apply(PublicKey(request.key_seed), request.claims, kNow + i);
    ASSERT_TRUE(verdicts.ok()) << verdicts.status().message();
    EXPECT_EQ(*verdicts, request.expected) << "request " << i;
  }

  StoreBatch expected;
  for (const Staged& staged : test_case.staged) {
    const Request& request = test_case.requests[staged.request];
    const Claim& claim = request.claims[staged.claim];
    expected.push_back(
        {EncodeRecordKey(RecordKey{PublicKey(request.key_seed), claim.domain, claim.position}),
         EncodeRecordValue(StoredRecord{{claim.digest}, kNow + staged.request})});
  }
  ASSERT_EQ(batch.writes().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(batch.writes()[i].key, expected[i].key) << "write " << i;
    EXPECT_EQ(batch.writes()[i].value, expected[i].value) << "write " << i;
  }
  // The batch decides; it never writes.
  EXPECT_EQ(store.Snapshot(), before);
}

INSTANTIATE_TEST_SUITE_P(Cases, ClaimBatchTableTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<BatchCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(EvaluateClaimTest, TheOneRule) {
  const Claim claim = Prevote(1, 10, 1);
  const std::vector<std::vector<uint8_t>> same = {claim.digest};
  const std::vector<std::vector<uint8_t>> other = {std::vector<uint8_t>(36, 2)};
  const std::vector<std::vector<uint8_t>> conflicted = {claim.digest, other[0]};
  EXPECT_EQ(EvaluateClaim(claim, nullptr, std::nullopt), Verdict::kAllowedNew);
  EXPECT_EQ(EvaluateClaim(claim, &same, std::nullopt), Verdict::kAllowedResign);
  EXPECT_EQ(EvaluateClaim(claim, &other, std::nullopt), Verdict::kRefusedGrandpaEquivocation);
  EXPECT_EQ(EvaluateClaim(claim, &conflicted, std::nullopt), Verdict::kRefusedConflictedPosition);
  EXPECT_EQ(EvaluateClaim(claim, &same, Watermark{1, 11}), Verdict::kRefusedBelowWatermark);
  EXPECT_EQ(EvaluateClaim(claim, &same, Watermark{1, 10}), Verdict::kAllowedResign);
  EXPECT_EQ(EvaluateClaim(claim, nullptr, Watermark{2, 0}), Verdict::kRefusedBelowWatermark);
}

TEST(ClaimBatchTest, ReadFailureFailsOnlyThatRequest) {
  MemoryHistoryStore store;
  ClaimBatch batch(store);
  const Claim first = Babe(5, 1);
  ASSERT_TRUE(batch.Apply(PublicKey(1), {&first, 1}, kNow).ok());

  store.SetFailReads(true);
  const Claim failing[] = {Babe(6, 1), Babe(7, 1)};
  auto failed = batch.Apply(PublicKey(1), failing, kNow);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), base::StatusCode::kIoError);
  store.SetFailReads(false);

  // The batch stays usable: the failed request staged nothing, the first one is still seen.
  const Claim conflicting = Babe(5, 2);
  auto refused = batch.Apply(PublicKey(1), {&conflicting, 1}, kNow);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(*refused, std::vector<Verdict>{Verdict::kRefusedBabeEquivocation});
  auto retried = batch.Apply(PublicKey(1), failing, kNow);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(*retried, (std::vector<Verdict>{Verdict::kAllowedNew, Verdict::kAllowedNew}));
  EXPECT_EQ(batch.writes().size(), 3u);
}

TEST(ClaimBatchTest, CorruptRecordOrWatermarkIsCorruption) {
  MemoryHistoryStore store;
  const Claim claim = Babe(5, 1);
  ASSERT_TRUE(
      store
          .WriteSynced({{EncodeRecordKey(RecordKey{PublicKey(1), claim.domain, claim.position}),
                         std::string("\x07garbage")},
                        {EncodeWatermarkKey(PublicKey(2), Domain::kBabe), std::string("\x01")}})
          .ok());
  ClaimBatch batch(store);
  EXPECT_EQ(batch.Apply(PublicKey(1), {&claim, 1}, kNow).status().code(),
            base::StatusCode::kCorruption);
  EXPECT_EQ(batch.Apply(PublicKey(2), {&claim, 1}, kNow).status().code(),
            base::StatusCode::kCorruption);
  EXPECT_EQ(batch.Evaluate(PublicKey(1), claim).status().code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(batch.writes().empty());
}

TEST(ClaimBatchTest, EvaluateSeesStagedRecordsAndStagesNothing) {
  MemoryHistoryStore store;
  ClaimBatch batch(store);
  const Claim claim = Prevote(1, 2, 1);
  auto before = batch.Evaluate(PublicKey(1), claim);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before, Verdict::kAllowedNew);
  // Evaluating twice is still new: nothing was staged.
  EXPECT_EQ(*batch.Evaluate(PublicKey(1), claim), Verdict::kAllowedNew);
  EXPECT_TRUE(batch.writes().empty());

  ASSERT_TRUE(batch.Apply(PublicKey(1), {&claim, 1}, kNow).ok());
  EXPECT_EQ(*batch.Evaluate(PublicKey(1), claim), Verdict::kAllowedResign);
  EXPECT_EQ(*batch.Evaluate(PublicKey(1), Prevote(1, 2, 2)), Verdict::kRefusedGrandpaEquivocation);
  EXPECT_EQ(batch.writes().size(), 1u);
}

TEST(ClaimBatchTest, TakeWritesKeepsWhatWasStagedVisible) {
  MemoryHistoryStore store;
  ClaimBatch batch(store);
  const Claim first = Babe(5, 1);
  ASSERT_TRUE(batch.Apply(PublicKey(1), {&first, 1}, kNow).ok());
  StoreBatch taken = batch.TakeWrites();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_TRUE(batch.writes().empty());

  const Claim conflicting = Babe(5, 2);
  EXPECT_EQ(*batch.Apply(PublicKey(1), {&conflicting, 1}, kNow),
            std::vector<Verdict>{Verdict::kRefusedBabeEquivocation});
  const Claim second = Babe(6, 1);
  ASSERT_TRUE(batch.Apply(PublicKey(1), {&second, 1}, kNow).ok());
  ASSERT_EQ(batch.writes().size(), 1u);
  EXPECT_NE(batch.writes()[0].key, taken[0].key);
}

TEST(ClaimBatchTest, WrittenBatchIsReadBackAsTheSameHistory) {
  MemoryHistoryStore store;
  {
    ClaimBatch batch(store);
    const Claim claims[] = {Beefy(3, 4, 1), Dispute(9, 7, true)};
    ASSERT_TRUE(batch.Apply(PublicKey(1), claims, kNow).ok());
    ASSERT_TRUE(store.WriteSynced(batch.writes()).ok());
  }
  ClaimBatch next(store);
  const Claim again[] = {Beefy(3, 4, 1), Dispute(9, 7, false)};
  auto verdicts = next.Apply(PublicKey(1), again, kNow);
  ASSERT_TRUE(verdicts.ok());
  EXPECT_EQ(*verdicts,
            (std::vector<Verdict>{Verdict::kAllowedResign, Verdict::kRefusedDisputeConflict}));
  auto value = store.Get(EncodeRecordKey(RecordKey{PublicKey(1), Domain::kBeefy, {3, 4, {}}}));
  ASSERT_TRUE(value.ok() && value->has_value());
  auto record = DecodeRecordValue(**value);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(*record, (StoredRecord{{std::vector<uint8_t>(32, 1)}, kNow}));
}

}  // namespace
}  // namespace slashing
