// Tests for ed25519: RFC 8032 vectors, verification failures, and Substrate hard derivation.
#include "keymgr/ed25519.h"

#include <gtest/gtest.h>

#include "base/hex.h"
#include "keymgr/suri.h"
#include "support/well_known_keys.h"

namespace keymgr {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) { return base::HexDecode(hex).value(); }

struct Rfc8032Vector {
  std::string_view secret_hex;
  std::string_view public_hex;
  std::string_view message_hex;
  std::string_view signature_hex;
};

// RFC 8032 section 7.1, TEST 1 (empty message; also the spec's known answer) and TEST 2.
constexpr Rfc8032Vector kRfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c387b2eaeb4302aeeb00d291612bb0c00"},
};

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Rfc8032Vector& vector : kRfc8032) {
    base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(FromHex(vector.secret_hex));
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(base::HexEncode(pair->public_key()), vector.public_hex);
    EXPECT_EQ(base::HexEncode(pair->seed()), vector.secret_hex);
    const std::vector<uint8_t> message = FromHex(vector.message_hex);
    EXPECT_EQ(base::HexEncode(pair->Sign(message)), vector.signature_hex);
    EXPECT_TRUE(Ed25519Verify(FromHex(vector.public_hex), message, FromHex(vector.signature_hex)));
  }
}

TEST(Ed25519Test, VerifyRejectsTampering) {
  base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(FromHex(kRfc8032[1].secret_hex));
  ASSERT_TRUE(pair.ok());
  const std::vector<uint8_t> message = {1, 2, 3, 4};
  const Ed25519Signature signature = pair->Sign(message);
  ASSERT_TRUE(Ed25519Verify(pair->public_key(), message, signature));

  std::vector<uint8_t> other_message = message;
  other_message[0] ^= 1;
  EXPECT_FALSE(Ed25519Verify(pair->public_key(), other_message, signature));
  for (size_t i : {0u, 31u, 32u, 63u}) {
    Ed25519Signature bad = signature;
    bad[i] ^= 0x01;
    EXPECT_FALSE(Ed25519Verify(pair->public_key(), message, bad)) << i;
  }
  Ed25519Public other_key = pair->public_key();
  other_key[0] ^= 1;
  EXPECT_FALSE(Ed25519Verify(other_key, message, signature));
  // Another valid key must not verify it either.
  EXPECT_FALSE(Ed25519Verify(FromHex(kRfc8032[0].public_hex), message, signature));
}

TEST(Ed25519Test, VerifyRejectsWrongSizes) {
  base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(FromHex(kRfc8032[0].secret_hex));
  ASSERT_TRUE(pair.ok());
  const Ed25519Signature signature = pair->Sign({});
  const std::span<const uint8_t> key(pair->public_key());
  const std::span<const uint8_t> sig(signature);
  EXPECT_FALSE(Ed25519Verify(key.first(31), {}, sig));
  EXPECT_FALSE(Ed25519Verify(key, {}, sig.first(63)));
  EXPECT_FALSE(Ed25519Verify({}, {}, {}));
}

TEST(Ed25519Test, FromSeedRejectsWrongLength) {
  for (size_t size : {0u, 31u, 33u, 64u}) {
    const std::vector<uint8_t> seed(size, 1);
    EXPECT_EQ(Ed25519Keypair::FromSeed(seed).status().code(), base::StatusCode::kInvalidArgument)
        << size;
  }
}

TEST(Ed25519Test, HardDerivationMatchesSubstrateAlice) {
  base::Result<ParsedSuri> dev = ParseSuri("");
  ASSERT_TRUE(dev.ok());
  base::Result<base::SecretBytes> root = RootSecretFromSuri(*dev);
  ASSERT_TRUE(root.ok());
  base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(root->span());
  ASSERT_TRUE(pair.ok());
  const Ed25519Keypair alice = pair->DeriveHard(DeriveJunction::FromText("Alice", true).chain_code);
  // The spec's //Alice ed25519 public key (sp_keyring).
  EXPECT_EQ(base::HexEncode(alice.public_key()), support::kAliceEd25519.hex());
  // Deterministic signature by //Alice over "remote signer", from the polkadot-js oracle
  // (@polkadot/keyring 14.0.3, new Keyring({type: 'ed25519'}).addFromUri('//Alice').sign(...)).
  const std::string_view text = "remote signer";
  const std::span<const uint8_t> message(reinterpret_cast<const uint8_t*>(text.data()),
                                         text.size());
  EXPECT_EQ(base::HexEncode(alice.Sign(message)),
            "141450de56a7dbe8d91144687cfd1ebefe701d95c8222511372ec2c9140be62dc7977829c0ca08b8cdcdbe"
            "9dc269163c"
            "4071e83a94fbe5d19b52b2f1fe94390e");
}

}  // namespace
}  // namespace keymgr
