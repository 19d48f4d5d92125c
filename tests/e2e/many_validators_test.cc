// End to end: one signerd serving 50 validators, each confined to its own session keys (issue 10
// item 7: "a test parachain with multiple validators on the same remote signing server").
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/keypair.h"
#include "signerd_harness.h"
#include "support/bytes.h"
#include "support/dev_pki.h"
#include "test_payloads.h"

namespace {

namespace pb = parity::polkadot::signer;
using slashing::testing::FilledHash;
using support::AsBytes;
using support::AsString;

constexpr int kValidators = 50;
constexpr uint8_t kPrevote = 0;
constexpr uint64_t kSetId = 1;
constexpr uint32_t kSession = 11;

// Validator is one node's identity and its session keys as the signer holds them.
struct Validator {
  std::string identity;
  std::vector<uint8_t> babe;  // sr25519
  std::vector<uint8_t> gran;  // ed25519
  std::vector<uint8_t> para;  // sr25519
  std::unique_ptr<pb::RemoteKeystore::Stub> client;
};

constexpr const char* kKeyTypes[] = {"babe", "gran", "para"};

std::string IdentityOf(int index) {
  char name[32];
  std::snprintf(name, sizeof(name), "validator-%02d", index);
  return name;
}

const std::vector<uint8_t>& OwnKey(const Validator& validator, std::string_view key_type) {
  if (key_type == "babe") return validator.babe;
  if (key_type == "gran") return validator.gran;
  return validator.para;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class ManyValidatorsTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto harness = e2e::SignerdHarness::Create("signerd_many_validators");
    ASSERT_TRUE(harness.ok()) << harness.status().message();
    harness_ = std::move(harness).value().release();
    validators_ = new std::vector<Validator>(kValidators);

    // Session keys stored in one pass, as `signerctl keys restore` does (generating them one by one
    // searches the token before every key). Each comes from its validator's own SURI. SoftHSM2
    // rewrites files for every object it stores, so on a disk busy with other work this phase is
    // slow (about 20 s instead of 2 s on tmpfs): point TMPDIR at a tmpfs to keep the test fast.
    auto keys_started = std::chrono::steady_clock::now();
    {
      auto custody = harness_->OpenCustody();
      ASSERT_TRUE(custody.ok()) << custody.status().message();
      auto bulk = (*custody)->BeginBulkImport();
      ASSERT_TRUE(bulk.ok()) << bulk.status().message();
      for (int i = 0; i < kValidators; ++i) {
        Validator& validator = (*validators_)[static_cast<size_t>(i)];
        validator.identity = IdentityOf(i);
        for (auto [name, scheme, out] :
             {std::tuple{"babe", base::Scheme::kSr25519, &validator.babe},
              std::tuple{"gran", base::Scheme::kEd25519, &validator.gran},
              std::tuple{"para", base::Scheme::kSr25519, &validator.para}}) {
          auto pair = keymgr::KeypairFromSuri(scheme, "//" + validator.identity + "//" + name);
          ASSERT_TRUE(pair.ok()) << pair.status().message();
          auto info = (*bulk)->Import(*base::MakeKeyTypeId(name), *pair, /*disabled=*/false);
          ASSERT_TRUE(info.ok()) << info.status().message();
          *out = info->id.public_key;
        }
      }
    }
    RecordProperty("store_150_keys_seconds", std::to_string(SecondsSince(keys_started)));

    auto pki_started = std::chrono::steady_clock::now();
    std::vector<std::string> identities;
    for (const Validator& validator : *validators_) identities.push_back(validator.identity);
    auto files = support::MakeDevPki(harness_->dir() / "pki", identities);
    ASSERT_TRUE(files.ok()) << files.status().message();
    RecordProperty("issue_50_client_certificates_seconds",
                   std::to_string(SecondsSince(pki_started)));

    // Each identity is granted its own three keys and nothing else.
    std::string policy = "identities:\n";
    for (const Validator& v : *validators_) {
      policy += "  " + v.identity + ":\n";
      policy += "    - {key_types: [babe], operations: [sign, vrf, list], public_keys: [\"" +
                base::HexEncode(v.babe) + "\"]}\n";
      policy += "    - {key_types: [gran], operations: [sign, list], public_keys: [\"" +
                base::HexEncode(v.gran) + "\"]}\n";
      policy += "    - {key_types: [para], operations: [sign, list], public_keys: [\"" +
                base::HexEncode(v.para) + "\"]}\n";
    }
    ASSERT_TRUE(harness_->WritePrivateFile("policy.yaml", policy).ok());

    auto start_started = std::chrono::steady_clock::now();
    base::Status started = harness_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
    RecordProperty("signerd_start_seconds", std::to_string(SecondsSince(start_started)));
    for (Validator& validator : *validators_) {
      validator.client = harness_->Client(validator.identity);
      ASSERT_NE(validator.client, nullptr);
    }
  }

