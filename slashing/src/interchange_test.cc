// Interchange tests: round trip, merge with conflicts, genesis checks, time windows, strictness.
#include "slashing/interchange.h"

#include <gtest/gtest.h>

#include "slashing/history.h"
#include "slashing/protector.h"
#include "slashing/record.h"
#include "support/fake_clock.h"
#include "support/memory_history_store.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

const base::Hash256 kGenesis = FilledHash(0x11);

// Signer bundles a memory store with the full decision path.
struct Signer {
  Signer() { EXPECT_TRUE(BindGenesis(store, kGenesis).ok()); }
  Verdict Vote(uint8_t key, uint8_t stage, uint64_t round, uint8_t target) {
    const std::vector<uint8_t> public_key(32, key);
    const auto message = testing::GrandpaMessage(stage, FilledHash(target), 9, round, 1);
    auto decision = protector.Decide({base::kKeyTypeGrandpa, public_key, message, std::nullopt});
    EXPECT_TRUE(decision.ok());
    return decision.ok() ? decision->verdict : Verdict::kRefusedUndecodable;
  }
  Verdict Dispute(uint8_t key, bool valid, uint8_t candidate, uint32_t session) {
    const std::vector<uint8_t> public_key(32, key);
    const auto message = testing::DisputeStatement(valid, FilledHash(candidate), session);
    auto decision = protector.Decide({base::kKeyTypePara, public_key, message, std::nullopt});
    EXPECT_TRUE(decision.ok());
    return decision.ok() ? decision->verdict : Verdict::kRefusedUndecodable;
  }
  MemoryHistoryStore store;
  LocalHistoryLog log{store};
  FakeClock clock{1000};
  Protector protector{log, clock, ProtectionPolicy{}};
};

TEST(InterchangeTest, RoundTripIntoEmptyStoreGivesIdenticalDecisions) {
  Signer source;
  for (uint8_t key = 1; key <= 3; ++key) {
    for (uint64_t round = 1; round <= 20; ++round) {
      source.clock.Advance(10);
      ASSERT_EQ(source.Vote(key, 0, round, static_cast<uint8_t>(round)), Verdict::kAllowedNew);
      ASSERT_EQ(source.Vote(key, 1, round, static_cast<uint8_t>(round)), Verdict::kAllowedNew);
    }
    ASSERT_EQ(source.Dispute(key, false, 5, 3), Verdict::kAllowedNew);
  }
  ASSERT_TRUE(PruneBelow(source.store, Domain::kGrandpaPrevote, Watermark{1, 5}).ok());

  auto exported = ExportHistory(source.store, kGenesis);
  ASSERT_TRUE(exported.ok()) << exported.status().message();
  const std::string json = SerializeInterchange(*exported);
  auto parsed = ParseInterchange(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, *exported);

  Signer target;
  auto report = ImportHistory(target.store, kGenesis, *parsed);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->conflicts, 0u);
  EXPECT_EQ(report->watermarks_raised, 3u);
  // Same bytes in both stores, hence the same decisions for every request.
  EXPECT_EQ(target.store.Snapshot(), source.store.Snapshot());
  target.clock.Set(source.clock.NowUnixMs());
  for (uint8_t key = 1; key <= 3; ++key) {
    for (uint64_t round = 1; round <= 22; ++round) {
      for (uint8_t stage : {uint8_t{0}, uint8_t{1}}) {
        for (uint8_t target_seed : {static_cast<uint8_t>(round), uint8_t{0xee}}) {
          EXPECT_EQ(target.Vote(key, stage, round, target_seed),
                    source.Vote(key, stage, round, target_seed));
        }
      }
    }
    EXPECT_EQ(target.Dispute(key, true, 5, 3), Verdict::kRefusedDisputeConflict);
  }
  auto re_exported = ExportHistory(target.store, kGenesis);
  ASSERT_TRUE(re_exported.ok());
  EXPECT_EQ(SerializeInterchange(*re_exported),
            SerializeInterchange(*ExportHistory(source.store, kGenesis)));
}

