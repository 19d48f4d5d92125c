// sr25519 tests: known answers from sp_core and the oracles, round trips, rejection of bad input.
#include "keymgr/sr25519.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/hex.h"
#include "keymgr/merlin.h"
#include "sr25519_internal.h"
#include "support/well_known_keys.h"

namespace keymgr {
namespace {

// Oracle vectors below were made with @scure/sr25519@2.3.0 (sign, vrf.sign, HDKD with the fixed
// witness randomness kOracleRandom) and cross-checked with @polkadot/util-crypto@14.0.3
// (wasm schnorrkel: sr25519Verify and sr25519VrfVerify accept every signature here). Mini-secret
// 9d61...7f60 is the one sp_core's sr_test_vector_should_work uses.
constexpr std::string_view kSeedHex =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kPublicHex =
    "44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f";
constexpr std::string_view kOracleRandomHex =
    "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc";

std::vector<uint8_t> Unhex(std::string_view text) {
  base::Result<std::vector<uint8_t>> bytes = base::HexDecode(text);
  EXPECT_TRUE(bytes.ok()) << text;
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>();
}

template <size_t N>
std::array<uint8_t, N> UnhexArray(std::string_view text) {
  const std::vector<uint8_t> bytes = Unhex(text);
  std::array<uint8_t, N> out{};
  EXPECT_EQ(bytes.size(), N) << text;
  for (size_t i = 0; i < N && i < bytes.size(); ++i) {
    out[i] = bytes[i];
  }
  return out;
}

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::vector<uint8_t> ToVector(std::string_view text) { return {text.begin(), text.end()}; }

Sr25519Keypair KeypairFromHex(std::string_view mini_secret_hex) {
  base::Result<Sr25519Keypair> keypair = Sr25519Keypair::FromMiniSecret(Unhex(mini_secret_hex));
  EXPECT_TRUE(keypair.ok());
  return std::move(keypair).value();
}

internal::Sr25519WitnessRandom OracleRandom() {
  return UnhexArray<internal::kSr25519WitnessRandomSize>(kOracleRandomHex);
}

// The transcript schnorrkel's signing_context(ctx).bytes(msg) builds, which polkadot-js VRF uses.
MerlinTranscript SigningContextTranscript(std::string_view context, std::string_view message) {
  VrfTranscriptData data{"SigningContext",
                         {{"", ToVector(context)}, {"sign-bytes", ToVector(message)}}};
  return data.Build();
}

// Adds the group order l to a little-endian scalar: the same residue, non-canonically encoded.
std::array<uint8_t, 32> AddGroupOrder(std::span<const uint8_t> scalar) {
  const std::array<uint8_t, 32> order =
      UnhexArray<32>("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  std::array<uint8_t, 32> sum{};
  unsigned carry = 0;
  for (size_t i = 0; i < 32; ++i) {
    const unsigned total = static_cast<unsigned>(scalar[i]) + order[i] + carry;
    sum[i] = static_cast<uint8_t>(total);
    carry = total >> 8;
  }
  return sum;
}

TEST(Sr25519Test, MiniSecretToPublicKnownAnswers) {
  // sp_core sr25519.rs tests sr_test_vector_should_work and seeded_pair_should_work.
  EXPECT_EQ(base::HexEncode(KeypairFromHex(kSeedHex).public_key()), kPublicHex);
  base::Result<Sr25519Keypair> seeded =
      Sr25519Keypair::FromMiniSecret(Bytes("12345678901234567890123456789012"));
  ASSERT_TRUE(seeded.ok());
  EXPECT_EQ(base::HexEncode(seeded->public_key()),
            "741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63");
}

TEST(Sr25519Test, ExpansionMatchesOracleSecret) {
  // @scure/sr25519 secretFromSeed, converted from its (8a || nonce) form to canonical a || nonce.
  EXPECT_EQ(base::HexEncode(KeypairFromHex(kSeedHex).secret()),
            "866fd0f00965665948cf251e582180a7ffff042d1b1078b41404de00b229fd09"
            "9b4f0afe280b746a778684e75442502057b7473a03f08f96f5a38e9287e01f8f");
}

TEST(Sr25519Test, FromMiniSecretRejectsWrongLength) {
  EXPECT_EQ(Sr25519Keypair::FromMiniSecret(std::vector<uint8_t>(31)).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sr25519Keypair::FromMiniSecret(std::vector<uint8_t>(33)).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST(Sr25519Test, FromSecretRoundTripsAndRejectsBadScalars) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  base::Result<Sr25519Keypair> reloaded = Sr25519Keypair::FromSecret(keypair.secret());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->public_key(), keypair.public_key());

  std::vector<uint8_t> secret(keypair.secret().begin(), keypair.secret().end());
  // scalar + l: the same residue but not canonical, which schnorrkel's SecretKey::from_bytes
  // refuses.
  const std::array<uint8_t, 32> shifted = AddGroupOrder(std::span(secret).first(32));
  std::copy(shifted.begin(), shifted.end(), secret.begin());
  EXPECT_EQ(Sr25519Keypair::FromSecret(secret).status().code(), base::StatusCode::kInvalidArgument);

  std::vector<uint8_t> zero_scalar(64, 0);
  zero_scalar[40] = 1;
  EXPECT_EQ(Sr25519Keypair::FromSecret(zero_scalar).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sr25519Keypair::FromSecret(std::vector<uint8_t>(63, 1)).status().code(),
            base::StatusCode::kInvalidArgument);
  // l - 1 is the largest canonical scalar.
  std::vector<uint8_t> largest =
      Unhex("ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  largest.resize(64, 7);
  EXPECT_TRUE(Sr25519Keypair::FromSecret(largest).ok());
}

TEST(Sr25519Test, SignMatchesOracleWithFixedRandomness) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  std::vector<uint8_t> long_message(300);
  for (size_t i = 0; i < long_message.size(); ++i) {
    long_message[i] = static_cast<uint8_t>((i * 13) & 0xff);
  }
  struct Case {
    std::vector<uint8_t> message;
    std::string_view signature_hex;
  };
  const std::vector<Case> cases = {
      {{},
       "6c41d65f39506c7b87f3a4d862b1be60907d5ee3dcafb184900b5d4232c2fe7e"
       "35e0b919556000e2aef4e0a7acb26c1aa007cc11819d024fa8424f2e081f5784"},
      {ToVector("hello substrate"),
       "ea996d59332a3d5edde92dcafa1ca8f2fc754efda4c9063be5738ba0a83c7221"
       "5ae94fbc48b5375dfd4f5e5506f557b01139f2cbc68c1684a937c51dd5d0e384"},
      {long_message,
       "165e476dbba5f2b90a67c4bac5ce12a39ae408bf289908207e022b20cac2b248"
       "37b31121ba9c5e0993545e693052a23655b25be05b1aa749f69b3d722ff53385"},
  };
  for (const Case& test_case : cases) {
    const Sr25519Signature signature = internal::Sr25519SignWithRandom(
        keypair, test_case.message, kSubstrateSigningContext, OracleRandom());
    EXPECT_EQ(base::HexEncode(signature), test_case.signature_hex);
    EXPECT_TRUE(
        Sr25519Verify(keypair.public_key(), test_case.message, Unhex(test_case.signature_hex)));
  }
}

TEST(Sr25519Test, VerifiesWasmSchnorrkelSignature) {
  // Made by @polkadot/util-crypto sr25519Sign (wasm schnorrkel, random nonce) with mini-secret
  // 9d61...
  const std::vector<uint8_t> signature = Unhex(
      "b8ba49f255d734a780880847b8d5dda1a7e53156ea6bfb7980fa8e88ee511764"
      "002e2e4bc0bc0a3ace1e6bc8f1cf1098a1ea89cc7d47deb7ae2d87e2e800e288");
  const std::vector<uint8_t> public_key = Unhex(kPublicHex);
  EXPECT_TRUE(Sr25519Verify(public_key, Bytes("signed by wasm schnorrkel"), signature));
  EXPECT_FALSE(Sr25519Verify(public_key, Bytes("signed by wasm schnorrkeL"), signature));
}

TEST(Sr25519Test, SignVerifyRoundTripIsRandomised) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  const std::span<const uint8_t> message = Bytes("BKNG candidate");
  const Sr25519Signature first = keypair.Sign(message);
  const Sr25519Signature second = keypair.Sign(message);
  EXPECT_NE(first, second);
  EXPECT_TRUE(Sr25519Verify(keypair.public_key(), message, first));
  EXPECT_TRUE(Sr25519Verify(keypair.public_key(), message, second));
  // Another signing context is another transcript.
  const Sr25519Signature other_context = keypair.Sign(message, "other");
  EXPECT_TRUE(Sr25519Verify(keypair.public_key(), message, other_context, "other"));
  EXPECT_FALSE(Sr25519Verify(keypair.public_key(), message, other_context));
  EXPECT_FALSE(Sr25519Verify(keypair.public_key(), message, first, "other"));
}

TEST(Sr25519Test, VerifyRejectsTampering) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  const std::span<const uint8_t> message = Bytes("DISP valid");
  const Sr25519Signature signature = keypair.Sign(message);
  ASSERT_TRUE(Sr25519Verify(keypair.public_key(), message, signature));

