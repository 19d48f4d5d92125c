// Tests of the threshold rules and of a key agent's FROST shares on a SoftHSM2 token.
#include "keymgr/threshold.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "keymgr/ed25519.h"
#include "keymgr/pkcs11_custody.h"
#include "keymgr/sr25519.h"
#include "support/environment.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"

namespace keymgr {
namespace {

constexpr std::string_view kUserPin = "agent-pin";

TEST(ThresholdRulesTest, SafetyRuleTable) {
  struct Case {
    uint16_t t, n;
    bool safe;
    int tolerated;
  };
  const Case cases[] = {
      {2, 2, true, 1},  {2, 3, true, 0},  {3, 4, true, 1},  {3, 5, true, 0},
      {4, 5, true, 2},  {4, 6, true, 1},  {5, 7, true, 2},  {2, 4, false, 0},
      {3, 6, false, 0}, {1, 1, false, 0}, {1, 3, false, 0}, {4, 3, false, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.t) + "-of-" + std::to_string(c.n));
    EXPECT_EQ(CheckThresholdSafety(c.t, c.n).ok(), c.safe);
    if (c.safe) {
      EXPECT_EQ(ToleratedCompromisedAgents(c.t, c.n), c.tolerated);
    }
  }
  EXPECT_EQ(DescribeThreshold(2, 3), "2-of-3, tolerates 0 compromised agents");
  EXPECT_EQ(DescribeThreshold(4, 5), "4-of-5, tolerates 2 compromised agents");
}

TEST(ThresholdRulesTest, SuitePerKeyType) {
  struct Case {
    const char* key_type;
    bool thresholdable;
    frost::Suite suite;
  };
  const Case cases[] = {
      {"gran", true, frost::Suite::kEd25519},
      {"para", true, frost::Suite::kSr25519},
      {"audi", true, frost::Suite::kSr25519},
      {"imon", true, frost::Suite::kSr25519},
      {"babe", false, {}},
      {"asgn", false, {}},
      {"beef", false, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key_type);
    base::Result<frost::Suite> suite = ThresholdSuiteForKeyType(*base::MakeKeyTypeId(c.key_type));
    ASSERT_EQ(suite.ok(), c.thresholdable);
    if (c.thresholdable) {
      EXPECT_EQ(*suite, c.suite);
    }
  }
}

// FrostShareCustodyTest opens a fresh SoftHSM2 token as a key agent would.
class FrostShareCustodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base::Result<support::SoftHsm> hsm = support::SoftHsm::Create(dir_.path());
    ASSERT_TRUE(hsm.ok()) << hsm.status().message();
    hsm_ = std::make_unique<support::SoftHsm>(std::move(hsm).value());
    env_ = std::make_unique<support::ScopedEnvironmentVariable>("SOFTHSM2_CONF",
                                                                hsm_->config_path().string());
    ASSERT_TRUE(hsm_->InitToken("agent", kUserPin, "agent-so-pin").ok());
  }

  std::unique_ptr<Pkcs11Custody> Open() {
    Pkcs11Config config;
    config.module_path = SIGNER_SOFTHSM2_MODULE;
    config.token_label = "agent";
    config.pin = base::SecretBytes::CopyFrom(
        std::span(reinterpret_cast<const uint8_t*>(kUserPin.data()), kUserPin.size()));
    base::Result<std::unique_ptr<Pkcs11Custody>> custody = Pkcs11Custody::Open(std::move(config));
    EXPECT_TRUE(custody.ok()) << custody.status().message();
    return custody.ok() ? std::move(custody).value() : nullptr;
  }

  support::TempDir dir_{"frost-share-custody"};
  std::unique_ptr<support::SoftHsm> hsm_;
  std::unique_ptr<support::ScopedEnvironmentVariable> env_;
};

frost::DealerOutput SplitEd25519(uint16_t t, uint16_t n) {
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(seed);
  EXPECT_TRUE(pair.ok());
  base::Result<frost::DealerOutput> split = frost::TrustedDealerSplitEd25519(*pair, t, n);
  EXPECT_TRUE(split.ok()) << split.status().message();
  return std::move(split).value();
}

