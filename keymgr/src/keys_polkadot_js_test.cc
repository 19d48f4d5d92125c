// Tests of the polkadot-js export decoder on an export made by @polkadot/keyring, and its refusals.
#include "keymgr/keys_polkadot_js.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/hex.h"

namespace keymgr {
namespace {

// The sr25519 entry of tests/cli/keys_polkadot_js_fixture.json, made by
// tests/oracle/make-polkadot-js-fixture.js: @polkadot/keyring 14.0.3
// addFromUri("//PolkadotJsFixture") under sr25519, then pair.toJson(kPassword).
constexpr char kSr25519Export[] =
    R"({"encoded": "/I2okK11FBMhN7LjqHK2VxTs0/lCjc+AnWSlszVX6lgAAAIAAQAAAAgAAAABqvz8+WCoGoz9NEPR82NG2I/EFKLBWbPFpYMPp8aElhmLtKHTZXHi21D/sgNTppfRCo9OBoxTvP9rGP7Q1wr3nPSwAL5VQfEHI2wIIpdjbGI1WO1xcBIqX73jJIIZzJEYPV0Qrb2VNEXCB/73TPuyMJQmoe31w7ykzI+YLjoyCI06mdFwAwS8AIrX2Xk/R66OH3pV9qD+MCX1WUg/", "encoding": {"content": ["pkcs8", "sr25519"], "type": ["scrypt", "xsalsa20-poly1305"], "version": "3"}, "address": "5Fc9hdUa3dRhp7czrgW4qbMLz1vkNQkL7qQojzQMEh75UrNu", "meta": {"name": "fixture sr25519"}})";
constexpr char kPassword[] = "fixture password for polkadot-js export";
constexpr char kPublicKey[] = "9cb04e9c51fe1799b01bdd69dc4830d8b857ecaf8e92b9a2cdacd23d84c11319";

std::span<const uint8_t> Text(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(PolkadotJsTest, DecodesTheCanonicalSr25519SecretBothHalves) {
  auto pair = DecodePolkadotJsExport(kSr25519Export, Text(kPassword));
  ASSERT_TRUE(pair.ok()) << pair.status().message();
  ASSERT_EQ(pair->scheme(), base::Scheme::kSr25519);
  EXPECT_EQ(base::HexEncode(pair->public_key()), kPublicKey);
  // The public key proves the scalar; the nonce half is proved by the same key derived from the
  // SURI polkadot-js was given, through keymgr's independent SURI path.
  auto from_suri = keymgr::KeypairFromSuri(base::Scheme::kSr25519, "//PolkadotJsFixture");
  ASSERT_TRUE(from_suri.ok());
  const auto secret = pair->sr25519()->secret();
  const auto expected = from_suri->sr25519()->secret();
  EXPECT_TRUE(std::equal(secret.begin(), secret.end(), expected.begin(), expected.end()));
}

// The fuzzer's finding (corpus/signer_polkadot_js_fuzz/empty_encoded.json): an empty "encoded" used
// to reach libsodium's base64 decoder with a null output buffer, which UBSan stops on.
TEST(PolkadotJsTest, EmptyEncodedIsRefusedClearly) {
  nlohmann::json json = nlohmann::json::parse(kSr25519Export);
  json["encoded"] = "";
  auto result = DecodePolkadotJsExport(json.dump(), Text(kPassword));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("\"encoded\" is empty"), std::string::npos)
      << result.status().message();
}

TEST(PolkadotJsTest, WrongPasswordAndBadExportsAreRefused) {
  auto wrong = DecodePolkadotJsExport(kSr25519Export, Text("wrong password"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("wrong password"), std::string::npos);
  EXPECT_FALSE(DecodePolkadotJsExport(kSr25519Export, Text("")).ok());

  const nlohmann::json original = nlohmann::json::parse(kSr25519Export);
  const auto refused = [](const nlohmann::json& json, const std::string& why) {
    auto result = DecodePolkadotJsExport(json.dump(), Text(kPassword));
    EXPECT_FALSE(result.ok()) << why;
    if (!result.ok()) {
      EXPECT_EQ(result.status().message().find(kPassword), std::string::npos);
    }
  };
  nlohmann::json json = original;
  json["encoding"]["content"] = {"pkcs8", "ethereum"};
  refused(json, "ethereum");
  json = original;
  json["encoding"]["type"] = {"none"};
  refused(json, "unencrypted");
  json = original;
  json.erase("encoded");
  refused(json, "no encoded");
  json = original;
  json["encoded"] = "not base64!";
  refused(json, "bad base64");

  // scrypt N raised to 2^20: polkadot-js refuses it, and so must we, before spending the memory.
  std::vector<uint8_t> bytes(1024);
  size_t size = 0;
  const std::string encoded = original["encoded"];
  ASSERT_EQ(sodium_base642bin(bytes.data(), bytes.size(), encoded.data(), encoded.size(), nullptr,
                              &size, nullptr, sodium_base64_VARIANT_ORIGINAL),
            0);
  bytes.resize(size);
  bytes[32] = 0;
  bytes[33] = 0;
  bytes[34] = 0x10;
  std::string reencoded(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL),
                        '\0');
  sodium_bin2base64(reencoded.data(), reencoded.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  reencoded.resize(reencoded.size() - 1);  // the terminating NUL
  json = original;
  json["encoded"] = reencoded;
  auto big = DecodePolkadotJsExport(json.dump(), Text(kPassword));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("scrypt parameters"), std::string::npos);

  // Two "encoded" members: the JSON library alone keeps the last (here the valid one), so the
  // export would be read as something other than the first thing it says.
  std::string twice = kSr25519Export;
  twice.insert(1, R"("encoded": "", )");
  auto repeated = DecodePolkadotJsExport(twice, Text(kPassword));
  ASSERT_FALSE(repeated.ok());
  EXPECT_NE(repeated.status().message().find("named twice"), std::string::npos);

  EXPECT_FALSE(DecodePolkadotJsExport("[", Text(kPassword)).ok());
  EXPECT_FALSE(DecodePolkadotJsExport(std::string(100, '['), Text(kPassword)).ok());
}

}  // namespace
}  // namespace keymgr