TEST(InterchangeTest, MergeKeepsUnionMarksConflictsAndRaisesWatermarks) {
  Signer first;
  Signer second;
  ASSERT_EQ(first.Vote(1, 0, 10, 0xa1), Verdict::kAllowedNew);   // only in first
  ASSERT_EQ(second.Vote(1, 0, 11, 0xb1), Verdict::kAllowedNew);  // only in second
  ASSERT_EQ(first.Vote(1, 0, 12, 0xc1), Verdict::kAllowedNew);   // same in both
  ASSERT_EQ(second.Vote(1, 0, 12, 0xc1), Verdict::kAllowedNew);
  ASSERT_EQ(first.Vote(1, 0, 13, 0xd1), Verdict::kAllowedNew);  // conflicting
  ASSERT_EQ(second.Vote(1, 0, 13, 0xd2), Verdict::kAllowedNew);
  ASSERT_EQ(first.Dispute(2, true, 7, 4), Verdict::kAllowedNew);  // valid in one, invalid in other
  ASSERT_EQ(second.Dispute(2, false, 7, 4), Verdict::kAllowedNew);
  ASSERT_EQ(second.Vote(1, 1, 2, 1), Verdict::kAllowedNew);
  ASSERT_TRUE(PruneBelow(second.store, Domain::kGrandpaPrecommit, Watermark{1, 3}).ok());

  Signer merged;
  for (Signer* source : {&first, &second}) {
    auto exported = ExportHistory(source->store, kGenesis);
    ASSERT_TRUE(exported.ok());
    auto parsed = ParseInterchange(SerializeInterchange(*exported));
    ASSERT_TRUE(parsed.ok());
    auto report = ImportHistory(merged.store, kGenesis, *parsed);
    ASSERT_TRUE(report.ok()) << report.status().message();
    if (source == &second) {
      EXPECT_EQ(report->records_added, 1u);      // round 11
      EXPECT_EQ(report->records_unchanged, 1u);  // round 12
      EXPECT_EQ(report->conflicts, 2u);          // round 13 and the dispute
      EXPECT_EQ(report->watermarks_raised, 1u);
    }
  }
  EXPECT_EQ(merged.Vote(1, 0, 10, 0xa1), Verdict::kAllowedResign);
  EXPECT_EQ(merged.Vote(1, 0, 10, 0xa2), Verdict::kRefusedGrandpaEquivocation);
  EXPECT_EQ(merged.Vote(1, 0, 11, 0xb1), Verdict::kAllowedResign);
  EXPECT_EQ(merged.Vote(1, 0, 12, 0xc1), Verdict::kAllowedResign);
  // A conflicted position is refused for either digest and for any new one.
  EXPECT_EQ(merged.Vote(1, 0, 13, 0xd1), Verdict::kRefusedConflictedPosition);
  EXPECT_EQ(merged.Vote(1, 0, 13, 0xd2), Verdict::kRefusedConflictedPosition);
  EXPECT_EQ(merged.Vote(1, 0, 13, 0xd3), Verdict::kRefusedConflictedPosition);
  EXPECT_EQ(merged.Dispute(2, true, 7, 4), Verdict::kRefusedConflictedPosition);
  EXPECT_EQ(merged.Dispute(2, false, 7, 4), Verdict::kRefusedConflictedPosition);
  EXPECT_EQ(merged.Vote(1, 1, 2, 1), Verdict::kRefusedBelowWatermark);
  EXPECT_EQ(merged.Vote(1, 1, 3, 1), Verdict::kAllowedNew);
  EXPECT_EQ(merged.Vote(1, 0, 14, 1), Verdict::kAllowedNew);
  auto summary = Summarize(merged.store);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->conflicted[Domain::kGrandpaPrevote], 1u);
  EXPECT_EQ(summary->conflicted[Domain::kDispute], 1u);
}

TEST(InterchangeTest, RefusesAnotherGenesisHash) {
  Signer source;
  ASSERT_EQ(source.Vote(1, 0, 1, 1), Verdict::kAllowedNew);
  auto exported = ExportHistory(source.store, kGenesis);
  ASSERT_TRUE(exported.ok());
  MemoryHistoryStore other_chain;
  auto report = ImportHistory(other_chain, FilledHash(0x22), *exported);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(other_chain.Snapshot().empty());
  // A store already bound to another chain refuses the file too.
  ASSERT_TRUE(BindGenesis(other_chain, FilledHash(0x22)).ok());
  EXPECT_EQ(ImportHistory(other_chain, kGenesis, *exported).status().code(),
            base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ExportHistory(other_chain, kGenesis).status().code(),
            base::StatusCode::kFailedPrecondition);
}

TEST(InterchangeTest, ExportsATimeWindow) {
  Signer source;
  source.clock.Set(1000);
  ASSERT_EQ(source.Vote(1, 0, 1, 1), Verdict::kAllowedNew);
  source.clock.Set(2000);
  ASSERT_EQ(source.Vote(1, 0, 2, 1), Verdict::kAllowedNew);
  source.clock.Set(3000);
  ASSERT_EQ(source.Vote(1, 0, 3, 1), Verdict::kAllowedNew);
  auto window = ExportHistory(source.store, kGenesis, ExportWindow{2000, 3000});
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->keys.size(), 1u);
  ASSERT_EQ(window->keys[0].domains.size(), 1u);
  ASSERT_EQ(window->keys[0].domains[0].records.size(), 1u);
  EXPECT_EQ(window->keys[0].domains[0].records[0].position.minor, 2u);
  EXPECT_EQ(window->keys[0].domains[0].records[0].recorded_at_ms, 2000u);
  auto everything = ExportHistory(source.store, kGenesis);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->keys[0].domains[0].records.size(), 3u);
}

