// Tests for ecdsa: spec known answers, low-S, recovery-based verify, key checks, derivation.
#include "keymgr/ecdsa.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/suri.h"
#include "support/well_known_keys.h"

namespace keymgr {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) { return base::HexDecode(hex).value(); }

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

constexpr std::string_view kSeedHex =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
// secp256k1 group order n and n / 2 (SEC 2, section 2.4.1), big-endian.
constexpr std::string_view kOrderHex =
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
constexpr std::string_view kHalfOrderHex =
    "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";

EcdsaKeypair SpecPair() { return EcdsaKeypair::FromSeed(FromHex(kSeedHex)).value(); }

TEST(EcdsaTest, SpecKnownAnswers) {
  const EcdsaKeypair pair = SpecPair();
  EXPECT_EQ(base::HexEncode(pair.public_key()),
            "028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91");
  EXPECT_EQ(base::HexEncode(pair.seed()), kSeedHex);
  // sign(msg) = sign_prehashed(blake2_256(msg)), RFC 6979: deterministic.
  EXPECT_EQ(base::HexEncode(pair.Sign({})),
            "3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ffd50921"
            "a2668a48b9"
            "4ca11e3d32c1ff19cfe88890aa7e8f3c00");
}

TEST(EcdsaTest, SignIsSignPrehashedOfBlake2b256) {
  const EcdsaKeypair pair = SpecPair();
  const std::span<const uint8_t> message = Bytes("BEEFY payload");
  EXPECT_EQ(pair.Sign(message), pair.SignPrehashed(base::Blake2b256(message)));
  EXPECT_TRUE(
      EcdsaVerifyPrehashed(pair.public_key(), base::Blake2b256(message), pair.Sign(message)));
}

TEST(EcdsaTest, SignaturesAreLowSWithRecoveryIdZeroOrOne) {
  const EcdsaKeypair pair = SpecPair();
  const std::vector<uint8_t> half_order = FromHex(kHalfOrderHex);
  for (uint32_t i = 0; i < 200; ++i) {
    const std::string message = "message " + std::to_string(i);
    const EcdsaSignature signature = pair.Sign(Bytes(message));
    const std::span<const uint8_t> s = std::span(signature).subspan(32, 32);
    EXPECT_TRUE(
        std::lexicographical_compare(s.begin(), s.end(), half_order.begin(), half_order.end()) ||
        std::equal(s.begin(), s.end(), half_order.begin()))
        << message;
    EXPECT_LE(signature[64], 1) << message;
    EXPECT_TRUE(EcdsaVerify(pair.public_key(), Bytes(message), signature)) << message;
  }
}

TEST(EcdsaTest, VerifyRejectsTampering) {
  const EcdsaKeypair pair = SpecPair();
  const std::span<const uint8_t> message = Bytes("vote");
  const EcdsaSignature signature = pair.Sign(message);
  ASSERT_TRUE(EcdsaVerify(pair.public_key(), message, signature));

  EXPECT_FALSE(EcdsaVerify(pair.public_key(), Bytes("votf"), signature));
  for (size_t i : {0u, 31u, 32u, 63u}) {
    EcdsaSignature bad = signature;
    bad[i] ^= 0x01;
    EXPECT_FALSE(EcdsaVerify(pair.public_key(), message, bad)) << i;
  }
  EcdsaSignature other_recovery_id = signature;
  other_recovery_id[64] ^= 1;
  EXPECT_FALSE(EcdsaVerify(pair.public_key(), message, other_recovery_id));
  EcdsaPublic other_key = pair.public_key();
  other_key[0] ^= 1;  // 02 <-> 03: the negated point
  EXPECT_FALSE(EcdsaVerify(other_key, message, signature));
  // The prehashed form must not accept the message itself as a digest.
  EXPECT_FALSE(EcdsaVerifyPrehashed(pair.public_key(), message, signature));
}

