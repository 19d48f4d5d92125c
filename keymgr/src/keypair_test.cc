// Tests for the scheme-generic keypair against the polkadot-js oracle, and dispatching verify.
#include "keymgr/keypair.h"

#include <gtest/gtest.h>

#include <string>

#include "base/hash.h"
#include "base/hex.h"
#include "support/well_known_keys.h"

namespace keymgr {
namespace {

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(KeypairTest, SchemeNamesRoundTrip) {
  for (base::Scheme scheme :
       {base::Scheme::kSr25519, base::Scheme::kEd25519, base::Scheme::kEcdsa}) {
    base::Result<base::Scheme> parsed = base::ParseScheme(base::SchemeName(scheme));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, scheme);
  }
  EXPECT_EQ(base::SchemeName(base::Scheme::kSr25519), "sr25519");
  EXPECT_EQ(base::SchemeCryptoId(base::Scheme::kSr25519), "sr25");
  EXPECT_EQ(base::SchemeCryptoId(base::Scheme::kEd25519), "ed25");
  EXPECT_EQ(base::SchemeCryptoId(base::Scheme::kEcdsa), "ecds");
  for (const char* name : {"", "Sr25519", "ECDSA", "ed25519 ", "secp256k1"}) {
    EXPECT_EQ(base::ParseScheme(name).status().code(), base::StatusCode::kInvalidArgument) << name;
  }
}

struct OracleVector {
  base::Scheme scheme;
  std::string_view suri;
  std::string_view public_hex;
  std::string_view signature_hex;  // over "remote signer"; empty for sr25519 (randomised)
};

// Made with the polkadot-js oracle (@polkadot/keyring 14.0.3, @polkadot/util-crypto 14.0.3):
// new Keyring({type}).addFromUri(suri), then .publicKey and .sign(stringToU8a("remote signer")).
// The //Alice public keys are also the spec's (sp_keyring) known answers. polkadot-js reads an
// all-digit junction of 2^64 or more as a 256-bit number where Substrate reads it as a string, so
// the long junction here is not numeric; junction_test.cc covers that case by Substrate's rule.
constexpr OracleVector kOracle[] = {
    {base::Scheme::kEd25519, "//Alice", support::kAliceEd25519.hex(),
     "141450de56a7dbe8d91144687cfd1ebefe701d95c8222511372ec2c9140be62dc7977829c0ca08b8cdcdbe9dc2691"
     "63c4071e83a94fbe5d19b52b2f1fe94390e"},
    {base::Scheme::kEd25519, "//Alice//1",
     "0180b5885ccde523690a9d0c36f6a9b09087e9003917c995baae592a62a37e5e",
     "bc72d6a7739c7ea4ec3b3f9196a1dce2f7b268a0eeaf5a880995cba4b0d1457ad2c03c9335ae764408d61990a4fe2"
     "3695dafcd7ee5569ea613aa95f04defbc0c"},
    {base::Scheme::kEd25519, "//Bob///secret",
     "55004ddc44dd8caf11e49f511f3859a685135d9806f4e3709f4dc54018dd7d42",
     "14a1216a67735a6b80cbf1c4cd0aa9a74c98e296f33a2104fbadc0c7eed1946c2901519128bd4220b4eae1881d2d9"
     "a638c4a6899dec075dc52de270ac30ca50e"},
    {base::Scheme::kEd25519, "//polkadot-remote-signer-junction-longer-than-32",
     "7ca1e053e327ab9ab91ad0c9a64657ce1f923ce98b8a6e984c7ecbc38f1ac6de",
     "5538045ada2e14ec1b2b46a5e4b0a0f860cadcc4c03665aa548ff98781d795bb"
     "3ba759373e287a32376fd17b22ef745f01d0386d4f8be40846204f1c9758c802"},
    {base::Scheme::kEd25519, "//007",
     "fcecae0b9286c2d88942fdd35cb228941ddba1a238e2112779f5f4c73df022a5",
     "45e7e6434162e84e404b52de32671b5b1d3a010a7da0ad4ea4228098c933385f74730df48fd02394c508e48575ca8"
     "24f4ae3e25c5b113c5bb03f6987014dc507"},
    {base::Scheme::kEd25519,
     "legal winner thank year wave sausage worth useful legal winner thank "
     "yellow//polkadot//0///Substrate",
     "2eb56be20128f72a5d98fa4bf28f6b6c737a004172469c2f47692a2f94bff7a1",
     "953e2f0dbc048b6c8b3a0bff4a5cef01a908b4f4e06acb4ea4ca3886ac265a3d90e964ac20680cdd31a2cf7db4f85"
     "18077909be5ce81e1ea4c7d81753252330b"},
    {base::Scheme::kEd25519,
     "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60//Alice",
     "ba1c2a8a0813c58e79b511ae8634aa0920330022c5a685024e449f756b28b6ea",
     "b0964db03dafad9a18f81dc8c22204451844dc40169245896d5ee9160c46600edeb20240c98a41f241fce4621f551"
     "fdf27c82934b3471f0765781944d2c0610c"},
    {base::Scheme::kEcdsa, "//Alice", support::kAliceEcdsa.hex(),
     "3ce9d51bf72831e4a70800d37c08a6edee6f965b6b2c252db52b58007aba283a3c24d5e61f73da37f2b0d5d805c5d"
     "1a64df1bf03042537fa5cbb296827e8b49b00"},
    {base::Scheme::kEcdsa, "//Alice//1",
     "03e5f070dc936e69435f278cb5ae7226bc9088093be3c398948da3214e82ff1f0c",
     "3be1d0dd23ee71749ea262325b839e99069885eb61bfa06c7e5c1373bfc731b24b6481734bad8af690661e0f3beab"
     "985aae3676d5479552f2edf8156739d9f5400"},
    {base::Scheme::kEcdsa, "//Bob///secret",
     "03185d4c7d5ccb0b97338f450a8397b8d5abe8cefb21935f5c196855563ab59f28",
     "05d8b8b2c708cd0b9827d2dc16b250696868a0498e2b8445176b501fcd7503c03ccee70beb42cdfdba601d586b0da"
     "8d3f9f2ae48dc99239d14f711b4597f1fb401"},
    {base::Scheme::kEcdsa, "//polkadot-remote-signer-junction-longer-than-32",
     "02bcecf5b88b0475a86e86da7d5d231d7bf7f8d90411b7e35b52efd171da7e72cb",
     "e98f5dc8c5e3b2ee975982993857e850a9c5a0cddeba847f01815d5b6e24e712"
     "0353d8dbd425e7d2689aba89f2a71ee43e42a61a12ed854f22d6eab1cf1193b801"},
    {base::Scheme::kEcdsa, "//007",
     "029a1eb2e31dcaf468dbb516f9b620fdd7c3f090d58a88e02b51b25255b2182dd1",
     "e25f268cf50513cbebd1f41d79c91f7f6d3770222bf5371e042141747b2e021867997007770363bc36b86872fecf3"
     "24b9cc518f1e0fad6a0c9096fb35e8d4d4400"},
    {base::Scheme::kEcdsa,
     "legal winner thank year wave sausage worth useful legal winner thank "
     "yellow//polkadot//0///Substrate",
     "02bc93c63e6b665a1e89447b1143edc9fca8f494dd93740459aad07606d6fd7d18",
     "076c9f3bdf6a1ecba2eeffb7205c865b0717d0500d2e6516cdd73b141ba74d972186dccca7db9af33c39602b900d4"
     "b64a98d6e9c3fa82c9d7fa0ad1a773a185d01"},
    {base::Scheme::kEcdsa,
     "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60//Alice",
     "029f5e5569f6e0e19e0c483f2a855dfc6c2a8ddd02466d578859eefb6aa9f97552",
     "67a973b3dd190204e26531afb51492e3f7ed3cf3837cf6594db8fc22125650330353bdd3d75928ebeed759b24b34e"
     "6df84f7feb4dd34e5d3d68dceaeacaa58fd00"},
};

// sr25519 public keys from the same oracle (signatures are randomised, so only round trips below).
constexpr OracleVector kSr25519Oracle[] = {
    {base::Scheme::kSr25519, "//Alice", support::kAliceSr25519.hex(), ""},
    {base::Scheme::kSr25519, "//Alice//1",
     "70cd06e4c5d36fd8fe158e7b5e102937d4859d45933f39074ae784a67bf65426", ""},
    {base::Scheme::kSr25519, "//Alice/soft",
     "02cfd83074aefc9955af4034d19b3780d47a52e158ababec8ec012b2295f1c5b", ""},
    {base::Scheme::kSr25519, "//Bob///secret",
     "aa39a941b8818439007ce3b32b95cdfd64c3105cf166242eaf6d4d33359dcc6a", ""},
    {base::Scheme::kSr25519, "//polkadot-remote-signer-junction-longer-than-32",
     "3cc751e214a158cc92a2ab7d453351e177905aa11af6bfb3d4791c6e6808d127", ""},
    {base::Scheme::kSr25519, "//007",
     "ba8e2c7594dd74730f3ca835e95455d199261897edc9735d602ea29615e2b10b", ""},
    {base::Scheme::kSr25519,
     "legal winner thank year wave sausage worth useful legal winner thank "
     "yellow//polkadot//0///Substrate",
     "ecdcaa3a601427448092d531ab5bd8ebf8847583d59655c69c4d07c92d70be6b", ""},
    {base::Scheme::kSr25519,
     "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60//Alice",
     "382f0ad81e1820a654e5d461ff4b9fd35b7e714c217b2f1301784a159ce27378", ""},
};

TEST(KeypairTest, Ed25519AndEcdsaMatchTheOracle) {
  for (const OracleVector& vector : kOracle) {
    SCOPED_TRACE(std::string(base::SchemeName(vector.scheme)) + " " + std::string(vector.suri));
    base::Result<Keypair> pair = KeypairFromSuri(vector.scheme, vector.suri);
    ASSERT_TRUE(pair.ok()) << pair.status().message();
    EXPECT_EQ(pair->scheme(), vector.scheme);
    EXPECT_EQ(base::HexEncode(pair->public_key()), vector.public_hex);
    const std::vector<uint8_t> signature = pair->Sign(Bytes("remote signer"));
    EXPECT_EQ(base::HexEncode(signature), vector.signature_hex);
    EXPECT_TRUE(
        VerifySignature(vector.scheme, pair->public_key(), Bytes("remote signer"), signature));
    EXPECT_FALSE(
        VerifySignature(vector.scheme, pair->public_key(), Bytes("remote signex"), signature));
  }
}

TEST(KeypairTest, Sr25519MatchesTheOracle) {
  for (const OracleVector& vector : kSr25519Oracle) {
    SCOPED_TRACE(vector.suri);
    base::Result<Keypair> pair = KeypairFromSuri(base::Scheme::kSr25519, vector.suri);
    ASSERT_TRUE(pair.ok()) << pair.status().message();
    EXPECT_EQ(pair->scheme(), base::Scheme::kSr25519);
    ASSERT_NE(pair->sr25519(), nullptr);
    EXPECT_EQ(base::HexEncode(pair->public_key()), vector.public_hex);
    const std::vector<uint8_t> signature = pair->Sign(Bytes("remote signer"));
    EXPECT_TRUE(VerifySignature(base::Scheme::kSr25519, pair->public_key(), Bytes("remote signer"),
                                signature));
    EXPECT_FALSE(VerifySignature(base::Scheme::kSr25519, pair->public_key(), Bytes("remote signex"),
                                 signature));
  }
}

TEST(KeypairTest, Ed25519AndEcdsaRejectSoftJunctions) {
  for (base::Scheme scheme : {base::Scheme::kEd25519, base::Scheme::kEcdsa}) {
    for (const char* suri : {"//Alice/soft", "/soft", "/1//Alice", "//Alice/0///pw"}) {
      base::Result<Keypair> pair = KeypairFromSuri(scheme, suri);
      EXPECT_FALSE(pair.ok()) << suri;
      EXPECT_EQ(pair.status().code(), base::StatusCode::kInvalidArgument) << suri;
    }
  }
}

TEST(KeypairTest, MalformedSurisFailForEveryScheme) {
  for (base::Scheme scheme :
       {base::Scheme::kSr25519, base::Scheme::kEd25519, base::Scheme::kEcdsa}) {
    for (const char* suri : {"//", "//Alice/", "sd.asd", "hello world//Alice", "0x1234", "///\n"}) {
      EXPECT_EQ(KeypairFromSuri(scheme, suri).status().code(), base::StatusCode::kInvalidArgument)
          << base::SchemeName(scheme) << " " << suri;
    }
  }
}

TEST(KeypairTest, OnlyEcdsaSignsPrehashed) {
  const base::Hash256 digest = base::Blake2b256(Bytes("commitment"));
  base::Result<Keypair> ecdsa = KeypairFromSuri(base::Scheme::kEcdsa, "//Alice");
  ASSERT_TRUE(ecdsa.ok());
  base::Result<std::vector<uint8_t>> signature = ecdsa->SignPrehashed(digest);
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(*signature, ecdsa->Sign(Bytes("commitment")));
  EXPECT_TRUE(VerifySignature(base::Scheme::kEcdsa, ecdsa->public_key(), digest, *signature,
                              /*prehashed=*/true));
  EXPECT_FALSE(VerifySignature(base::Scheme::kEcdsa, ecdsa->public_key(), digest, *signature));
  EXPECT_EQ(ecdsa->SignPrehashed(std::span(digest).first(31)).status().code(),
            base::StatusCode::kInvalidArgument);

  base::Result<Keypair> ed25519 = KeypairFromSuri(base::Scheme::kEd25519, "//Alice");
  ASSERT_TRUE(ed25519.ok());
  EXPECT_EQ(ed25519->SignPrehashed(digest).status().code(), base::StatusCode::kInvalidArgument);
  const std::vector<uint8_t> ed_signature = ed25519->Sign(digest);
  EXPECT_TRUE(VerifySignature(base::Scheme::kEd25519, ed25519->public_key(), digest, ed_signature));
  EXPECT_FALSE(
      VerifySignature(base::Scheme::kEd25519, ed25519->public_key(), digest, ed_signature, true));
}

TEST(KeypairTest, AccessorsExposeOnlyTheHeldScheme) {
  base::Result<Keypair> ed25519 = KeypairFromSuri(base::Scheme::kEd25519, "//Alice");
  ASSERT_TRUE(ed25519.ok());
  EXPECT_NE(ed25519->ed25519(), nullptr);
  EXPECT_EQ(ed25519->ecdsa(), nullptr);
  EXPECT_EQ(ed25519->sr25519(), nullptr);
  base::Result<Keypair> ecdsa = KeypairFromSuri(base::Scheme::kEcdsa, "//Alice");
  ASSERT_TRUE(ecdsa.ok());
  EXPECT_NE(ecdsa->ecdsa(), nullptr);
  EXPECT_EQ(ecdsa->ed25519(), nullptr);
}

TEST(KeypairTest, VerifySignatureRejectsMalformedInput) {
  for (base::Scheme scheme :
       {base::Scheme::kSr25519, base::Scheme::kEd25519, base::Scheme::kEcdsa}) {
    EXPECT_FALSE(VerifySignature(scheme, {}, {}, {})) << base::SchemeName(scheme);
    const std::vector<uint8_t> junk(65, 0xab);
    EXPECT_FALSE(VerifySignature(scheme, std::span(junk).first(33), Bytes("m"), junk))
        << base::SchemeName(scheme);
    EXPECT_FALSE(
        VerifySignature(scheme, std::span(junk).first(32), Bytes("m"), std::span(junk).first(64)))
        << base::SchemeName(scheme);
  }
}

}  // namespace
}  // namespace keymgr
