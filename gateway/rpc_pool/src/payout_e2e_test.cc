// End to end: rpc-pool-payout against a real signerd (SoftHSM2 token, an acco key, mutual TLS)
// and a fake node that takes extrinsics and tracks the pool account's nonce. A run killed between
// "prepared" and "submitted" and run again pays exactly once; polkadot-js checks every accepted
// extrinsic; refusals (wrong chain, unknown key, signer or node down, a check that says no)
// record nothing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/keypair.h"
#include "keymgr/ss58.h"
#include "rpc_pool/payout_ledger.h"
#include "signerd_harness.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "testing/fake_node.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using rpc_pool::testing::FakeNode;

constexpr char kIdentity[] = "payout";
constexpr char kPoolSuri[] = "//PoolAccount";
constexpr auto kWaitLimit = std::chrono::seconds(30);

// The run every test pays, unless it says otherwise: 100 DOT, a 5 % fee, points 5:3:2.
constexpr uint64_t kTotal = 1'000'000'000'000;
constexpr uint32_t kFeePerMille = 50;

// PayoutChain scripts the fake node as a chain with one account that matters: the pool's. It
// accepts an extrinsic once (moving the nonce on), answers "already imported" to the same bytes
// again, and can hold submissions unanswered, before or after taking them.
class PayoutChain {
 public:
  enum class Mode { kNormal, kHoldBeforeImport, kImportThenHold };

  explicit PayoutChain(const Json& profile) : profile_(profile) {
    genesis_ = profile["genesis_hash"].get<std::string>();
  }

  FakeNode::MethodAnswer Handle(const std::string& method, const Json& params) {
    using Kind = FakeNode::MethodAnswer::Kind;
    const auto answer = [](Kind kind, const Json& value) {
      return FakeNode::MethodAnswer{kind, value.dump()};
    };
    std::lock_guard lock(mutex_);
    if (method == "chain_getBlockHash") return answer(Kind::kResult, genesis_);
    if (method == "state_getRuntimeVersion") {
      return answer(Kind::kResult, {{"specName", profile_["spec_name"]},
                                    {"specVersion", spec_version_ != 0 ? Json(spec_version_)
                                                                       : profile_["spec_version"]},
                                    {"transactionVersion", profile_["transaction_version"]}});
    }
    if (method == "system_accountNextIndex") return answer(Kind::kResult, nonce_);
    if (method == "author_submitExtrinsic") {
      const std::string extrinsic = params.at(0).get<std::string>();
      received_.push_back(extrinsic);
      if (mode_ == Mode::kHoldBeforeImport) return {Kind::kHold, ""};
      for (const std::string& seen : accepted_) {
        if (seen == extrinsic) {
          return answer(Kind::kError,
                        {{"code", 1013}, {"message", "Transaction Already Imported"}});
        }
      }
      accepted_.push_back(extrinsic);
      ++nonce_;
      if (mode_ == Mode::kImportThenHold) return {Kind::kHold, ""};
      auto bytes = base::HexDecode(extrinsic);
      return answer(Kind::kResult, "0x" + base::HexEncode(base::Blake2b256(*bytes)));
    }
    return {};
  }

