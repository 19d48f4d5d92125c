// End-to-end tests of `signerctl history`: export/import round trips, merges, refusals and pruning.
//
// Histories are made through the slashing library's public API (LocalHistoryLog, as the signer
// records decisions) or by importing interchange text written here by hand from
// docs/interchange.md; what the binary prints and writes is checked against those inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/hex.h"
#include "slashing/history_admin.h"
#include "slashing/history_log.h"
#include "slashing/types.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"

namespace {

// Polkadot's genesis hash (docs/interchange.md's example) and Kusama's, as "another chain".
constexpr char kGenesisHex[] = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";
constexpr char kOtherGenesisHex[] =
    "0xb0a8d493285c2df73290dfb7e61f870f17b41801197a149ca93654499ea3dafe";
// //Alice sr25519 (32 bytes) and ecdsa (33 bytes) public keys: two key lengths in one history.
const std::string kKeyAHex(support::kAliceSr25519.hex_0x);
const std::string kKeyBHex(support::kAliceEcdsa.hex_0x);

// FromHex decodes the test's own 0x-prefixed constants, which are valid hex.
std::vector<uint8_t> FromHex(std::string_view hex) { return base::HexDecode(hex).value(); }

std::string ToHex(std::span<const uint8_t> bytes) { return "0x" + base::HexEncode(bytes); }

base::Hash256 Genesis(std::string_view hex) {
  base::Hash256 out{};
  const auto bytes = FromHex(hex);
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

std::vector<uint8_t> Filled(size_t size, uint8_t value) {
  return std::vector<uint8_t>(size, value);
}

using support::ReadFile;

// FileNames lists the names in `dir`, sorted.
std::vector<std::string> FileNames(const support::TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// RunSignerctl runs the binary with `args` and stdin from /dev/null, capturing both streams.
support::ProcessResult RunSignerctl(std::vector<std::string> args) {
  args.insert(args.begin(), support::Location("signerctl"));
  return support::ResultOrStartFailure(support::RunProcess(args));
}

// ExpectUsageError checks the bad-input contract: exit 2, nothing on stdout, one stderr line.
void ExpectUsageError(const support::ProcessResult& run) {
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(run.out, "") << run.Describe();
  ASSERT_FALSE(run.err.empty());
  EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << run.err;
}

// One signed claim as the signer would record it, with the wall clock it was recorded at.
struct Made {
  std::string key_hex;
  slashing::Claim claim;
  uint64_t at_ms = 0;
};

// Fixture: a directory holding config files and data directories.
class HistoryCliTest : public ::testing::Test {
 protected:
  // WriteConfig writes a signer config for `data_dir` (relative to the config's directory). The
  // hsm section is required by the file format but unused by history commands.
  std::string WriteConfig(const std::string& name, const std::string& data_dir,
                          const std::string& genesis_hex = kGenesisHex) {
    nlohmann::json config = {
        {"signer_id", "history-cli-test"},
        {"hsm", {{"module", "unused.so"}, {"token_label", "unused"}, {"pin_env", "UNUSED_PIN"}}},
        {"history", {{"data_dir", data_dir}, {"genesis_hash", genesis_hex}}}};
    return dir_.Write(name, config.dump());
  }

  // Record writes claims through LocalHistoryLog, the signer's own write path.
  void Record(const std::string& data_dir, const std::vector<Made>& made) {
    auto store = slashing::OpenHistory(dir_.Path(data_dir), Genesis(kGenesisHex));
    ASSERT_TRUE(store.ok()) << store.status().message();
    slashing::LocalHistoryLog log(**store);
    for (const Made& m : made) {
      const auto key = FromHex(m.key_hex);
      auto verdicts = log.CheckAndRecord(key, std::span(&m.claim, 1), m.at_ms);
      ASSERT_TRUE(verdicts.ok()) << verdicts.status().message();
      ASSERT_EQ(verdicts->at(0), slashing::Verdict::kAllowedNew);
    }
  }

  // Decide asks the history in `data_dir` about one claim (and records it if allowed).
  slashing::Verdict Decide(const std::string& data_dir, const std::string& key_hex,
                           const slashing::Claim& claim) {
    auto store = slashing::OpenHistory(dir_.Path(data_dir), Genesis(kGenesisHex));
    EXPECT_TRUE(store.ok()) << store.status().message();
    if (!store.ok()) {
      return slashing::Verdict::kRefusedUndecodable;
    }
    slashing::LocalHistoryLog log(**store);
    auto verdicts = log.CheckAndRecord(FromHex(key_hex), std::span(&claim, 1), 1);
    EXPECT_TRUE(verdicts.ok()) << verdicts.status().message();
    return verdicts.ok() ? verdicts->at(0) : slashing::Verdict::kRefusedUndecodable;
  }

  support::TempDir dir_;
};

slashing::Claim MakeClaim(slashing::Domain domain, uint64_t major, uint64_t minor,
                          std::vector<uint8_t> digest, uint8_t candidate_fill = 0) {
  slashing::Claim claim;
  claim.domain = domain;
  claim.position.major = major;
  claim.position.minor = minor;
  claim.position.candidate.fill(candidate_fill);
  claim.digest = std::move(digest);
  return claim;
}

// A history touching every domain, two key lengths and distinct recording times.
std::vector<Made> SampleHistory() {
  using slashing::Domain;
  return {
      {kKeyAHex, MakeClaim(Domain::kBabe, 150, 0, Filled(32, 0x11)), 1'700'000'000'000},
      {kKeyAHex, MakeClaim(Domain::kBabe, 151, 0, Filled(32, 0x12)), 1'700'000'006'000},
      {kKeyAHex, MakeClaim(Domain::kBabe, 160, 0, Filled(32, 0x13)), 1'700'000'060'000},
      {kKeyAHex, MakeClaim(Domain::kGrandpaPrevote, 3, 7, Filled(36, 0x21)), 1'700'000'001'000},
      {kKeyAHex, MakeClaim(Domain::kGrandpaPrecommit, 3, 7, Filled(36, 0x22)), 1'700'000'002'000},
      {kKeyAHex, MakeClaim(Domain::kGrandpaPrevote, 4, 1, Filled(36, 0x23)), 1'700'000'070'000},
      {kKeyBHex, MakeClaim(Domain::kBeefy, 2, 1000, Filled(32, 0x31)), 1'700'000'003'000},
      {kKeyBHex, MakeClaim(Domain::kBeefy, 2, 1008, Filled(32, 0x32)), 1'700'000'080'000},
      {kKeyBHex, MakeClaim(Domain::kDispute, 9, 0, {0x01}, 0xcd), 1'700'000'004'000},
  };
}

// RecordTuple identifies one exported record by the fields docs/interchange.md defines.
using RecordTuple = std::tuple<std::string, std::string, std::string, std::string, std::string>;

std::string PositionText(const slashing::Claim& claim) {
  using slashing::Domain;
  const std::string major = std::to_string(claim.position.major);
  const std::string minor = std::to_string(claim.position.minor);
  switch (claim.domain) {
    case Domain::kBabe:
      return "slot=" + major;
    case Domain::kGrandpaPrevote:
    case Domain::kGrandpaPrecommit:
      return "set_id=" + major + ",round=" + minor;
    case Domain::kBeefy:
      return "validator_set_id=" + major + ",block_number=" + minor;
    case Domain::kDispute:
      return "session=" + major + ",candidate_hash=" +
             ToHex({claim.position.candidate.begin(), claim.position.candidate.end()});
  }
  return "";
}

std::set<RecordTuple> Expected(const std::vector<Made>& made, uint64_t from_ms = 0,
                               uint64_t to_ms = UINT64_MAX) {
  std::set<RecordTuple> out;
  for (const Made& m : made) {
    if (m.at_ms >= from_ms && m.at_ms < to_ms) {
      out.emplace(m.key_hex, std::string(slashing::DomainName(m.claim.domain)),
                  PositionText(m.claim), ToHex(m.claim.digest), std::to_string(m.at_ms));
    }
  }
  return out;
}

// RecordsInFile reads an interchange file as plain JSON, field by field as the docs name them.
std::set<RecordTuple> RecordsInFile(const std::string& path) {
  const nlohmann::json file = nlohmann::json::parse(ReadFile(path), nullptr, false);
  std::set<RecordTuple> out;
  EXPECT_TRUE(file.is_object());
  if (!file.is_object()) {
    return out;
  }
  EXPECT_EQ(file["metadata"]["interchange_format"], "substrate-slashing-protection");
  EXPECT_EQ(file["metadata"]["genesis_hash"], kGenesisHex);
  static const std::vector<std::string> kPositionFields = {
      "slot", "set_id", "round", "validator_set_id", "block_number", "session", "candidate_hash"};
  for (const auto& key : file["data"]) {
    for (const auto& domain : key["domains"]) {
      for (const auto& record : domain["records"]) {
        std::string position;
        for (const std::string& field : kPositionFields) {
          if (record.contains(field)) {
            position +=
                (position.empty() ? "" : ",") + field + "=" + record[field].get<std::string>();
          }
        }
        EXPECT_EQ(record["digests"].size(), 1u);
        out.emplace(key["public_key"].get<std::string>(), domain["domain"].get<std::string>(),
                    position, record["digests"][0].get<std::string>(),
                    record["recorded_at_ms"].get<std::string>());
      }
    }
  }
  return out;
}

// Interchange text written by hand: one babe record for key A, optionally with a watermark.
std::string BabeFile(const std::string& genesis_hex, uint64_t slot, uint8_t digest_fill,
                     const std::string& extra_domain_fields = "") {
  return R"({"metadata":{"interchange_format":"substrate-slashing-protection",)"
         R"("interchange_format_version":"1","genesis_hash":")" +
         genesis_hex + R"("},"data":[{"public_key":")" + kKeyAHex +
         R"(","domains":[{"domain":"babe",)" + extra_domain_fields + R"("records":[{"slot":")" +
         std::to_string(slot) + R"(","digests":[")" + ToHex(Filled(32, digest_fill)) +
         R"("],"recorded_at_ms":"1700000000000"}]}]}]})";
}