  EXPECT_FALSE(Sr25519Verify(keypair.public_key(), Bytes("DISP valiD"), signature));
  for (size_t index : {0, 17, 31, 32, 50, 62}) {
    Sr25519Signature tampered = signature;
    tampered[index] ^= 0x01;
    EXPECT_FALSE(Sr25519Verify(keypair.public_key(), message, tampered)) << index;
  }
  const Sr25519Keypair other =
      KeypairFromHex("0000000000000000000000000000000000000000000000000000000000000001");
  EXPECT_FALSE(Sr25519Verify(other.public_key(), message, signature));

  Sr25519Signature unmarked = signature;
  unmarked[63] &= 0x7f;
  EXPECT_FALSE(Sr25519Verify(keypair.public_key(), message, unmarked));

  // s + l satisfies the group equation, so only the canonical-s rule refuses it.
  Sr25519Signature non_canonical = signature;
  std::array<uint8_t, 32> s{};
  std::copy(signature.begin() + 32, signature.end(), s.begin());
  s[31] &= 0x7f;
  const std::array<uint8_t, 32> s_plus_order = AddGroupOrder(s);
  ASSERT_EQ(s_plus_order[31] & 0x80, 0);
  std::copy(s_plus_order.begin(), s_plus_order.end(), non_canonical.begin() + 32);
  non_canonical[63] |= 0x80;
  EXPECT_FALSE(Sr25519Verify(keypair.public_key(), message, non_canonical));
}

TEST(Sr25519Test, VerifyRejectsMalformedInput) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  const std::span<const uint8_t> message = Bytes("m");
  const Sr25519Signature signature = keypair.Sign(message);
  const std::span<const uint8_t> signature_bytes(signature);
  // Wrong lengths.
  EXPECT_FALSE(Sr25519Verify(keypair.public_key(), message, signature_bytes.first(63)));
  EXPECT_FALSE(Sr25519Verify(std::span(keypair.public_key()).first(31), message, signature));
  EXPECT_FALSE(Sr25519Verify({}, message, {}));
  // Not a ristretto255 encoding (a non-canonical field element) as public key and as R.
  const std::vector<uint8_t> invalid_point(32, 0xff);
  EXPECT_FALSE(Sr25519Verify(invalid_point, message, signature));
  Sr25519Signature bad_r = signature;
  std::fill(bad_r.begin(), bad_r.begin() + 32, 0xff);
  EXPECT_FALSE(Sr25519Verify(keypair.public_key(), message, bad_r));
  // The identity as public key: R = sB would "verify" for any message, so it is refused.
  const std::vector<uint8_t> identity(32, 0);
  Sr25519Signature forged{};
  forged[63] |= 0x80;
  EXPECT_FALSE(Sr25519Verify(identity, message, forged));
}