  void SetMode(Mode mode) {
    std::lock_guard lock(mutex_);
    mode_ = mode;
  }
  void SetGenesis(std::string genesis) {
    std::lock_guard lock(mutex_);
    genesis_ = std::move(genesis);
  }
  // SetSpecVersion makes the node report another runtime than the profile pins (0: the pinned).
  void SetSpecVersion(uint32_t spec_version) {
    std::lock_guard lock(mutex_);
    spec_version_ = spec_version;
  }
  std::vector<std::string> accepted() {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  const Json profile_;
  std::mutex mutex_;
  Mode mode_ = Mode::kNormal;
  std::string genesis_;
  uint32_t spec_version_ = 0;
  uint64_t nonce_ = 42;
  std::vector<std::string> accepted_;
  std::vector<std::string> received_;
};

// ClosedPort returns a loopback port nothing listens on (bound, then released).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return 1;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

class PayoutEndToEndTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto harness = e2e::SignerdHarness::Create("payout_e2e");
    ASSERT_TRUE(harness.ok()) << harness.status().message();
    harness_ = std::move(harness).value().release();
    {
      auto custody = harness_->OpenCustody();
      ASSERT_TRUE(custody.ok()) << custody.status().message();
      auto pair = keymgr::KeypairFromSuri(base::Scheme::kSr25519, kPoolSuri);
      ASSERT_TRUE(pair.ok());
      auto info = (*custody)->Import(*base::MakeKeyTypeId("acco"), *pair);
      ASSERT_TRUE(info.ok()) << info.status().message();
      pool_key_ = new std::string("0x" + base::HexEncode(info->id.public_key));
    }
    ASSERT_TRUE(support::MakeDevPki(harness_->dir() / "pki", {kIdentity}).ok());
    const std::string policy = std::string("identities:\n  ") + kIdentity +
                               ":\n    - {key_types: [acco], operations: [sign, list], "
                               "public_keys: [\"" +
                               pool_key_->substr(2) + "\"]}\n";
    ASSERT_TRUE(harness_->WritePrivateFile("policy.yaml", policy).ok());
    const base::Status started = harness_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
  }

  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
    delete pool_key_;
    pool_key_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(harness_, nullptr);
    profile_path_ = fs::path(support::Location("payout-chains")) / "polkadot.json";
    profile_ = Json::parse(support::ReadFile(profile_path_));
    chain_ = std::make_unique<PayoutChain>(profile_);
    auto node = FakeNode::Start();
    ASSERT_TRUE(node.ok());
    node_ = std::move(node).value();
    node_->SetHandler([chain = chain_.get()](const std::string& method, const Json& params) {
      return chain->Handle(method, params);
    });
    // Three payees, by SS58 (Polkadot's prefix) and by hex.
    for (const uint8_t fill : {uint8_t{0x11}, uint8_t{0x22}, uint8_t{0x33}}) {
      accounts_.push_back(std::vector<uint8_t>(32, fill));
    }
    Json points = Json::array();
    points.push_back({{"account", *keymgr::Ss58Encode(accounts_[0], 0)}, {"points", 5}});
    points.push_back({{"account", "0x" + base::HexEncode(accounts_[1])}, {"points", 3}});
    points.push_back({{"account", *keymgr::Ss58Encode(accounts_[2], 0)}, {"points", 2}});
    ASSERT_TRUE(support::WriteFile(dir_ / "points.json", points.dump(), 0600).ok());
  }

  // Expected is the test's own split: fee 50 000 000 000, then 950 000 000 000 shared 5:3:2.
  Json Expected(uint32_t nonce) const {
    return {{"signer", *pool_key_},
            {"nonce", nonce},
            {"transfers",
             {{{"account", "0x" + base::HexEncode(accounts_[0])}, {"amount", "475000000000"}},
              {{"account", "0x" + base::HexEncode(accounts_[1])}, {"amount", "285000000000"}},
              {{"account", "0x" + base::HexEncode(accounts_[2])}, {"amount", "190000000000"}}}}};
  }

  std::vector<std::string> PayoutArgs(const std::string& period) const {
    const tls::ClientCredentialFiles files =
        support::DevPkiClientFiles(harness_->dir() / "pki", kIdentity);
    std::vector<std::string> args = {
        support::Location("rpc-pool-payout"),
        "--period",
        period,
        "--points",
        (dir_ / "points.json").string(),
        "--total",
        std::to_string(total_),
        "--fee-per-mille",
        std::to_string(kFeePerMille),
        "--chain-profile",
        profile_path_.string(),
        "--signer",
        "127.0.0.1:" +
            std::to_string(signer_port_override_ ? signer_port_override_ : harness_->port()),
        "--signer-ca",
        files.server_ca.string(),
        "--cert",
        files.certificate.string(),
        "--key",
        files.private_key.string(),
        "--pool-public-key",
        pool_key_override_.empty() ? *pool_key_ : pool_key_override_,
        "--node-rpc",
        "127.0.0.1:" + std::to_string(node_port_override_ ? node_port_override_ : node_->port()),
        "--ledger-dir",
        (dir_ / "ledger").string(),
        "--timeout-ms",
        "3000"};
    if (check_command_.empty()) {
      args.insert(args.end(), {"--check-command", support::Location("node"), "--check-arg",
                               support::Location("payout-check"), "--check-arg", "--chain",
                               "--check-arg", "polkadot"});
    } else {
      args.insert(args.end(), {"--check-command", check_command_});
    }
    return args;
  }

  support::ProcessResult RunPayout(const std::string& period) const {
    support::ProcessOptions options;
    options.timeout = std::chrono::seconds(60);
    return support::ResultOrStartFailure(support::RunProcess(PayoutArgs(period), options));
  }

  // PolkadotJsAccepts runs the independent check on `extrinsic` with the test's own expectation.
  bool PolkadotJsAccepts(const std::string& extrinsic, uint32_t nonce) const {
    EXPECT_TRUE(support::WriteFile(dir_ / "expect.json", Expected(nonce).dump(), 0600).ok());
    support::ProcessOptions options;
    options.stdin_text = extrinsic;
    options.timeout = std::chrono::seconds(60);
    const support::ProcessResult result = support::ResultOrStartFailure(
        support::RunProcess({support::Location("node"), support::Location("payout-check"),
                             "--chain", "polkadot", "--expect", (dir_ / "expect.json").string()},
                            options));
    EXPECT_EQ(result.exit_code, 0) << result.Describe();
    return result.exit_code == 0;
  }

  std::optional<rpc_pool::PayoutRecord> LedgerRecord(const std::string& period) const {
    auto ledger = rpc_pool::PayoutLedger::Open(dir_ / "ledger");
    EXPECT_TRUE(ledger.ok()) << ledger.status().message();
    if (!ledger.ok()) return std::nullopt;
    auto found = ledger->Find(period);
    EXPECT_TRUE(found.ok()) << found.status().message();
    return found.ok() ? *found : std::nullopt;
  }

  // RunAndKillAfterSubmission starts a payout and SIGKILLs it once the node has received its
  // extrinsic (which the node holds unanswered), between "prepared" and "submitted".
  void RunAndKillAfterSubmission(const std::string& period) {
    auto child = support::ChildProcess::Start(PayoutArgs(period));
    ASSERT_TRUE(child.ok()) << child.status().message();
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    bool prepared = false;
    while (!prepared && std::chrono::steady_clock::now() < deadline) {
      const std::optional<std::string> line = child->ReadLine(std::chrono::milliseconds(200));
      if (line.has_value() && line->find(": prepared nonce 42") != std::string::npos) {
        prepared = true;
      }
    }
    ASSERT_TRUE(prepared) << "the payout never said prepared";
    while (chain_->received().empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(chain_->received().size(), 1u);
    ASSERT_TRUE(child->Signal(SIGKILL).ok());
    EXPECT_EQ(child->Wait(), -SIGKILL);
    const auto record = LedgerRecord(period);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->state, rpc_pool::PayoutState::kPrepared);
    EXPECT_EQ(record->extrinsic_hex, chain_->received()[0]);
  }

  static e2e::SignerdHarness* harness_;
  static std::string* pool_key_;
  support::TempDir dir_{"payout-e2e"};
  fs::path profile_path_;
  Json profile_;
  std::unique_ptr<PayoutChain> chain_;
  std::unique_ptr<FakeNode> node_;
  std::vector<std::vector<uint8_t>> accounts_;
  std::string check_command_;
  uint64_t total_ = kTotal;
  std::string pool_key_override_;
  int signer_port_override_ = 0;
  int node_port_override_ = 0;
};