TEST_F(FrostShareCustodyTest, StoredSharesSurviveReopeningAndStayOutOfTheKeyList) {
  frost::DealerOutput split = SplitEd25519(2, 3);
  const base::KeyTypeId gran = base::kKeyTypeGrandpa;
  {
    std::unique_ptr<Pkcs11Custody> custody = Open();
    ASSERT_NE(custody, nullptr);
    base::Result<frost::KeyPackage> package = frost::VerifySecretShare(split.shares[1]);
    ASSERT_TRUE(package.ok());
    ASSERT_TRUE(custody->StoreFrostShare(gran, *package, split.public_package, false).ok());
    base::Status again = custody->StoreFrostShare(gran, *package, split.public_package, false);
    EXPECT_EQ(again.code(), base::StatusCode::kInvalidArgument) << again.message();
    base::Result<std::vector<KeyInfo>> keys = custody->List();
    ASSERT_TRUE(keys.ok());
    EXPECT_TRUE(keys->empty()) << "a share is not a key the signing paths may use";
  }
  std::unique_ptr<Pkcs11Custody> reopened = Open();
  ASSERT_NE(reopened, nullptr);
  base::Result<std::vector<FrostShare>> shares = reopened->LoadFrostShares();
  ASSERT_TRUE(shares.ok()) << shares.status().message();
  ASSERT_EQ(shares->size(), 1u);
  const FrostShare& share = shares->front();
  EXPECT_EQ(share.id.key_type, gran);
  EXPECT_EQ(share.key_package.identifier.value(), 2);
  EXPECT_TRUE(share.key_package.signing_share.Equals(split.shares[1].value.span()));
  EXPECT_EQ(share.public_package.Serialize(), split.public_package.Serialize());
  EXPECT_FALSE(share.generated);

  ASSERT_TRUE(reopened->DeleteFrostShare(share.id).ok());
  EXPECT_EQ(reopened->DeleteFrostShare(share.id).code(), base::StatusCode::kNotFound);
  shares = reopened->LoadFrostShares();
  ASSERT_TRUE(shares.ok());
  EXPECT_TRUE(shares->empty());
}

TEST_F(FrostShareCustodyTest, RefusesSharesThatDoNotBelongTogetherOrAreUnsafe) {
  std::unique_ptr<Pkcs11Custody> custody = Open();
  ASSERT_NE(custody, nullptr);
  frost::DealerOutput split = SplitEd25519(2, 3);
  base::Result<frost::KeyPackage> package = frost::VerifySecretShare(split.shares[0]);
  ASSERT_TRUE(package.ok());

  // An ed25519 share under an sr25519 key type, and under key types FROST cannot serve.
  for (const char* key_type : {"para", "babe", "beef"}) {
    SCOPED_TRACE(key_type);
    EXPECT_EQ(
        custody
            ->StoreFrostShare(*base::MakeKeyTypeId(key_type), *package, split.public_package, false)
            .code(),
        base::StatusCode::kInvalidArgument);
  }
  // The public package of another key.
  frost::DealerOutput other = SplitEd25519(2, 3);
  EXPECT_EQ(
      custody->StoreFrostShare(base::kKeyTypeGrandpa, *package, other.public_package, false).code(),
      base::StatusCode::kInvalidArgument);
  // 2-of-4 is refused: two disjoint pairs could sign conflicting votes.
  frost::DealerOutput unsafe = SplitEd25519(2, 4);
  base::Result<frost::KeyPackage> unsafe_package = frost::VerifySecretShare(unsafe.shares[0]);
  ASSERT_TRUE(unsafe_package.ok());
  base::Status refused = custody->StoreFrostShare(base::kKeyTypeGrandpa, *unsafe_package,
                                                  unsafe.public_package, false);
  EXPECT_EQ(refused.code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("n/2"), std::string::npos) << refused.message();
  base::Result<std::vector<FrostShare>> shares = custody->LoadFrostShares();
  ASSERT_TRUE(shares.ok());
  EXPECT_TRUE(shares->empty());
}

}  // namespace
}  // namespace keymgr