TEST_F(HistoryCliTest, ExportImportExportRoundTripIsByteIdentical) {
  const auto made = SampleHistory();
  Record("source", made);
  const std::string source_config = WriteConfig("source.json", "source");
  const std::string target_config = WriteConfig("target.json", "target");

  const support::ProcessResult exported =
      RunSignerctl({"history", "export", "--config", source_config, "--out", dir_.Path("a.json")});
  ASSERT_EQ(exported.exit_code, 0) << exported.Describe();
  EXPECT_EQ(exported.Json()["records"], made.size());
  EXPECT_EQ(exported.Json()["public_keys"], 2);
  EXPECT_EQ(exported.Json()["complete"], true);
  EXPECT_FALSE(exported.Json().contains("warning"));
  EXPECT_EQ(RecordsInFile(dir_.Path("a.json")), Expected(made));

  const support::ProcessResult imported =
      RunSignerctl({"history", "import", "--config", target_config, "--in", dir_.Path("a.json")});
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  EXPECT_EQ(imported.Json()["records_added"], made.size());
  EXPECT_EQ(imported.Json()["conflicts"], 0);
  EXPECT_EQ(imported.Json()["watermarks_raised"], 0);

  const support::ProcessResult again =
      RunSignerctl({"history", "export", "--config", target_config, "--out", dir_.Path("b.json")});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(ReadFile(dir_.Path("a.json")), ReadFile(dir_.Path("b.json")));

  // The imported history protects: another header at a recorded slot is an equivocation there.
  EXPECT_EQ(Decide("target", kKeyAHex, MakeClaim(slashing::Domain::kBabe, 150, 0, Filled(32, 9))),
            slashing::Verdict::kRefusedBabeEquivocation);

  // Importing the same file again changes nothing.
  const support::ProcessResult twice =
      RunSignerctl({"history", "import", "--config", target_config, "--in", dir_.Path("a.json")});
  ASSERT_EQ(twice.exit_code, 0) << twice.Describe();
  EXPECT_EQ(twice.Json()["records_added"], 0);
  EXPECT_EQ(twice.Json()["records_unchanged"], made.size());
}