e2e::SignerdHarness* PayoutEndToEndTest::harness_ = nullptr;
std::string* PayoutEndToEndTest::pool_key_ = nullptr;

TEST_F(PayoutEndToEndTest, PaysOnceAndASecondRunIsANoOp) {
  const support::ProcessResult first = RunPayout("2026-12-01");
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  EXPECT_NE(first.out.find("2026-12-01: submitted tx 0x"), std::string::npos) << first.out;
  ASSERT_EQ(chain_->accepted().size(), 1u);
  EXPECT_TRUE(PolkadotJsAccepts(chain_->accepted()[0], 42));
  const auto record = LedgerRecord("2026-12-01");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, rpc_pool::PayoutState::kSubmitted);
  EXPECT_EQ(record->extrinsic_hex, chain_->accepted()[0]);

  const support::ProcessResult second = RunPayout("2026-12-01");
  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  EXPECT_NE(second.out.find("already paid"), std::string::npos) << second.out;
  EXPECT_EQ(chain_->received().size(), 1u) << "a paid period was submitted again";
}

TEST_F(PayoutEndToEndTest, KilledAfterTheNodeTookItPaysExactlyOnce) {
  chain_->SetMode(PayoutChain::Mode::kImportThenHold);
  RunAndKillAfterSubmission("2026-12-02");
  chain_->SetMode(PayoutChain::Mode::kNormal);

  const support::ProcessResult rerun = RunPayout("2026-12-02");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.Describe();
  EXPECT_NE(rerun.out.find("resubmitting the prepared extrinsic"), std::string::npos);
  EXPECT_NE(rerun.out.find("submitted tx"), std::string::npos) << rerun.out;
  // The node saw the same bytes twice and took them once.
  const std::vector<std::string> received = chain_->received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0], received[1]);
  ASSERT_EQ(chain_->accepted().size(), 1u);
  EXPECT_TRUE(PolkadotJsAccepts(chain_->accepted()[0], 42));
  EXPECT_EQ(LedgerRecord("2026-12-02")->state, rpc_pool::PayoutState::kSubmitted);

  const support::ProcessResult again = RunPayout("2026-12-02");
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(chain_->received().size(), 2u);
}