  static void TearDownTestSuite() {
    delete validators_;
    validators_ = nullptr;
    delete harness_;
    harness_ = nullptr;
  }

  void SetUp() override {
    // A failed suite setup leaves nothing to test with.
    ASSERT_NE(harness_, nullptr);
    ASSERT_EQ(validators_->size(), static_cast<size_t>(kValidators));
    ASSERT_NE(validators_->back().client, nullptr);
  }

  static Validator& V(int index) { return (*validators_)[static_cast<size_t>(index)]; }

  // SignWith sends one SignWith call as `caller`.
  static grpc::Status SignWith(const Validator& caller, const std::string& key_type,
                               const std::string& crypto_type, const std::vector<uint8_t>& key,
                               const std::vector<uint8_t>& message,
                               const std::vector<uint8_t>& preimage, pb::SignWithReply& reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::SignWithRequest request;
    request.set_key_type(key_type);
    request.set_crypto_type(crypto_type);
    request.set_public_key(AsString(key));
    request.set_message(AsString(message));
    if (!preimage.empty()) request.set_preimage(AsString(preimage));
    return caller.client->SignWith(&context, request, &reply);
  }

  // Prevote signs a GRANDPA prevote for (kSetId, `round`) naming the block filled with `target`.
  static grpc::Status Prevote(const Validator& caller, const std::vector<uint8_t>& key,
                              uint64_t round, uint8_t target, pb::SignWithReply& reply) {
    const std::vector<uint8_t> vote = slashing::testing::GrandpaMessage(
        kPrevote, FilledHash(target), 1000 + target, round, kSetId);
    grpc::Status status = SignWith(caller, "gran", "ed25519", key, vote, {}, reply);
    if (status.ok() && !reply.signature().signature().empty()) {
      EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kEd25519, key, vote,
                                          AsBytes(reply.signature().signature())));
    }
    return status;
  }

  // Seal signs the BABE seal of a header for `slot` (its hash, with the header as preimage).
  static grpc::Status Seal(const Validator& caller, const std::vector<uint8_t>& key, uint64_t slot,
                           uint8_t parent, pb::SignWithReply& reply) {
    const std::vector<uint8_t> header = slashing::testing::BabeHeader(slot, parent);
    const base::Hash256 hash = base::Blake2b256(header);
    const std::vector<uint8_t> message(hash.begin(), hash.end());
    grpc::Status status = SignWith(caller, "babe", "sr25519", key, message, header, reply);
    if (status.ok() && !reply.signature().signature().empty()) {
      EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kSr25519, key, message,
                                          AsBytes(reply.signature().signature())));
    }
    return status;
  }

  static std::vector<std::string> Listed(const Validator& caller, const std::string& key_type) {
    grpc::ClientContext context;
    pb::KeysRequest request;
    request.set_key_type(key_type);
    pb::KeysReply reply;
    const grpc::Status status = caller.client->Keys(&context, request, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return std::vector<std::string>(reply.public_keys().begin(), reply.public_keys().end());
  }

  // Has asks HasKeys for every (key type, public key) of `keys` in one request.
  static bool Has(const Validator& caller,
                  const std::vector<std::pair<std::string, std::vector<uint8_t>>>& keys) {
    grpc::ClientContext context;
    pb::HasKeysRequest request;
    for (const auto& [key_type, key] : keys) {
      auto* ref = request.add_keys();
      ref->set_key_type(key_type);
      ref->set_public_key(AsString(key));
    }
    pb::HasKeysReply reply;
    const grpc::Status status = caller.client->HasKeys(&context, request, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply.all_present();
  }

  static e2e::SignerdHarness* harness_;
  static std::vector<Validator>* validators_;
};

e2e::SignerdHarness* ManyValidatorsTest::harness_ = nullptr;
std::vector<Validator>* ManyValidatorsTest::validators_ = nullptr;

// A key that is on nobody's grant and not on the token: what "does not exist" looks like.
std::vector<uint8_t> NonexistentKey() { return std::vector<uint8_t>(32, 0x3c); }

// Outcome is everything a caller sees of a SignWith call, minus the public key it sent.
std::string Outcome(const grpc::Status& status, pb::SignWithReply reply) {
  reply.mutable_signature()->clear_public_key();
  return std::to_string(status.error_code()) + "|" + status.error_message() + "|" +
         reply.SerializeAsString();
}

TEST_F(ManyValidatorsTest, EachValidatorSignsItsOwnConsensusMessagesAndSeesOnlyItsOwnKeys) {
  const auto started = std::chrono::steady_clock::now();
  double listing_seconds = 0;
  for (int i = 0; i < kValidators; ++i) {
    SCOPED_TRACE(V(i).identity);
    const Validator& v = V(i);
    pb::SignWithReply reply;
    grpc::Status status = Prevote(v, v.gran, /*round=*/1, static_cast<uint8_t>(i), reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(reply.signature().signature().empty());

    status = Seal(v, v.babe, /*slot=*/1000 + static_cast<uint64_t>(i), 0x01, reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(reply.signature().signature().empty());

    const std::vector<uint8_t> backing =
        slashing::testing::BackingStatement(2, FilledHash(static_cast<uint8_t>(i)), kSession);
    status = SignWith(v, "para", "sr25519", v.para, backing, {}, reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(keymgr::VerifySignature(base::Scheme::kSr25519, v.para, backing,
                                        AsBytes(reply.signature().signature())));

    // The listing is exactly the validator's own key, though 49 others of its type are on the
    // token. Every list call makes signerd scan the whole token, so each validator checks one key
    // type (in turn), which still covers every validator and every type.
    const char* key_type = kKeyTypes[i % 3];
    const auto list_started = std::chrono::steady_clock::now();
    EXPECT_EQ(Listed(v, key_type), std::vector<std::string>{AsString(OwnKey(v, key_type))});
    listing_seconds += SecondsSince(list_started);
  }
  // HasKeys finds a validator's own keys (one validator: it is the same scan as the listing).
  EXPECT_TRUE(Has(V(0), {{"babe", V(0).babe}, {"gran", V(0).gran}, {"para", V(0).para}}));
  RecordProperty("own_messages_seconds", std::to_string(SecondsSince(started)));
  RecordProperty("listing_mean_ms", std::to_string(listing_seconds * 1000 / kValidators));
}

TEST_F(ManyValidatorsTest, NoValidatorCanSignWithListOrProbeAnothersKeys) {
  const std::vector<uint8_t> nonexistent = NonexistentKey();
  for (int i = 0; i < kValidators; ++i) {
    SCOPED_TRACE(V(i).identity);
    const Validator& v = V(i);
    const Validator& other = V((i + 1) % kValidators);
    const Validator& far = V((i + kValidators / 2) % kValidators);

    // Another's GRANDPA key: no signature, and the answer is byte for byte the one for a key that
    // exists nowhere, so it tells the caller nothing about the other validator.
    pb::SignWithReply foreign_reply;
    pb::SignWithReply missing_reply;
    grpc::Status foreign = Prevote(v, other.gran, /*round=*/2, 0x77, foreign_reply);
    grpc::Status missing = Prevote(v, nonexistent, /*round=*/2, 0x77, missing_reply);
    EXPECT_TRUE(foreign.ok()) << foreign.error_message();
    EXPECT_EQ(foreign_reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
    EXPECT_TRUE(foreign_reply.signature().signature().empty());
    EXPECT_EQ(Outcome(foreign, foreign_reply), Outcome(missing, missing_reply));

    // The same for sr25519 keys (BABE seal, parachain statement).
    foreign = Seal(v, far.babe, /*slot=*/3000, 0x02, foreign_reply);
    missing = Seal(v, nonexistent, /*slot=*/3000, 0x02, missing_reply);
    EXPECT_EQ(foreign_reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
    EXPECT_EQ(Outcome(foreign, foreign_reply), Outcome(missing, missing_reply));
    const std::vector<uint8_t> backing =
        slashing::testing::BackingStatement(1, FilledHash(0x99), kSession);
    foreign = SignWith(v, "para", "sr25519", other.para, backing, {}, foreign_reply);
    missing = SignWith(v, "para", "sr25519", nonexistent, backing, {}, missing_reply);
    EXPECT_EQ(foreign_reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
    EXPECT_EQ(Outcome(foreign, foreign_reply), Outcome(missing, missing_reply));

    // Probing: HasKeys answers false for another's key, as for a missing one (checked once below);
    // one key type per validator, in turn, since every call scans the token.
    const char* key_type = kKeyTypes[i % 3];
    EXPECT_FALSE(Has(v, {{key_type, OwnKey(other, key_type)}}));

    // SignWithAll over another's key and a missing one: the two entries are the same.
    grpc::ClientContext context;
    pb::SignWithAllRequest all;
    all.set_key_type("gran");
    all.set_crypto_type("ed25519");
    all.add_public_keys(AsString(other.gran));
    all.add_public_keys(AsString(nonexistent));
    const std::vector<uint8_t> vote =
        slashing::testing::GrandpaMessage(kPrevote, FilledHash(0x78), 1078, /*round=*/3, kSetId);
    all.set_message(AsString(vote));
    pb::SignWithAllReply all_reply;
    ASSERT_TRUE(v.client->SignWithAll(&context, all, &all_reply).ok());
    ASSERT_EQ(all_reply.signatures_size(), 2);
    pb::RemoteKeystoreSignature first = all_reply.signatures(0);
    pb::RemoteKeystoreSignature second = all_reply.signatures(1);
    EXPECT_EQ(first.error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
    first.clear_public_key();
    second.clear_public_key();
    EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  }
}

TEST_F(ManyValidatorsTest, HasKeysCannotTellAnothersKeyFromAMissingOne) {
  const Validator& v = V(3);
  const std::vector<uint8_t> nonexistent = NonexistentKey();
  EXPECT_TRUE(Has(v, {{"gran", v.gran}}));
  EXPECT_FALSE(Has(v, {{"gran", nonexistent}}));
  EXPECT_FALSE(Has(v, {{"gran", V(4).gran}}));
  // Own key plus another's: not all present, exactly as own key plus a missing one.
  EXPECT_FALSE(Has(v, {{"gran", v.gran}, {"gran", V(4).gran}}));
  EXPECT_FALSE(Has(v, {{"gran", v.gran}, {"gran", nonexistent}}));
}

TEST_F(ManyValidatorsTest, OneValidatorsEquivocationNeverAffectsAnothersVerdicts) {
  const Validator& seven = V(7);
  const Validator& eight = V(8);
  constexpr uint64_t kRound = 50;
  constexpr uint8_t kBlockA = 0xa1;
  constexpr uint8_t kBlockB = 0xb2;
  pb::SignWithReply reply;

  grpc::Status status = Prevote(seven, seven.gran, kRound, kBlockA, reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(reply.signature().signature().empty());
  // Validator 7 reaching for validator 8's key leaves no trace on 8's history.
  status = Prevote(seven, eight.gran, kRound, kBlockA, reply);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  // Validator 7 equivocates: refused.
  status = Prevote(seven, seven.gran, kRound, kBlockB, reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_TRUE(reply.signature().signature().empty());

  // Validator 8 votes for block B in the same (set_id, round) with its own key: allowed, again
  // allowed as a re-sign, and only its own conflicting vote is refused.
  status = Prevote(eight, eight.gran, kRound, kBlockB, reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(reply.signature().signature().empty());
  status = Prevote(eight, eight.gran, kRound, kBlockB, reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(reply.signature().signature().empty());
  status = Prevote(eight, eight.gran, kRound, kBlockA, reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  // Validator 7's own first vote is still a valid re-sign.
  status = Prevote(seven, seven.gran, kRound, kBlockA, reply);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // BABE: two blocks in one slot are refused for 7, the second block is validator 8's own.
  constexpr uint64_t kSlot = 5000;
  status = Seal(seven, seven.babe, kSlot, 0x01, reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  status = Seal(seven, seven.babe, kSlot, 0x02, reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  status = Seal(eight, eight.babe, kSlot, 0x02, reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(reply.signature().signature().empty());
}

}  // namespace