TEST(Sr25519Test, GarbageNeverVerifiesOrCrashes) {
  // A deterministic byte stream stands in for hostile input.
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next_byte = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<uint8_t>(state);
  };
  for (int round = 0; round < 300; ++round) {
    std::array<uint8_t, 32> public_key;
    std::array<uint8_t, 64> signature;
    for (uint8_t& byte : public_key) {
      byte = next_byte();
    }
    for (uint8_t& byte : signature) {
      byte = next_byte();
    }
    EXPECT_FALSE(Sr25519Verify(public_key, Bytes("x"), signature));
    std::array<uint8_t, 96> vrf_bytes;
    for (uint8_t& byte : vrf_bytes) {
      byte = next_byte();
    }
    base::Result<Sr25519VrfSignature> parsed = Sr25519VrfSignature::Parse(vrf_bytes);
    if (parsed.ok()) {
      EXPECT_FALSE(Sr25519VrfVerify(public_key, MerlinTranscript("x"), std::nullopt, *parsed));
    }
    base::Result<Sr25519Public> derived = Sr25519DeriveSoftPublic(public_key, public_key);
    (void)derived;
  }
}

TEST(Sr25519Test, HardDerivationMatchesOracle) {
  // Chain code of junction "Alice": SCALE("Alice") = 0x14 'A' 'l' 'i' 'c' 'e', zero-padded.
  const ChainCode alice =
      UnhexArray<32>("14416c6963650000000000000000000000000000000000000000000000000000");
  const Sr25519Keypair child = KeypairFromHex(kSeedHex).DeriveHard(alice);
  // @scure/sr25519 HDKD.secretHard, converted to canonical a || nonce.
  EXPECT_EQ(base::HexEncode(child.secret()),
            "1a74477d004ff8e945dd5cfbb099802f1df6b66db001f89d02af73308ea1970a"
            "925b139a8c48550a89ca6b5d36cc9f75c30f2f705b4c42a7df10b19b98815a2c");
}