TEST_F(HistoryCliTest, ExportWindowSelectsByRecordingTime) {
  const auto made = SampleHistory();
  Record("db", made);
  const std::string config = WriteConfig("config.json", "db");
  // 1700000006 s = 2023-11-14T22:13:26Z and 1700000070 s = 2023-11-14T22:14:30Z: both bounds
  // fall exactly on a record, showing the window is [since, until).
  const support::ProcessResult by_seconds =
      RunSignerctl({"history", "export", "--config", config, "--out", dir_.Path("s.json"),
                    "--since", "1700000006", "--until", "1700000070"});
  ASSERT_EQ(by_seconds.exit_code, 0) << by_seconds.Describe();
  const auto expected = Expected(made, 1'700'000'006'000, 1'700'000'070'000);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(RecordsInFile(dir_.Path("s.json")), expected);

  const support::ProcessResult by_date =
      RunSignerctl({"history", "export", "--config", config, "--out", dir_.Path("d.json"),
                    "--since", "2023-11-14T22:13:26Z", "--until", "2023-11-14T22:14:30Z"});
  ASSERT_EQ(by_date.exit_code, 0) << by_date.Describe();
  EXPECT_EQ(ReadFile(dir_.Path("s.json")), ReadFile(dir_.Path("d.json")));

  const support::ProcessResult open_end =
      RunSignerctl({"history", "export", "--config", config, "--out", dir_.Path("o.json"),
                    "--since", "2023-11-15"});
  ASSERT_EQ(open_end.exit_code, 0) << open_end.Describe();
  EXPECT_EQ(open_end.Json()["records"], 0);
  // A window is never a whole history, and the report says so.
  for (const support::ProcessResult* windowed : {&by_seconds, &by_date, &open_end}) {
    EXPECT_EQ(windowed->Json()["complete"], false);
    EXPECT_NE(windowed->Json()["warning"].get<std::string>().find("do not use it to move"),
              std::string::npos);
  }
}