TEST_F(PayoutEndToEndTest, KilledBeforeTheNodeTookItResubmitsTheSameBytes) {
  chain_->SetMode(PayoutChain::Mode::kHoldBeforeImport);
  RunAndKillAfterSubmission("2026-12-03");
  EXPECT_TRUE(chain_->accepted().empty());
  chain_->SetMode(PayoutChain::Mode::kNormal);

  // Another period cannot start while this one is prepared: it would take the same nonce.
  const support::ProcessResult other = RunPayout("2026-12-04");
  EXPECT_EQ(other.exit_code, 1) << other.Describe();
  EXPECT_NE(other.err.find("2026-12-03 is prepared"), std::string::npos) << other.err;

  // The prepared period run with other inputs is refused, not paid another way.
  total_ = kTotal + 1;
  const support::ProcessResult changed = RunPayout("2026-12-03");
  EXPECT_EQ(changed.exit_code, 1) << changed.Describe();
  EXPECT_NE(changed.err.find("with other inputs"), std::string::npos) << changed.err;
  total_ = kTotal;
  EXPECT_EQ(chain_->received().size(), 1u);

  const support::ProcessResult rerun = RunPayout("2026-12-03");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.Describe();
  const std::vector<std::string> received = chain_->received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0], received[1]) << "the rerun built a new extrinsic";
  ASSERT_EQ(chain_->accepted().size(), 1u);
  EXPECT_TRUE(PolkadotJsAccepts(chain_->accepted()[0], 42));
  EXPECT_EQ(LedgerRecord("2026-12-03")->state, rpc_pool::PayoutState::kSubmitted);
}

TEST_F(PayoutEndToEndTest, AnAnswerLostInTimeLeavesItPreparedAndTheRerunPaysOnce) {
  // The node takes the extrinsic but its answer never comes: the run gives up after its timeout.
  chain_->SetMode(PayoutChain::Mode::kImportThenHold);
  const support::ProcessResult lost = RunPayout("2026-12-05");
  EXPECT_EQ(lost.exit_code, 1) << lost.Describe();
  ASSERT_EQ(chain_->accepted().size(), 1u);
  EXPECT_EQ(LedgerRecord("2026-12-05")->state, rpc_pool::PayoutState::kPrepared);

  chain_->SetMode(PayoutChain::Mode::kNormal);
  const support::ProcessResult rerun = RunPayout("2026-12-05");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.Describe();
  EXPECT_NE(rerun.out.find("nonce is 43, past 42"), std::string::npos) << rerun.out;
  EXPECT_EQ(chain_->accepted().size(), 1u);
  EXPECT_EQ(LedgerRecord("2026-12-05")->state, rpc_pool::PayoutState::kSubmitted);
}

TEST_F(PayoutEndToEndTest, RefusalsRecordNothing) {
  struct Case {
    const char* name;
    std::function<void()> arrange;
    const char* says;
  };
  const Case cases[] = {
      {"another chain's node", [this] { chain_->SetGenesis("0x" + std::string(64, 'e')); },
       "genesis"},
      {"an upgraded runtime", [this] { chain_->SetSpecVersion(9999999); },
       "regenerate the chain profile"},
      {"a key the signer does not hold for us",
       [this] {
         auto bob = keymgr::KeypairFromSuri(base::Scheme::kSr25519, "//Bob");
         pool_key_override_ = "0x" + base::HexEncode(bob->public_key());
       },
       "no acco key"},
      {"signer down", [this] { signer_port_override_ = ClosedPort(); }, "signer"},
      {"node down", [this] { node_port_override_ = ClosedPort(); }, "node"},
      {"the check says no", [this] { check_command_ = "false"; }, "check command refused"},
  };
  int period = 10;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    chain_->SetGenesis(profile_["genesis_hash"].get<std::string>());
    chain_->SetSpecVersion(0);
    check_command_.clear();
    pool_key_override_.clear();
    signer_port_override_ = 0;
    node_port_override_ = 0;
    c.arrange();
    const std::string id = "2026-12-" + std::to_string(++period);
    const support::ProcessResult result = RunPayout(id);
    EXPECT_EQ(result.exit_code, 1) << result.Describe();
    EXPECT_NE(result.err.find(c.says), std::string::npos) << result.err;
    EXPECT_FALSE(LedgerRecord(id).has_value()) << "a refused run left a record";
    EXPECT_TRUE(chain_->received().empty());
  }
}