// A hand-written file in the documented format (docs/interchange.md).
const char kHandWritten[] = R"({
  "metadata": {
    "interchange_format": "substrate-slashing-protection",
    "interchange_format_version": "1",
    "genesis_hash": "0x1111111111111111111111111111111111111111111111111111111111111111"
  },
  "data": [
    {
      "public_key": "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
      "domains": [
        {"domain": "babe", "watermark": {"slot": "100"},
         "records": [{"slot": "150", "digests": ["0xaa"], "recorded_at_ms": "5"}]},
        {"domain": "grandpa_prevote",
         "records": [{"set_id": "1", "round": "2", "digests": ["0xbb", "0xcc"],
                      "recorded_at_ms": "6"}]},
        {"domain": "dispute",
         "records": [{"session": "3", "candidate_hash":
           "0x0101010101010101010101010101010101010101010101010101010101010101",
           "digests": ["0x00"], "recorded_at_ms": "7"}]}
      ]
    }
  ]
})";

TEST(InterchangeParseTest, AcceptsTheDocumentedFormat) {
  auto parsed = ParseInterchange(kHandWritten);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->genesis_hash, kGenesis);
  ASSERT_EQ(parsed->keys.size(), 1u);
  const auto& domains = parsed->keys[0].domains;
  ASSERT_EQ(domains.size(), 3u);
  EXPECT_EQ(domains[0].domain, Domain::kBabe);
  EXPECT_EQ(domains[0].watermark, (Watermark{100, 0}));
  EXPECT_EQ(domains[0].records[0].position.major, 150u);
  EXPECT_EQ(domains[1].records[0].digests.size(), 2u);
  EXPECT_EQ(domains[2].records[0].position.candidate, FilledHash(1));
}

TEST(InterchangeParseTest, RefusesMalformedFiles) {
  const std::string good = kHandWritten;
  auto mutate = [&](const std::string& from, const std::string& to) {
    std::string copy = good;
    const size_t at = copy.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return copy.replace(at, from.size(), to);
  };
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      mutate("\"1\",", "\"2\","),                                         // unknown version
      mutate("\"slot\": \"100\"", "\"slot\": \"0100\""),                  // leading zero
      mutate("\"slot\": \"100\"", "\"slot\": 100"),                       // number, not string
      mutate("\"slot\": \"150\"", "\"slot\": \"18446744073709551616\""),  // above u64
      mutate("\"0xaa\"", "\"aa\""),                                       // no 0x
      mutate("\"0xaa\"", "\"0xa\""),                                      // odd hex
      mutate("\"0xaa\"", "\"0xzz\""),                                     // not hex
      mutate("\"0xbb\", \"0xcc\"", "\"0xbb\", \"0xbb\""),                 // duplicate digest
      mutate("\"digests\": [\"0xaa\"]", "\"digests\": []"),               // no digest
      mutate("\"domain\": \"babe\"", "\"domain\": \"sassafras\""),        // unknown domain
      mutate("\"domain\": \"dispute\"", "\"domain\": \"babe\""),          // duplicate domain
      mutate("\"recorded_at_ms\": \"5\"", "\"recorded_at_ms\": \"5\", \"extra\": 1"),  // unknown
      mutate("\"session\": \"3\"", "\"session\": \"4294967296\""),  // session is u32
      mutate("0x1111111111111111111111111111111111111111111111111111111111111111", "0x11"),
      std::string(100, '[') + std::string(100, ']'),
      // A member named twice: the JSON library alone would keep the last, and the first
      // record, watermark or digest list would be dropped without a word.
      mutate("\"records\": [{\"slot\": \"150\"",
             "\"records\": [], \"records\": [{\"slot\": \"150\""),
      mutate("\"records\": [{\"slot\": \"150\"",
             "\"watermark\": {\"slot\": \"1\"}, \"records\": [{\"slot\": \"150\""),
      mutate("\"digests\": [\"0xbb\", \"0xcc\"]",
             "\"digests\": [\"0xbb\", \"0xcc\"], \"digests\": [\"0xbb\"]"),
      mutate("\"recorded_at_ms\": \"5\"", "\"recorded_at_ms\": \"5\", \"\\u0073lot\": \"7\""),
  };
  for (const auto& text : bad) {
    auto parsed = ParseInterchange(text);
    EXPECT_FALSE(parsed.ok()) << text.substr(0, 80);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), base::StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace slashing
