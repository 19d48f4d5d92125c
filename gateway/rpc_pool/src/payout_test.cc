// Unit tests of the payout: the amount split, the pinned chain profiles, accounts, the extrinsic
// encoding against polkadot-js known answers (tests/vectors/payout/extrinsics.json), the ledger.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/hex.h"
#include "keymgr/sr25519.h"
#include "keymgr/ss58.h"
#include "rpc_pool/payout.h"
#include "rpc_pool/payout_extrinsic.h"
#include "rpc_pool/payout_ledger.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/temp_dir.h"

namespace rpc_pool {
namespace {

using base::StatusCode;
using Json = nlohmann::json;

AccountId Account(uint8_t fill) {
  AccountId account;
  account.fill(fill);
  return account;
}

std::string ProfileText(const std::string& chain) {
  return support::ReadFile(std::filesystem::path(support::Location("payout-chains")) /
                           (chain + ".json"));
}

ChainProfile Profile(const std::string& chain) {
  auto profile = ParseChainProfile(ProfileText(chain));
  EXPECT_TRUE(profile.ok()) << profile.status().message();
  return profile.ok() ? *profile : ChainProfile{};
}

// ---- The split ----

struct SplitCase {
  const char* name;
  uint64_t total;
  uint32_t fee_per_mille;
  std::vector<uint64_t> points;
  uint64_t fee;
  std::vector<uint64_t> amounts;  // per payee, 0 = no transfer
  uint64_t remainder;
};

TEST(PayoutSplitTest, Table) {
  const SplitCase cases[] = {
      // 1000 - 50 fee = 950 shared 1:1: 475 each.
      {"even", 1000, 50, {1, 1}, 50, {475, 475}, 0},
      // fee 0; 100 * 1/3 = 33.3 -> 33 each, 1 left.
      {"thirds", 100, 0, {1, 1, 1}, 0, {33, 33, 33}, 1},
      // fee rounds down: 999 * 7 / 1000 = 6.993 -> 6; 993 shared 2:1 -> 662, 331.
      {"fee rounds down", 999, 7, {2, 1}, 6, {662, 331}, 0},
      // A payee with 0 points, and one whose share rounds to 0, get no transfer.
      {"zero shares", 10, 0, {0, 1, 1000}, 0, {0, 0, 9}, 1},
      // 100 % fee: nothing shared.
      {"all fee", 500, 1000, {1, 2}, 500, {0, 0}, 0},
      // No points at all: nothing paid, everything stays.
      {"no points", 500, 100, {0, 0}, 50, {0, 0}, 450},
      // The largest amounts: 128-bit intermediates, no overflow, never above total - fee
      // (expected values worked out with arbitrary-precision integers).
      {"u64 max",
       UINT64_MAX,
       1,
       {UINT64_MAX - 1, 1},
       18446744073709551,
       {18428297329635842063ULL, 0},
       1},
  };
  for (const SplitCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Payee> payees;
    for (size_t i = 0; i < c.points.size(); ++i) {
      payees.push_back({Account(static_cast<uint8_t>(i + 1)), c.points[i]});
    }
    auto plan = ComputePayout(c.total, c.fee_per_mille, payees, 100);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    EXPECT_EQ(plan->fee, c.fee);
    EXPECT_EQ(plan->remainder, c.remainder);
    std::vector<Transfer> expected;
    for (size_t i = 0; i < c.amounts.size(); ++i) {
      if (c.amounts[i] != 0) expected.push_back({payees[i].account, c.amounts[i]});
    }
    ASSERT_EQ(plan->transfers.size(), expected.size());
    // Counting down from the total: never below zero, and zero at the end.
    uint64_t left = c.total;
    ASSERT_LE(plan->fee, left);
    left -= plan->fee;
    ASSERT_LE(plan->remainder, left);
    left -= plan->remainder;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(plan->transfers[i].dest, expected[i].dest);
      EXPECT_EQ(plan->transfers[i].amount, expected[i].amount);
      ASSERT_LE(plan->transfers[i].amount, left);
      left -= plan->transfers[i].amount;
    }
    EXPECT_EQ(left, 0u) << "fee + transfers + remainder must be the total";
  }
}

TEST(PayoutSplitTest, Refusals) {
  const std::vector<Payee> twice = {{Account(1), 1}, {Account(1), 2}};
  EXPECT_EQ(ComputePayout(100, 0, twice, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputePayout(100, 1001, {{Account(1), 1}}, 10).status().code(),
            StatusCode::kInvalidArgument);
  const std::vector<Payee> huge = {{Account(1), UINT64_MAX}, {Account(2), 1}};
  EXPECT_EQ(ComputePayout(100, 0, huge, 10).status().code(), StatusCode::kInvalidArgument);
  std::vector<Payee> many;
  many.reserve(5);
  for (int i = 0; i < 5; ++i) many.push_back({Account(static_cast<uint8_t>(i)), 1});
  EXPECT_EQ(ComputePayout(1000, 0, many, 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ComputePayout(1000, 0, many, 5).ok());
  // Payees whose share is 0 do not count against the bound.
  EXPECT_TRUE(ComputePayout(3, 0, many, 3).ok());
}

// ---- Amounts the operator writes ----

TEST(PayoutAmountTest, OnlyPlainDecimalsAreRead) {
  struct Row {
    std::string text;
    uint64_t min;
    uint64_t max;
    std::optional<uint64_t> value;  // nullopt: refused
  };
  const std::vector<Row> rows = {
      {"0", 0, 1000, 0},
      {"1", 1, UINT64_MAX, 1},
      {"1000", 0, 1000, 1000},
      {"18446744073709551615", 1, UINT64_MAX, UINT64_MAX},
      // What strtoull base 0 reads another way: a wrapped sign, octal, hex.
      {"-1", 0, UINT64_MAX, std::nullopt},
      {"+1", 0, UINT64_MAX, std::nullopt},
      {"0100", 0, UINT64_MAX, std::nullopt},
      {"00", 0, UINT64_MAX, std::nullopt},
      {"0x10", 0, UINT64_MAX, std::nullopt},
      {"0X10", 0, UINT64_MAX, std::nullopt},
      // Overflow, which strtoull saturates silently.
      {"18446744073709551616", 0, UINT64_MAX, std::nullopt},
      {"99999999999999999999999", 0, UINT64_MAX, std::nullopt},
      // Spaces, separators, exponents, fractions, nothing at all.
      {"", 0, UINT64_MAX, std::nullopt},
      {" 1", 0, UINT64_MAX, std::nullopt},
      {"1 ", 0, UINT64_MAX, std::nullopt},
      {"\t1", 0, UINT64_MAX, std::nullopt},
      {"1\n", 0, UINT64_MAX, std::nullopt},
      {"1_000", 0, UINT64_MAX, std::nullopt},
      {"1,000", 0, UINT64_MAX, std::nullopt},
      {"1e3", 0, UINT64_MAX, std::nullopt},
      {"1.0", 0, UINT64_MAX, std::nullopt},
      {std::string("1\0", 2), 0, UINT64_MAX, std::nullopt},
      // The range.
      {"0", 1, UINT64_MAX, std::nullopt},
      {"1001", 0, 1000, std::nullopt},
      {"99", 100, 600'000, std::nullopt},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE("'" + row.text + "'");
    const auto parsed = ParseDecimalAmount(row.text, row.min, row.max);
    if (row.value.has_value()) {
      ASSERT_TRUE(parsed.ok()) << parsed.status().message();
      EXPECT_EQ(*parsed, *row.value);
    } else {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

// ---- Profiles and accounts ----

TEST(ChainProfileTest, PinnedProfilesHoldTheKnownIndices) {
  const ChainProfile polkadot = Profile("polkadot");
  EXPECT_EQ(polkadot.ss58_prefix, 0);
  EXPECT_EQ(polkadot.utility_batch_all, (std::array<uint8_t, 2>{26, 2}));
  EXPECT_EQ(polkadot.balances_transfer_keep_alive, (std::array<uint8_t, 2>{5, 3}));
  EXPECT_EQ(base::HexEncode(polkadot.genesis_hash),
            "91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3");
  EXPECT_EQ(polkadot.signed_extensions.size(), 10u);
  const ChainProfile kusama = Profile("kusama");
  EXPECT_EQ(kusama.ss58_prefix, 2);
  EXPECT_EQ(kusama.utility_batch_all, (std::array<uint8_t, 2>{24, 2}));
  EXPECT_EQ(kusama.balances_transfer_keep_alive, (std::array<uint8_t, 2>{4, 3}));
  EXPECT_EQ(kusama.signed_extensions.size(), 9u);
}

TEST(ChainProfileTest, RefusesWhatTheEncoderCannotWrite) {
  const Json good = Json::parse(ProfileText("polkadot"));
  const auto refused = [](const Json& profile) {
    return ParseChainProfile(profile.dump()).status().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(ParseChainProfile(good.dump()).ok());
  Json profile = good;
  profile["signed_extensions"].push_back(
      {{"identifier", "ChargeAssetTxPayment"}, {"extra", "Null"}, {"additional_signed", "Null"}});
  EXPECT_TRUE(refused(profile)) << "unknown extension";
  profile = good;
  profile["signed_extensions"][5]["extra"] = "Compact<u64>";
  EXPECT_TRUE(refused(profile)) << "CheckNonce of another shape";
  profile = good;
  profile["signed_extensions"].erase(4);
  EXPECT_TRUE(refused(profile)) << "no CheckMortality";
  profile = good;
  profile["extra_key"] = 1;
  EXPECT_TRUE(refused(profile)) << "unknown key";
  profile = good;
  profile.erase("genesis_hash");
  EXPECT_TRUE(refused(profile)) << "missing key";
  profile = good;
  profile["extrinsic_version"] = 5;
  EXPECT_TRUE(refused(profile));
  profile = good;
  profile["utility_batch_all"] = {26, 256};
  EXPECT_TRUE(refused(profile));
  profile = good;
  profile["signature_type"] = "fp_account::EthereumSignature";
  EXPECT_TRUE(refused(profile));
  EXPECT_FALSE(ParseChainProfile("not json").ok());
  EXPECT_FALSE(ParseChainProfile(std::string(100, '[')).ok());
}

TEST(PayoutAccountTest, HexAndSs58OfThisNetworkOnly) {
  const AccountId account = Account(7);
  auto polkadot_address = keymgr::Ss58Encode(account, 0);
  auto kusama_address = keymgr::Ss58Encode(account, 2);
  ASSERT_TRUE(polkadot_address.ok() && kusama_address.ok());
  auto parsed = ParseAccount(*polkadot_address, 0);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, account);
  EXPECT_EQ(ParseAccount(*kusama_address, 0).status().code(), StatusCode::kInvalidArgument);
  auto hex = ParseAccount("0x" + base::HexEncode(account), 0);
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, account);
  for (const char* bad : {"0x0707", "", "0x", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ1",
                          "0xzz07070707070707070707070707070707070707070707070707070707070707"}) {
    EXPECT_FALSE(ParseAccount(bad, 0).ok()) << bad;
  }
}

// ---- Encoding: known answers from polkadot-js ----

TEST(PayoutExtrinsicTest, MatchesPolkadotJs) {
  const Json vectors =
      Json::parse(support::ReadFile(support::Location("payout-vectors")), nullptr, false);
  ASSERT_TRUE(vectors.is_object() && vectors["cases"].is_array());
  ASSERT_GE(vectors["cases"].size(), 4u);
  for (const Json& c : vectors["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const ChainProfile profile = Profile(c["chain"].get<std::string>());
    std::vector<Transfer> transfers;
    for (const Json& t : c["transfers"]) {
      auto dest = ParseAccount("0x" + t["account"].get<std::string>(), profile.ss58_prefix);
      ASSERT_TRUE(dest.ok());
      transfers.push_back({*dest, std::stoull(t["amount"].get<std::string>())});
    }
    const auto nonce = c["nonce"].get<uint32_t>();
    const std::vector<uint8_t> call = EncodeBatchCall(profile, transfers);
    EXPECT_EQ(base::HexEncode(call), c["call"]);
    const std::vector<uint8_t> payload = SigningPayload(profile, call, nonce);
    EXPECT_EQ(base::HexEncode(payload), c["signing_payload"]);
    const std::vector<uint8_t> message = SignedMessage(payload);
    EXPECT_EQ(base::HexEncode(message), c["signed_message"]);

    auto signer = ParseAccount("0x" + c["signer"].get<std::string>(), profile.ss58_prefix);
    auto signature = base::HexDecode(c["signature"].get<std::string>());
    ASSERT_TRUE(signer.ok() && signature.ok() && signature->size() == kSr25519SignatureSize);
    EXPECT_TRUE(keymgr::Sr25519Verify(*signer, message, *signature));
    const std::vector<uint8_t> extrinsic = EncodeSignedExtrinsic(
        profile, call, *signer, std::span<const uint8_t, kSr25519SignatureSize>(*signature), nonce);
    EXPECT_EQ(base::HexEncode(extrinsic), c["extrinsic"]);
    EXPECT_EQ(base::HexEncode(ExtrinsicHash(extrinsic)), c["tx_hash"]);
  }
}

TEST(PayoutExtrinsicTest, HashesOnlyPayloadsOver256Bytes) {
  const std::vector<uint8_t> short_payload(256, 1);
  EXPECT_EQ(SignedMessage(short_payload), short_payload);
  const std::vector<uint8_t> long_payload(257, 1);
  EXPECT_EQ(SignedMessage(long_payload).size(), 32u);
}

// ---- The ledger ----

PayoutRecord Prepared(const std::string& period) {
  PayoutRecord record;
  record.period = period;
  record.state = PayoutState::kPrepared;
  record.chain = "polkadot";
  record.input_digest = "0x01";
  record.nonce = 7;
  record.extrinsic_hex = "0xaabb";
  record.tx_hash_hex = "0x" + std::string(64, 'c');
  return record;
}

TEST(PayoutLedgerTest, PreparedThenSubmittedAndNothingElse) {
  support::TempDir dir("payout-ledger");
  auto ledger = PayoutLedger::Open(dir / "ledger");
  ASSERT_TRUE(ledger.ok()) << ledger.status().message();
  auto none = ledger->Find("p1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  PayoutRecord record = Prepared("p1");
  PayoutRecord submitted = record;
  submitted.state = PayoutState::kSubmitted;
  EXPECT_EQ(ledger->Record(submitted).code(), StatusCode::kFailedPrecondition)
      << "submitted before prepared";
  ASSERT_TRUE(ledger->Record(record).ok());
  EXPECT_EQ(ledger->Record(record).code(), StatusCode::kFailedPrecondition) << "prepared twice";
  PayoutRecord other = submitted;
  other.extrinsic_hex = "0xaabc";
  EXPECT_EQ(ledger->Record(other).code(), StatusCode::kFailedPrecondition)
      << "submitted with other bytes";
  other = submitted;
  other.nonce = 8;
  EXPECT_EQ(ledger->Record(other).code(), StatusCode::kFailedPrecondition);

  auto in_flight = ledger->InFlight();
  ASSERT_TRUE(in_flight.ok());
  ASSERT_EQ(in_flight->size(), 1u);
  EXPECT_EQ((*in_flight)[0].period, "p1");

  ASSERT_TRUE(ledger->Record(submitted).ok());
  EXPECT_EQ(ledger->Record(submitted).code(), StatusCode::kFailedPrecondition)
      << "a submitted period is never rewritten";
  EXPECT_TRUE(ledger->InFlight()->empty());

  // A reopened ledger reads the same.
  const std::filesystem::path path = ledger->dir();
  { PayoutLedger closed = std::move(*ledger); }
  auto reopened = PayoutLedger::Open(path);
  ASSERT_TRUE(reopened.ok());
  auto found = reopened->Find("p1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->state, PayoutState::kSubmitted);
  EXPECT_EQ((*found)->nonce, 7u);
  EXPECT_EQ((*found)->extrinsic_hex, "0xaabb");
}

TEST(PayoutLedgerTest, OneRunAtATime) {
  support::TempDir dir("payout-ledger");
  auto first = PayoutLedger::Open(dir.path());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(PayoutLedger::Open(dir.path()).status().code(), StatusCode::kBusy);
}

TEST(PayoutLedgerTest, CorruptRecordsAreErrorsNotAbsence) {
  support::TempDir dir("payout-ledger");
  auto ledger = PayoutLedger::Open(dir.path());
  ASSERT_TRUE(ledger.ok());
  const std::string unknown_state =
      R"({"format":1,"period":"p2","state":"paid","chain":"polkadot","input_digest":"0x",)"
      R"("nonce":1,"extrinsic":"0xaa","tx_hash":"0x00"})";
  for (const std::string& text : {std::string(), std::string("{}"), std::string("not json"),
                                  std::string(R"({"format":1})"), unknown_state}) {
    ASSERT_TRUE(support::WriteFile(dir / "period-p2.json", text, 0600).ok());
    EXPECT_EQ(ledger->Find("p2").status().code(), StatusCode::kCorruption) << text;
    EXPECT_EQ(ledger->InFlight().status().code(), StatusCode::kCorruption) << text;
  }
}

TEST(PayoutLedgerTest, PeriodIdsNameNoPath) {
  for (const char* good : {"2026-12-05", "p1", "A.b_c-9"}) EXPECT_TRUE(ValidPeriodId(good));
  for (const char* bad : {"", "../x", "a/b", ".hidden", "a b", "x\n"}) {
    EXPECT_FALSE(ValidPeriodId(bad)) << bad;
  }
  EXPECT_FALSE(ValidPeriodId(std::string(65, 'a')));
}

}  // namespace
}  // namespace rpc_pool