// Amounts the operator writes are plain decimals or the run stops before anything happens, with
// CLI11's usage-error exit code (not 1, the exit of a run that failed): strtoull, which CLI11
// uses, would read `-1` as 2^64 - 1, `0100` as octal 64 and an overflow as 2^64 - 1.
TEST_F(PayoutEndToEndTest, AmountsThatAreNotPlainDecimalsAreUsageErrors) {
  constexpr int kUsageError = 105;  // CLI11's ValidationError
  const auto with_flag = [this](const std::string& flag, const std::string& value) {
    std::vector<std::string> args = PayoutArgs("2026-12-20");
    const auto at = std::find(args.begin(), args.end(), flag);
    if (at == args.end()) {
      args.insert(args.end(), {flag, value});
    } else {
      *(at + 1) = value;
    }
    return args;
  };
  const auto run = [](const std::vector<std::string>& args) {
    support::ProcessOptions options;
    options.timeout = std::chrono::seconds(60);
    return support::ResultOrStartFailure(support::RunProcess(args, options));
  };
  struct Case {
    const char* flag;
    const char* value;
  };
  const Case cases[] = {
      {"--total", "-1"},
      {"--total", "0100"},
      {"--total", "0x10"},
      {"--total", "18446744073709551616"},
      {"--total", " 100"},
      {"--total", "0"},
      {"--fee-per-mille", "050"},
      {"--fee-per-mille", "-0"},
      {"--max-transfers", "0x100"},
      {"--timeout-ms", "07000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.flag) + " '" + c.value + "'");
    const support::ProcessResult result = run(with_flag(c.flag, c.value));
    EXPECT_EQ(result.exit_code, kUsageError) << result.Describe();
    EXPECT_NE(result.err.find(c.flag), std::string::npos) << result.err;
  }
  // The same from the settings file the controller passes with --config.
  for (const char* total : {"0100", "-1", "\"0100\""}) {
    SCOPED_TRACE(std::string("total = ") + total);
    ASSERT_TRUE(
        support::WriteFile(dir_ / "payout.toml", std::string("total = ") + total + "\n", 0600)
            .ok());
    std::vector<std::string> args = PayoutArgs("2026-12-20");
    const auto at = std::find(args.begin(), args.end(), "--total");
    ASSERT_NE(at, args.end());
    args.erase(at, at + 2);
    args.insert(args.end(), {"--config", (dir_ / "payout.toml").string()});
    const support::ProcessResult result = run(args);
    EXPECT_EQ(result.exit_code, kUsageError) << result.Describe();
    EXPECT_NE(result.err.find("total"), std::string::npos) << result.err;
  }
  EXPECT_TRUE(chain_->received().empty());
  EXPECT_FALSE(LedgerRecord("2026-12-20").has_value());

  // A plain decimal in the file is read as written and pays (polkadot-js has checked such runs
  // above; here the check is `true`).
  check_command_ = "true";
  ASSERT_TRUE(
      support::WriteFile(dir_ / "payout.toml", "total = " + std::to_string(kTotal) + "\n", 0600)
          .ok());
  std::vector<std::string> args = PayoutArgs("2026-12-20");
  const auto at = std::find(args.begin(), args.end(), "--total");
  ASSERT_NE(at, args.end());
  args.erase(at, at + 2);
  args.insert(args.end(), {"--config", (dir_ / "payout.toml").string()});
  const support::ProcessResult paid = run(args);
  ASSERT_EQ(paid.exit_code, 0) << paid.Describe();
  EXPECT_NE(paid.out.find("fee 50000000000,"), std::string::npos) << paid.out;
}

}  // namespace