TEST(Sr25519Test, DevPhraseAliceKnownAnswers) {
  // Mini-secret of the dev phrase "bottom drive obey ... fit walk" from @polkadot/util-crypto
  // mnemonicToMiniSecret; expected keys from sp_core sr25519.rs derive_hard_known_pair_should_work
  // ("//Alice") and derive_soft_known_pair_should_work ("/Alice").
  const Sr25519Keypair dev =
      KeypairFromHex("fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e");
  const ChainCode alice =
      UnhexArray<32>("14416c6963650000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(base::HexEncode(dev.DeriveHard(alice).public_key()), support::kAliceSr25519.hex());
  EXPECT_EQ(base::HexEncode(dev.DeriveSoft(alice).public_key()),
            "d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e");
  base::Result<Sr25519Public> soft_public = Sr25519DeriveSoftPublic(dev.public_key(), alice);
  ASSERT_TRUE(soft_public.ok());
  EXPECT_EQ(base::HexEncode(*soft_public),
            "d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e");
}

TEST(Sr25519Test, SoftDerivationMatchesOracleAndPublicDerivation) {
  const ChainCode alice =
      UnhexArray<32>("14416c6963650000000000000000000000000000000000000000000000000000");
  const Sr25519Keypair parent = KeypairFromHex(kSeedHex);
  // @scure/sr25519 HDKD.secretSoft with the same randomness, converted to canonical a || nonce.
  const Sr25519Keypair child = internal::Sr25519DeriveSoftWithRandom(parent, alice, OracleRandom());
  EXPECT_EQ(base::HexEncode(child.secret()),
            "6f727435a4ba3ebbccb15fdb4ad612ecb99c8e4032fe81d2c7e4f2215106c004"
            "742858d5a8833bca628381c0c60ef2b01ba969461ccdeb9cd2ef78d297847b31");
  EXPECT_EQ(base::HexEncode(child.public_key()),
            "4408576097c9908473f1488cf4a1629c6aa19ba68636bbdf919c2b06d2c3a64f");

  base::Result<Sr25519Public> from_public = Sr25519DeriveSoftPublic(parent.public_key(), alice);
  ASSERT_TRUE(from_public.ok());
  EXPECT_EQ(*from_public, child.public_key());
  // With fresh randomness the nonce differs (as upstream) but the key does not.
  const Sr25519Keypair random_child = parent.DeriveSoft(alice);
  EXPECT_EQ(random_child.public_key(), child.public_key());
  const Sr25519Signature signature = random_child.Sign(Bytes("child"));
  EXPECT_TRUE(Sr25519Verify(*from_public, Bytes("child"), signature));
}

TEST(Sr25519Test, DeriveSoftPublicRejectsInvalidPoint) {
  const ChainCode chain_code{};
  EXPECT_EQ(Sr25519DeriveSoftPublic(std::vector<uint8_t>(32, 0xff), chain_code).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sr25519DeriveSoftPublic(std::vector<uint8_t>(31, 0), chain_code).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST(Sr25519VrfTest, SignMatchesOracleWithFixedRandomness) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  // @scure/sr25519 vrf.sign(msg, sk, ctx, extra, random); polkadot-js sr25519VrfVerify accepts
  // both.
  const Sr25519VrfSignature plain = internal::Sr25519VrfSignWithRandom(
      keypair, SigningContextTranscript("substrate", "vrf message"), std::nullopt, OracleRandom());
  EXPECT_EQ(base::HexEncode(plain.Serialize()),
            "06cc80de5ef6fdfa0ae8a993f5df4452adc216054f8a0f327592355f5d2db008"
            "40f0551d68dd5f113cfa34ce7baf9607d439cf3961c7979fabc3a27a35887800"
            "0d1f009ac91fec608d6d58a11343d251b290027b7760fb7d9a1f1c9308cea30e");

  MerlinTranscript extra("VRF");
  extra.AppendMessage("", "extra data");
  const Sr25519VrfSignature with_extra = internal::Sr25519VrfSignWithRandom(
      keypair, SigningContextTranscript("ctx", "another"), extra, OracleRandom());
  EXPECT_EQ(base::HexEncode(with_extra.Serialize()),
            "40be212a114eb3f61514dc5478c4d11ebe8919a7eb0945408667b9d1b29c5270"
            "1cf0b1470c55a90e348860afd75165f88d1dc23ff8aefb5351b26499389bb303"
            "ac06132a5557b06f7e152f2ffda0dd24f5fb9bbc583dacd3e6275a15c403ae0d");
  EXPECT_TRUE(Sr25519VrfVerify(keypair.public_key(), SigningContextTranscript("ctx", "another"),
                               extra, with_extra));
}

TEST(Sr25519VrfTest, MakeBytesMatchesIndependentComputation) {
  // Expected bytes come from @scure/sr25519's Merlin and @noble/curves ristretto255 deriveToCurve:
  // Merlin("VRFResult").append("", "my context").append("vrf-in", H).append("vrf-out", O)
  // .challenge("", 16), with O taken from the oracle signature above.
  const std::vector<uint8_t> public_key = Unhex(kPublicHex);
  const Sr25519VrfPreOutput pre_output =
      UnhexArray<32>("06cc80de5ef6fdfa0ae8a993f5df4452adc216054f8a0f327592355f5d2db008");
  base::Result<std::vector<uint8_t>> bytes =
      Sr25519VrfMakeBytes(public_key, SigningContextTranscript("substrate", "vrf message"),
                          pre_output, Bytes("my context"), 16);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(base::HexEncode(*bytes), "f38c7d3fecac9116d4d66156ff448dea");
}

TEST(Sr25519VrfTest, RoundTripAndPreOutputAgree) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  VrfTranscriptData babe{"BABE",
                         {{"slot number", {1, 0, 0, 0, 0, 0, 0, 0}},
                          {"current epoch", {2, 0, 0, 0, 0, 0, 0, 0}},
                          {"chain randomness", std::vector<uint8_t>(32, 7)}}};
  const MerlinTranscript input = babe.Build();
  const Sr25519VrfSignature first = keypair.VrfSign(input, std::nullopt);
  const Sr25519VrfSignature second = keypair.VrfSign(input, std::nullopt);
  EXPECT_TRUE(Sr25519VrfVerify(keypair.public_key(), input, std::nullopt, first));
  EXPECT_TRUE(Sr25519VrfVerify(keypair.public_key(), input, MerlinTranscript("VRF"), first));
  // The proof is randomised; the pre-output is a function of key and input.
  EXPECT_NE(first.proof, second.proof);
  EXPECT_EQ(first.pre_output, second.pre_output);
  EXPECT_EQ(keypair.VrfPreOutput(input), first.pre_output);

  base::Result<std::vector<uint8_t>> bytes_first = Sr25519VrfMakeBytes(
      keypair.public_key(), input, first.pre_output, Bytes("substrate-babe-vrf"), 16);
  base::Result<std::vector<uint8_t>> bytes_again = Sr25519VrfMakeBytes(
      keypair.public_key(), input, keypair.VrfPreOutput(input), Bytes("substrate-babe-vrf"), 16);
  ASSERT_TRUE(bytes_first.ok());
  ASSERT_TRUE(bytes_again.ok());
  EXPECT_EQ(bytes_first->size(), 16u);
  EXPECT_EQ(*bytes_first, *bytes_again);
  base::Result<std::vector<uint8_t>> other_context = Sr25519VrfMakeBytes(
      keypair.public_key(), input, first.pre_output, Bytes("another-context"), 16);
  ASSERT_TRUE(other_context.ok());
  EXPECT_NE(*other_context, *bytes_first);
}

TEST(Sr25519VrfTest, BuildMatchesManualTranscript) {
  VrfTranscriptData data{"BABE", {{"slot number", {9, 0, 0, 0, 0, 0, 0, 0}}}};
  MerlinTranscript built = data.Build();
  MerlinTranscript manual("BABE");
  manual.AppendU64("slot number", 9);
  std::array<uint8_t, 32> from_built{};
  std::array<uint8_t, 32> from_manual{};
  built.ChallengeBytes("c", from_built);
  manual.ChallengeBytes("c", from_manual);
  EXPECT_EQ(from_built, from_manual);
}

TEST(Sr25519VrfTest, VerifyRejectsTampering) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  const MerlinTranscript input = SigningContextTranscript("substrate", "slot 42");
  MerlinTranscript extra("VRF");
  extra.AppendMessage("", "extra");
  const Sr25519VrfSignature signature = keypair.VrfSign(input, extra);
  ASSERT_TRUE(Sr25519VrfVerify(keypair.public_key(), input, extra, signature));

  EXPECT_FALSE(Sr25519VrfVerify(
      keypair.public_key(), SigningContextTranscript("substrate", "slot 43"), extra, signature));
  EXPECT_FALSE(Sr25519VrfVerify(keypair.public_key(), input, std::nullopt, signature));
  const Sr25519Keypair other =
      KeypairFromHex("0000000000000000000000000000000000000000000000000000000000000001");
  EXPECT_FALSE(Sr25519VrfVerify(other.public_key(), input, extra, signature));
  for (size_t index : {0, 31, 32, 63}) {
    Sr25519VrfSignature tampered = signature;
    tampered.proof[index] ^= 0x01;
    EXPECT_FALSE(Sr25519VrfVerify(keypair.public_key(), input, extra, tampered)) << index;
  }
  // Another key's pre-output for the same input is a valid point but the wrong one.
  Sr25519VrfSignature wrong_output = signature;
  wrong_output.pre_output = other.VrfPreOutput(input);
  EXPECT_FALSE(Sr25519VrfVerify(keypair.public_key(), input, extra, wrong_output));
  Sr25519VrfSignature identity_output = signature;
  identity_output.pre_output.fill(0);
  EXPECT_FALSE(Sr25519VrfVerify(keypair.public_key(), input, extra, identity_output));
  Sr25519VrfSignature invalid_output = signature;
  invalid_output.pre_output.fill(0xff);
  EXPECT_FALSE(Sr25519VrfVerify(keypair.public_key(), input, extra, invalid_output));
  EXPECT_FALSE(Sr25519VrfVerify(std::vector<uint8_t>(32, 0xff), input, extra, signature));
  EXPECT_FALSE(Sr25519VrfVerify(std::vector<uint8_t>(32, 0), input, extra, signature));
  // A non-canonical s (s + l) that Parse would refuse must not verify when built by hand.
  Sr25519VrfSignature non_canonical = signature;
  const std::array<uint8_t, 32> s_plus_order =
      AddGroupOrder(std::span<const uint8_t>(signature.proof).last(32));
  std::copy(s_plus_order.begin(), s_plus_order.end(), non_canonical.proof.begin() + 32);
  EXPECT_FALSE(Sr25519VrfVerify(keypair.public_key(), input, extra, non_canonical));
}

