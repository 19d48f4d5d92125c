// End to end: `signerctl keys delete` / `keys disable` beside a running signerd stop an sr25519 key
// without a restart (issue 10 item 4).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "base/hex.h"
#include "keymgr/keypair.h"
#include "signerd_harness.h"
#include "support/bytes.h"
#include "support/dev_pki.h"
#include "test_payloads.h"

namespace {

namespace pb = parity::polkadot::signer;
using support::AsBytes;
using support::AsString;

constexpr char kIdentity[] = "validator";

class LiveKeyRemovalTest : public testing::Test {
 protected:
  void SetUp() override {
    auto harness = e2e::SignerdHarness::Create("signerd_key_removal");
    ASSERT_TRUE(harness.ok()) << harness.status().message();
    harness_ = std::move(harness).value();
    {
      auto custody = harness_->OpenCustody();
      ASSERT_TRUE(custody.ok()) << custody.status().message();
      for (const char* suri : {"//Alice", "//Bob"}) {
        auto pair = keymgr::KeypairFromSuri(base::Scheme::kSr25519, suri);
        ASSERT_TRUE(pair.ok());
        auto info = (*custody)->Import(*base::MakeKeyTypeId("para"), *pair);
        ASSERT_TRUE(info.ok()) << info.status().message();
        para_keys_.push_back(info->id.public_key);
      }
    }
    ASSERT_TRUE(support::MakeDevPki(harness_->dir() / "pki", {kIdentity}).ok());
    const std::string policy =
        std::string("identities:\n  ") + kIdentity +
        ":\n    - {key_types: [para], operations: [sign, list], public_keys: [\"" +
        base::HexEncode(para_keys_[0]) + "\", \"" + base::HexEncode(para_keys_[1]) + "\"]}\n";
    ASSERT_TRUE(harness_->WritePrivateFile("policy.yaml", policy).ok());
    base::Status started = harness_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
    client_ = harness_->Client(kIdentity);
    ASSERT_NE(client_, nullptr);
  }

  // SignBacking signs a fresh backing statement (a new candidate each call, so slashing protection
  // never stands in the way) with the para key `public_key`.
  grpc::Status SignBacking(const std::vector<uint8_t>& public_key, pb::SignWithReply& reply) {
    const std::vector<uint8_t> statement = slashing::testing::BackingStatement(
        2, slashing::testing::FilledHash(static_cast<uint8_t>(++statements_)), 11);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::SignWithRequest request;
    request.set_key_type("para");
    request.set_crypto_type("sr25519");
    request.set_public_key(AsString(public_key));
    request.set_message(AsString(statement));
    grpc::Status status = client_->SignWith(&context, request, &reply);
    if (status.ok() && !reply.signature().signature().empty()) {
      EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kSr25519, public_key, statement,
                                          AsBytes(reply.signature().signature())));
    }
    return status;
  }

  // Signs is true when a sign call with `public_key` returns a signature; false when it answers
  // PAIR_NOT_FOUND. Anything else fails the test.
  bool Signs(const std::vector<uint8_t>& public_key) {
    pb::SignWithReply reply;
    const grpc::Status status = SignBacking(public_key, reply);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    if (reply.signature().signature().empty()) {
      EXPECT_EQ(reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
      return false;
    }
    return true;
  }

  bool Listed(const std::vector<uint8_t>& public_key) {
    grpc::ClientContext context;
    pb::Sr25519PublicKeysRequest request;
    request.set_key_type("para");
    pb::Sr25519PublicKeysReply reply;
    EXPECT_TRUE(client_->Sr25519PublicKeys(&context, request, &reply).ok());
    for (const std::string& key : reply.public_keys()) {
      if (key == AsString(public_key)) return true;
    }
    return false;
  }

  std::unique_ptr<e2e::SignerdHarness> harness_;
  std::unique_ptr<pb::RemoteKeystore::Stub> client_;
  std::vector<std::vector<uint8_t>> para_keys_;
  int statements_ = 0;
};

TEST_F(LiveKeyRemovalTest, DeleteBesideRunningSignerdStopsTheSr25519KeyAtTheNextSign) {
  const std::vector<uint8_t>& deleted = para_keys_[0];
  // Twice: the second signature comes from the secret signerd now holds unwrapped in memory.
  ASSERT_TRUE(Signs(deleted));
  ASSERT_TRUE(Signs(deleted));
  ASSERT_TRUE(Signs(para_keys_[1]));

  // --force: the history is locked by the running signerd, so the delete guard cannot read it.
  const support::ProcessResult deletion = harness_->RunSignerctl(
      {"keys", "delete", "--type", "para", "--public", base::HexEncode(deleted), "--force"});
  ASSERT_EQ(deletion.exit_code, 0) << deletion.Describe();
  // The very next call, with no wait and no restart.
  EXPECT_FALSE(Signs(deleted)) << "a deleted sr25519 key still signs in the running signerd";
  EXPECT_FALSE(Listed(deleted));
  EXPECT_TRUE(Signs(para_keys_[1])) << "the other key stopped signing";
  EXPECT_TRUE(Listed(para_keys_[1]));
}

TEST_F(LiveKeyRemovalTest, DisableBesideRunningSignerdStopsTheSr25519KeyWithinTheRefreshBound) {
  const std::vector<uint8_t>& disabled = para_keys_[1];
  ASSERT_TRUE(Signs(disabled));
  ASSERT_TRUE(Signs(disabled));

  const auto disabled_at = std::chrono::steady_clock::now();
  const support::ProcessResult disabling = harness_->RunSignerctl(
      {"keys", "disable", "--type", "para", "--public", base::HexEncode(disabled)});
  ASSERT_EQ(disabling.exit_code, 0) << disabling.Describe();
  // signerd's custody re-reads the disable markers at least every 2 s (Pkcs11Config's
  // disabled_refresh default, docs/custody.md); past that bound no sign may succeed.
  const auto bound = disabled_at + std::chrono::seconds(2);
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() < bound) {
    refused = !Signs(disabled);
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!refused) refused = !Signs(disabled);
  EXPECT_TRUE(refused) << "a disabled sr25519 key still signs 2 s later";
  RecordProperty("disable_seen_after_ms",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - disabled_at)
                                      .count()));
  EXPECT_FALSE(Signs(disabled));
  EXPECT_FALSE(Listed(disabled));
  EXPECT_TRUE(Signs(para_keys_[0])) << "the other key stopped signing";

  // Enabled again, it signs again within the same bound, still without a restart.
  const support::ProcessResult enabling = harness_->RunSignerctl(
      {"keys", "enable", "--type", "para", "--public", base::HexEncode(disabled)});
  ASSERT_EQ(enabling.exit_code, 0) << enabling.Describe();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_TRUE(Signs(disabled));
}

}  // namespace
