// Tests for BIP-39: wordlist, phrase/entropy vectors, strict rejection, Substrate mini-secret.
#include "keymgr/bip39.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>

#include "base/hex.h"

namespace keymgr {
namespace internal {
extern const std::array<std::string_view, 2048> kBip39EnglishWords;
}  // namespace internal
namespace {

std::string_view AsText(const base::SecretBytes& secret) {
  return {reinterpret_cast<const char*>(secret.data()), secret.size()};
}

std::vector<uint8_t> FromHex(std::string_view hex) { return base::HexDecode(hex).value(); }

TEST(Bip39Test, WordlistMatchesThePublishedFile) {
  // SHA-256 of bitcoin/bips bip-0039/english.txt (one word per line, LF endings).
  std::string file;
  for (std::string_view word : internal::kBip39EnglishWords) {
    file.append(word);
    file.push_back('\n');
  }
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const uint8_t*>(file.data()), file.size());
  EXPECT_EQ(base::HexEncode(digest),
            "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda");
}

struct Bip39Vector {
  std::string_view phrase;
  std::string_view entropy_hex;
  std::string_view seed_hex;  // seed_from_entropy(entropy, "Substrate")
};

// Source: paritytech/substrate-bip39 src/lib.rs test VECTORS (phrases and entropy are the BIP-39
// reference vectors of trezor/python-mnemonic; seeds use the password "Substrate"). A subset
// covering every word count.
constexpr Bip39Vector kVectors[] = {
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "about",
     "00000000000000000000000000000000",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e33f50c3d5c84fa3e5399c72d6cbbbb"
     "c4a"
     "49bf76f76d952f479d74655a2ef2d453"},
    {"legal winner thank year wave sausage worth useful legal winner thank yellow",
     "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "4313249608fe8ac10fd5886c92c4579007272cb77c21551ee5b8d60b780416850f1e26c1f4b8d88ece681cb058ab6"
     "6d6"
     "182bc2ce5a03181f7b74c27576b5c8bf"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong", "ffffffffffffffffffffffffffffffff",
     "227d6256fd4f9ccaf06c45eaa4b2345969640462bbb00c5f51f43cb43418c7a753265f9b1e0c0822c155a9cabc769"
     "413"
     "ecc14553e135fe140fc50b6722c6b9df"},
    {"legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth "
     "useful legal will",
     "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "cb1d50e14101024a88905a098feb1553d4306d072d7460e167a60ccb3439a6817a0afc59060f45d999ddebc053087"
     "147"
     "33c9e1e84f30feccddd4ad6f95c8a445"},
    {"hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy "
     "gospel tennis maple dilemma loan word shrug inflict delay length",
     "68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
     "7c60c555126c297deddddd59f8cdcdc9e3608944455824dd604897984b5cc369cad749803bb36eb8b786b570c9cdc"
     "8db"
     "275dbe841486676a6adf389f3be3f076"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
     "vote",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "047e89ef7739cbfe30da0ad32eb1720d8f62441dd4f139b981b8e2d0bd412ed4eb14b89b5098c49db2301d4e7df4e"
     "89c"
     "21e53f345138e56a5e7d63fae21c5939"},
    {"scheme spot photo card baby mountain device kick cradle pact join borrow",
     "c0ba5a8e914111210f2bd131f3d5e08d",
     "c12157bf2506526c4bd1b79a056453b071361538e9e2c19c28ba2cfa39b5f23034b974e0164a1e8acd30f5b4c4de7"
     "d42"
     "4fdb52c0116bfc6a965ba8205e6cc121"},
};

// 15- and 21-word cases, which the vectors above lack. Made with the polkadot-js oracle
// (@polkadot/util-crypto 14.0.3: entropyToMnemonic, then mnemonicToMiniSecret(phrase,
// "Substrate")), an independent BIP-39 and seed_from_entropy implementation; the seed column is the
// 32-byte mini-secret.
constexpr Bip39Vector kOracleVectors[] = {
    {"abandon amount liar amount expire adjust cage candy arch gather drum bullet absurd math "
     "exhibit",
     "000102030405060708090a0b0c0d0e0f10111213",
     "8270a4aa5422318f8c77d67e599aac279e79a0836b2449f0f866c83ea00f300b"},
    {"letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount "
     "doctor "
     "acoustic avoid letter advice cage absurd apart",
     "80808080808080808080808080808080808080808080808080808080",
     "cba72b26f2fb6464349d50ffe5b8d4eef2b59fa0f957a746b13d5892d14cbfdb"},
};

void CheckVector(const Bip39Vector& vector) {
  base::Result<base::SecretBytes> entropy = MnemonicToEntropy(vector.phrase);
  ASSERT_TRUE(entropy.ok()) << vector.phrase;
  EXPECT_EQ(base::HexEncode(entropy->span()), vector.entropy_hex);

  base::Result<base::SecretBytes> phrase = EntropyToMnemonic(FromHex(vector.entropy_hex));
  ASSERT_TRUE(phrase.ok());
  EXPECT_EQ(AsText(*phrase), vector.phrase);

  base::Result<base::SecretBytes> mini_secret = MiniSecretFromEntropy(entropy->span(), "Substrate");
  ASSERT_TRUE(mini_secret.ok());
  EXPECT_EQ(base::HexEncode(mini_secret->span()), vector.seed_hex.substr(0, 64));
}