TEST(Sr25519VrfTest, ParseAndSerialize) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  const Sr25519VrfSignature signature =
      keypair.VrfSign(SigningContextTranscript("substrate", "p"), std::nullopt);
  const std::array<uint8_t, kSr25519VrfSignatureSize> wire = signature.Serialize();
  EXPECT_TRUE(std::equal(signature.pre_output.begin(), signature.pre_output.end(), wire.begin()));
  base::Result<Sr25519VrfSignature> parsed = Sr25519VrfSignature::Parse(wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->pre_output, signature.pre_output);
  EXPECT_EQ(parsed->proof, signature.proof);

  EXPECT_EQ(Sr25519VrfSignature::Parse(std::span(wire).first(95)).status().code(),
            base::StatusCode::kInvalidArgument);
  std::array<uint8_t, kSr25519VrfSignatureSize> bad_c = wire;
  bad_c[63] = 0xff;
  EXPECT_EQ(Sr25519VrfSignature::Parse(bad_c).status().code(), base::StatusCode::kInvalidArgument);
  std::array<uint8_t, kSr25519VrfSignatureSize> bad_s = wire;
  bad_s[95] = 0xff;
  EXPECT_EQ(Sr25519VrfSignature::Parse(bad_s).status().code(), base::StatusCode::kInvalidArgument);
}

TEST(Sr25519VrfTest, MakeBytesRejectsBadInput) {
  const Sr25519Keypair keypair = KeypairFromHex(kSeedHex);
  const MerlinTranscript input("BABE");
  const Sr25519VrfPreOutput pre_output = keypair.VrfPreOutput(input);
  Sr25519VrfPreOutput identity{};
  EXPECT_EQ(
      Sr25519VrfMakeBytes(keypair.public_key(), input, identity, Bytes("c"), 16).status().code(),
      base::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sr25519VrfMakeBytes(std::vector<uint8_t>(32, 0xff), input, pre_output, Bytes("c"), 16)
                .status()
                .code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sr25519VrfMakeBytes(keypair.public_key(), input, pre_output, Bytes("c"), 1u << 20)
                .status()
                .code(),
            base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace keymgr