TEST(EcdsaTest, VerifyRefusesHostileSignaturesWithoutAborting) {
  const EcdsaKeypair pair = SpecPair();
  const std::span<const uint8_t> message = Bytes("vote");
  EcdsaSignature signature = pair.Sign(message);
  // Recovery ids above 3 are API misuse to libsecp256k1 (which would abort); they must just fail.
  for (int recovery_id : {2, 3, 4, 27, 28, 255}) {
    EcdsaSignature bad = signature;
    bad[64] = static_cast<uint8_t>(recovery_id);
    EXPECT_FALSE(EcdsaVerify(pair.public_key(), message, bad)) << recovery_id;
  }
  // r or s equal to the group order, and all zeros.
  const std::vector<uint8_t> order = FromHex(kOrderHex);
  EcdsaSignature r_overflow = signature;
  std::copy(order.begin(), order.end(), r_overflow.begin());
  EXPECT_FALSE(EcdsaVerify(pair.public_key(), message, r_overflow));
  EcdsaSignature s_overflow = signature;
  std::copy(order.begin(), order.end(), s_overflow.begin() + 32);
  EXPECT_FALSE(EcdsaVerify(pair.public_key(), message, s_overflow));
  EXPECT_FALSE(EcdsaVerify(pair.public_key(), message, EcdsaSignature{}));
  // Wrong sizes.
  const std::span<const uint8_t> key(pair.public_key());
  const std::span<const uint8_t> sig(signature);
  EXPECT_FALSE(EcdsaVerify(key.first(32), message, sig));
  EXPECT_FALSE(EcdsaVerify(key, message, sig.first(64)));
  EXPECT_FALSE(EcdsaVerifyPrehashed(key, message.first(3), sig));
  EXPECT_FALSE(EcdsaVerify({}, {}, {}));
}

TEST(EcdsaTest, FromSeedRejectsInvalidSecretKeys) {
  std::vector<uint8_t> order = FromHex(kOrderHex);
  EXPECT_EQ(EcdsaKeypair::FromSeed(order).status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(EcdsaKeypair::FromSeed(std::vector<uint8_t>(32, 0)).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(EcdsaKeypair::FromSeed(std::vector<uint8_t>(32, 0xff)).status().code(),
            base::StatusCode::kInvalidArgument);
  for (size_t size : {0u, 31u, 33u}) {
    EXPECT_EQ(EcdsaKeypair::FromSeed(std::vector<uint8_t>(size, 1)).status().code(),
              base::StatusCode::kInvalidArgument)
        << size;
  }
  order[31] -= 1;  // n - 1 is the largest valid key
  EXPECT_TRUE(EcdsaKeypair::FromSeed(order).ok());
}

TEST(EcdsaTest, HardDerivationMatchesSubstrateAlice) {
  base::Result<ParsedSuri> dev = ParseSuri("");
  ASSERT_TRUE(dev.ok());
  base::Result<base::SecretBytes> root = RootSecretFromSuri(*dev);
  ASSERT_TRUE(root.ok());
  base::Result<EcdsaKeypair> pair = EcdsaKeypair::FromSeed(root->span());
  ASSERT_TRUE(pair.ok());
  base::Result<EcdsaKeypair> alice =
      pair->DeriveHard(DeriveJunction::FromText("Alice", true).chain_code);
  ASSERT_TRUE(alice.ok());
  // The spec's //Alice ecdsa public key (sp_keyring).
  EXPECT_EQ(base::HexEncode(alice->public_key()), support::kAliceEcdsa.hex());
  // Signature by //Alice over "remote signer" from the polkadot-js oracle
  // (@polkadot/keyring 14.0.3, type 'ecdsa'; blake2_256 then RFC 6979, r || s || recovery id).
  EXPECT_EQ(base::HexEncode(alice->Sign(Bytes("remote signer"))),
            "3ce9d51bf72831e4a70800d37c08a6edee6f965b6b2c252db52b58007aba283a3c24d5e61f73da37f2b0d5"
            "d805c5d1a6"
            "4df1bf03042537fa5cbb296827e8b49b00");
}

}  // namespace
}  // namespace keymgr