TEST(Bip39Test, SubstrateBip39Vectors) {
  for (const Bip39Vector& vector : kVectors) CheckVector(vector);
}

TEST(Bip39Test, OracleVectorsForFifteenAndTwentyOneWords) {
  for (const Bip39Vector& vector : kOracleVectors) CheckVector(vector);
}

TEST(Bip39Test, PasswordChangesTheMiniSecret) {
  const std::vector<uint8_t> entropy(16, 0);
  base::Result<base::SecretBytes> with_password = MiniSecretFromEntropy(entropy, "Substrate");
  base::Result<base::SecretBytes> without_password = MiniSecretFromEntropy(entropy, "");
  ASSERT_TRUE(with_password.ok());
  ASSERT_TRUE(without_password.ok());
  EXPECT_FALSE(with_password->Equals(without_password->span()));
}

TEST(Bip39Test, EntropyOfEverySupportedSizeRoundTrips) {
  for (size_t size = 16; size <= 32; size += 4) {
    std::vector<uint8_t> entropy(size);
    for (size_t i = 0; i < size; ++i) entropy[i] = static_cast<uint8_t>(i * 37 + size);
    base::Result<base::SecretBytes> phrase = EntropyToMnemonic(entropy);
    ASSERT_TRUE(phrase.ok()) << size;
    const size_t words =
        static_cast<size_t>(std::count(AsText(*phrase).begin(), AsText(*phrase).end(), ' ')) + 1;
    EXPECT_EQ(words, size * 3 / 4) << size;
    base::Result<base::SecretBytes> back = MnemonicToEntropy(AsText(*phrase));
    ASSERT_TRUE(back.ok()) << size;
    EXPECT_TRUE(back->Equals(entropy)) << size;
  }
}

TEST(Bip39Test, RejectsBadEntropySizes) {
  for (size_t size : {0u, 4u, 12u, 15u, 17u, 33u, 36u, 64u}) {
    const std::vector<uint8_t> entropy(size, 1);
    EXPECT_EQ(EntropyToMnemonic(entropy).status().code(), base::StatusCode::kInvalidArgument)
        << size;
    EXPECT_EQ(MiniSecretFromEntropy(entropy, "").status().code(),
              base::StatusCode::kInvalidArgument)
        << size;
  }
}

constexpr std::string_view kTwelveZeros =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

TEST(Bip39Test, RejectsMalformedPhrases) {
  const std::string eleven_words(kTwelveZeros.substr(kTwelveZeros.find(' ') + 1));
  const std::string thirteen_words = "abandon " + std::string(kTwelveZeros);
  std::string twenty_seven_words;
  for (int i = 0; i < 26; ++i) twenty_seven_words += "abandon ";
  twenty_seven_words += "about";
  const std::string cases[] = {
      "",
      " ",
      // Bad checksum: twelve "abandon" words; the valid last word is "about".
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "abandon",
      // Unknown word.
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "abcdef",
      // Longer than any listed word.
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "aboutabout",
      // Wrong word counts.
      eleven_words,
      thirteen_words,
      twenty_seven_words,
      // Whitespace other than single spaces.
      "abandon  abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about",
      " " + std::string(kTwelveZeros),
      std::string(kTwelveZeros) + " ",
      "abandon\tabandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about",
      std::string(kTwelveZeros) + "\n",
      // Case variants.
      "Abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about",
      "ABANDON ABANDON ABANDON ABANDON ABANDON ABANDON ABANDON ABANDON ABANDON ABANDON ABANDON "
      "ABOUT",
      // An embedded NUL must not truncate a word.
      std::string("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                  "abandon about\0x",
                  95),
  };
  for (const std::string& phrase : cases) {
    base::Result<base::SecretBytes> entropy = MnemonicToEntropy(phrase);
    EXPECT_FALSE(entropy.ok()) << '"' << phrase << '"';
    EXPECT_EQ(entropy.status().code(), base::StatusCode::kInvalidArgument) << '"' << phrase << '"';
  }
}

TEST(Bip39Test, ErrorsDoNotRepeatThePhrase) {
  base::Result<base::SecretBytes> entropy = MnemonicToEntropy(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "zebraz");
  ASSERT_FALSE(entropy.ok());
  EXPECT_EQ(entropy.status().message().find("zebraz"), std::string::npos);
}

TEST(Bip39Test, AcceptsEveryChecksumTheLastWordCanCarry) {
  // Eleven words fix 121 bits; the last word adds 7 entropy bits and the 4-bit checksum, so for
  // each of the 128 completions exactly one of 16 checksum values is right: 128 of 2048 words pass.
  int valid = 0;
  std::string base;
  for (int i = 0; i < 11; ++i) base += "zoo ";
  for (std::string_view last : internal::kBip39EnglishWords) {
    if (MnemonicToEntropy(base + std::string(last)).ok()) ++valid;
  }
  EXPECT_EQ(valid, 128);
}

}  // namespace
}  // namespace keymgr