TEST_F(HistoryCliTest, ExportNeverOverwritesWithoutForce) {
  Record("db", SampleHistory());
  const std::string config = WriteConfig("config.json", "db");
  const std::string out = dir_.Write("out.json", "keep me");
  const auto names_before = FileNames(dir_);

  ExpectUsageError(RunSignerctl({"history", "export", "--config", config, "--out", out}));
  EXPECT_EQ(ReadFile(out), "keep me");
  EXPECT_EQ(FileNames(dir_), names_before);  // no temporary file left behind

  const support::ProcessResult forced =
      RunSignerctl({"history", "export", "--config", config, "--out", out, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.Describe();
  EXPECT_EQ(RecordsInFile(out), Expected(SampleHistory()));
  EXPECT_EQ(FileNames(dir_), names_before);

  // A directory that does not exist cannot receive the file.
  ExpectUsageError(RunSignerctl(
      {"history", "export", "--config", config, "--out", dir_.Path("missing/out.json")}));
}

TEST_F(HistoryCliTest, ConflictingImportIsReportedAndRefusedAfterwards) {
  Record("db", {{kKeyAHex, MakeClaim(slashing::Domain::kBabe, 500, 0, Filled(32, 0xaa)), 1}});
  const std::string config = WriteConfig("config.json", "db");
  const std::string file = dir_.Write("other.json", BabeFile(kGenesisHex, 500, 0xbb));

  const support::ProcessResult imported =
      RunSignerctl({"history", "import", "--config", config, "--in", file});
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  EXPECT_EQ(imported.Json()["records_added"], 0);
  EXPECT_EQ(imported.Json()["conflicts"], 1);

  const support::ProcessResult inspected = RunSignerctl({"history", "inspect", "--config", config});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.Describe();
  EXPECT_EQ(inspected.Json()["domains"]["babe"]["conflicted"], 1);
  EXPECT_EQ(inspected.Json()["keys"][0]["domains"][0]["conflicted"], 1);

  // Both digests are now refused at that slot, including the one signed first.
  EXPECT_EQ(Decide("db", kKeyAHex, MakeClaim(slashing::Domain::kBabe, 500, 0, Filled(32, 0xaa))),
            slashing::Verdict::kRefusedConflictedPosition);
}

TEST_F(HistoryCliTest, AnotherGenesisIsRefused) {
  const std::string config = WriteConfig("config.json", "db");
  const std::string file = dir_.Write("kusama.json", BabeFile(kOtherGenesisHex, 1, 1));
  ExpectUsageError(RunSignerctl({"history", "import", "--config", config, "--in", file}));
  EXPECT_FALSE(std::filesystem::exists(dir_.Path("db")));

  // A store of one chain read with a config for another.
  Record("db", SampleHistory());
  const std::string other = WriteConfig("other.json", "db", kOtherGenesisHex);
  ExpectUsageError(
      RunSignerctl({"history", "export", "--config", other, "--out", dir_.Path("x.json")}));
  EXPECT_FALSE(std::filesystem::exists(dir_.Path("x.json")));
  ExpectUsageError(RunSignerctl({"history", "inspect", "--config", other}));
  ExpectUsageError(
      RunSignerctl({"history", "prune", "--config", other, "--domain", "babe", "--below", "1000"}));
  ExpectUsageError(RunSignerctl({"history", "import", "--config", other, "--in",
                                 dir_.Write("k2.json", BabeFile(kOtherGenesisHex, 1, 1))}));
  // Nothing was pruned or imported.
  const support::ProcessResult inspected =
      RunSignerctl({"history", "inspect", "--config", WriteConfig("c.json", "db")});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.Describe();
  EXPECT_EQ(inspected.Json()["domains"]["babe"]["records"], 3);
  EXPECT_EQ(inspected.Json()["domains"]["babe"]["watermarks"], 0);
}

TEST_F(HistoryCliTest, BusyDirectoryIsRefused) {
  Record("db", SampleHistory());
  const std::string config = WriteConfig("config.json", "db");
  const std::string file = dir_.Write("in.json", BabeFile(kGenesisHex, 900, 1));
  auto held = slashing::OpenHistory(dir_.Path("db"), Genesis(kGenesisHex));
  ASSERT_TRUE(held.ok()) << held.status().message();

  const std::vector<std::vector<std::string>> commands = {
      {"history", "export", "--config", config, "--out", dir_.Path("out.json")},
      {"history", "import", "--config", config, "--in", file},
      {"history", "inspect", "--config", config},
      {"history", "prune", "--config", config, "--domain", "babe", "--below", "155"},
  };
  for (const auto& command : commands) {
    SCOPED_TRACE(command[1]);
    const support::ProcessResult run = RunSignerctl(command);
    ExpectUsageError(run);
    EXPECT_NE(run.err.find("in use"), std::string::npos) << run.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.Path("out.json")));

  held->reset();
  const support::ProcessResult free = RunSignerctl(commands[2]);
  ASSERT_EQ(free.exit_code, 0) << free.Describe();
  EXPECT_EQ(free.Json()["domains"]["babe"]["records"], 3);  // the refused prune changed nothing
}

TEST_F(HistoryCliTest, PruneRaisesWatermarksThatInspectShows) {
  Record("db", SampleHistory());
  const std::string config = WriteConfig("config.json", "db");
  struct PruneCase {
    std::string domain;
    std::string below;
    int records_deleted;
  };
  // SampleHistory: babe slots 150, 151, 160; prevotes (3,7), (4,1); beefy (2,1000), (2,1008);
  // dispute session 9.
  const std::vector<PruneCase> cases = {
      {"babe", "160", 2},
      {"grandpa_prevote", "4:0", 1},
      {"beefy", "2:1008", 1},
      {"dispute", "10", 1},
  };
  for (const PruneCase& c : cases) {
    SCOPED_TRACE(c.domain);
    const support::ProcessResult pruned = RunSignerctl(
        {"history", "prune", "--config", config, "--domain", c.domain, "--below", c.below});
    ASSERT_EQ(pruned.exit_code, 0) << pruned.Describe();
    EXPECT_EQ(pruned.Json()["keys"], 1);
    EXPECT_EQ(pruned.Json()["records_deleted"], c.records_deleted);
  }

  const support::ProcessResult inspected = RunSignerctl({"history", "inspect", "--config", config});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.Describe();
  const nlohmann::json json = inspected.Json();
  std::map<std::string, nlohmann::json> by_domain;
  for (const auto& key : json["keys"]) {
    for (const auto& domain : key["domains"]) {
      by_domain[key["public_key"].get<std::string>() + "/" + domain["domain"].get<std::string>()] =
          domain;
    }
  }
  const std::string a = kKeyAHex;
  const std::string b = kKeyBHex;
  EXPECT_EQ(by_domain[a + "/babe"]["watermark"], "160");
  EXPECT_EQ(by_domain[a + "/babe"]["records"], 1);
  EXPECT_EQ(by_domain[a + "/babe"]["lowest"], "160");
  EXPECT_EQ(by_domain[a + "/grandpa_prevote"]["watermark"], "4:0");
  EXPECT_EQ(by_domain[a + "/grandpa_prevote"]["lowest"], "4:1");
  EXPECT_FALSE(by_domain[a + "/grandpa_precommit"].contains("watermark"));  // stages independent
  EXPECT_EQ(by_domain[a + "/grandpa_precommit"]["records"], 1);
  EXPECT_EQ(by_domain[b + "/beefy"]["watermark"], "2:1008");
  EXPECT_EQ(by_domain[b + "/dispute"]["watermark"], "10");
  EXPECT_EQ(by_domain[b + "/dispute"]["records"], 0);
  EXPECT_EQ(json["domains"]["babe"]["watermarks"], 1);
  EXPECT_EQ(json["domains"]["grandpa_precommit"]["watermarks"], 0);

  // The watermark now refuses what lies below it, even a position never signed.
  EXPECT_EQ(Decide("db", kKeyAHex, MakeClaim(slashing::Domain::kBabe, 159, 0, Filled(32, 7))),
            slashing::Verdict::kRefusedBelowWatermark);
  EXPECT_EQ(Decide("db", kKeyBHex, MakeClaim(slashing::Domain::kBeefy, 2, 1007, Filled(32, 7))),
            slashing::Verdict::kRefusedBelowWatermark);
}

TEST_F(HistoryCliTest, MalformedFilesAreRefusedWithoutTouchingTheStore) {
  const std::string config = WriteConfig("config.json", "db");
  const std::vector<std::string> bad_files = {
      "",
      "not json",
      BabeFile(kGenesisHex, 1, 1).substr(0, 80),                     // truncated
      BabeFile(kGenesisHex, 1, 1, R"("extra":"field",)"),            // unknown field
      BabeFile(kGenesisHex, 1, 1, R"("watermark":{"round":"1"},)"),  // wrong watermark field
      BabeFile("0x1234", 1, 1),                                      // short genesis hash
  };
  for (size_t i = 0; i < bad_files.size(); ++i) {
    SCOPED_TRACE(i);
    const std::string file = dir_.Write("bad.json", bad_files[i]);
    ExpectUsageError(RunSignerctl({"history", "import", "--config", config, "--in", file}));
    EXPECT_FALSE(std::filesystem::exists(dir_.Path("db")));
  }
  ExpectUsageError(
      RunSignerctl({"history", "import", "--config", config, "--in", dir_.Path("absent.json")}));
  // The hand-written file itself is valid: the refusals above are about the damage.
  const support::ProcessResult good =
      RunSignerctl({"history", "import", "--config", config, "--in",
                    dir_.Write("good.json", BabeFile(kGenesisHex, 1, 1))});
  EXPECT_EQ(good.exit_code, 0) << good.Describe();
}

TEST_F(HistoryCliTest, MalformedArgumentsExitTwo) {
  Record("db", SampleHistory());
  const std::string config = WriteConfig("config.json", "db");
  const std::string out = dir_.Path("out.json");
  const std::string bad_config = dir_.Write("bad_config.json", R"({"signer_id":"x"})");
  const std::vector<std::vector<std::string>> commands = {
      {"history"},
      {"history", "inspect"},
      {"history", "inspect", "--config", bad_config},
      {"history", "inspect", "--config", dir_.Path("absent.json")},
      {"history", "inspect", "--config", WriteConfig("nodb.json", "nodb")},
      {"history", "export", "--config", WriteConfig("nodb2.json", "nodb"), "--out", out},
      {"history", "export", "--config", config},
      {"history", "export", "--config", config, "--out", out, "--since", "yesterday"},
      {"history", "export", "--config", config, "--out", out, "--since", "-5"},
      {"history", "export", "--config", config, "--out", out, "--since", "2023-02-30"},
      {"history", "export", "--config", config, "--out", out, "--since", "2023-11-14T22:13:26"},
      {"history", "export", "--config", config, "--out", out, "--since", "99999999999999999999"},
      {"history", "export", "--config", config, "--out", out, "--since", "20", "--until", "10"},
      {"history", "import", "--config", config},
      {"history", "prune", "--config", config, "--domain", "babe"},
      {"history", "prune", "--config", config, "--domain", "grandpa", "--below", "1:1"},
      {"history", "prune", "--config", config, "--domain", "babe", "--below", "1:2"},
      {"history", "prune", "--config", config, "--domain", "babe", "--below", "0150"},
      {"history", "prune", "--config", config, "--domain", "babe", "--below", "-1"},
      {"history", "prune", "--config", config, "--domain", "grandpa_prevote", "--below", "5"},
      {"history", "prune", "--config", config, "--domain", "grandpa_precommit", "--below", "5:"},
      {"history", "prune", "--config", config, "--domain", "beefy", "--below", "1:4294967296"},
      {"history", "prune", "--config", config, "--domain", "dispute", "--below", "4294967296"},
      {"history", "prune", "--config", config, "--domain", "dispute", "--below", "1:0"},
      {"history", "frobnicate", "--config", config},
  };
  for (const auto& command : commands) {
    SCOPED_TRACE(nlohmann::json(command).dump());
    ExpectUsageError(RunSignerctl(command));
  }
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(dir_.Path("nodb")));
  // None of the refused prunes changed the store.
  const support::ProcessResult inspected = RunSignerctl({"history", "inspect", "--config", config});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.Describe();
  for (slashing::Domain domain : slashing::kAllDomains) {
    EXPECT_EQ(inspected.Json()["domains"][std::string(slashing::DomainName(domain))]["watermarks"],
              0);
  }
}

}  // namespace
