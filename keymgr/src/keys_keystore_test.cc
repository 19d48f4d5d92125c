// Tests of the Substrate keystore reader: file names, JSON-string SURIs and refusals.
#include "keymgr/keys_keystore.h"

#include <gtest/gtest.h>

#include <string>

#include "support/temp_dir.h"
#include "support/well_known_keys.h"

namespace keymgr {
namespace {

std::span<const uint8_t> Text(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string Decoded(const std::string& content) {
  auto suri = DecodeKeystoreSuri(Text(content));
  if (!suri.ok()) return "<error>";
  return {reinterpret_cast<const char*>(suri->data()), suri->size()};
}

TEST(KeystoreTest, FileNamesAreKeyTypeThenPublicKey) {
  // "babe" is 62616265 and "beef" 62656566; //Alice's public keys are the spec's known answers.
  const std::string alice(support::kAliceSr25519.hex());
  auto id = ParseKeystoreFileName("62616265" + alice);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(std::string(id->key_type.begin(), id->key_type.end()), "babe");
  ASSERT_EQ(id->public_key.size(), 32u);
  EXPECT_EQ(id->public_key[0], 0xd4);
  EXPECT_EQ(id->public_key[31], 0x7d);
  auto ecdsa = ParseKeystoreFileName("62656566" + std::string(support::kAliceEcdsa.hex()));
  ASSERT_TRUE(ecdsa.ok());
  EXPECT_EQ(ecdsa->public_key.size(), 33u);
  // Too short, a 0x prefix in either case instead of the key type's first byte, a non-hex digit.
  for (const std::string& bad :
       {std::string(), std::string("62616265"), std::string("README"),
        "62616265" + alice.substr(0, alice.size() - 1), "0x616265" + alice, "0X616265" + alice,
        "62616265" + alice.substr(0, alice.size() - 1) + "z"}) {
    EXPECT_FALSE(ParseKeystoreFileName(bad).ok()) << bad;
  }
}

TEST(KeystoreTest, ContentIsOneJsonString) {
  EXPECT_EQ(Decoded(R"("//Alice")"), "//Alice");
  EXPECT_EQ(Decoded(" \n\"//Alice\"\n"), "//Alice");
  EXPECT_EQ(Decoded(R"("\/\/Alice\u002fstash")"), "//Alice/stash");
  EXPECT_EQ(Decoded(R"("a \"quoted\" \\ word")"), "a \"quoted\" \\ word");
  for (const char* bad : {"", "\"\"", "//Alice", "\"//Alice", "\"a\"b\"", "\"\\x\"", "\"\\u00e9\"",
                          "\"\\u00\"", "[\"//Alice\"]", "\"tab\there\"", "\"a\\\""}) {
    auto suri = DecodeKeystoreSuri(Text(bad));
    EXPECT_FALSE(suri.ok()) << bad;
    if (!suri.ok()) {
      EXPECT_EQ(suri.status().message().find("Alice"), std::string::npos);
    }
  }
}

// Any 8 hex digits decode to a key type, but the token's labels carry only what
// base::MakeKeyTypeId accepts; a key stored under another type would be invisible on the token.
TEST(KeystoreTest, DirectoryWithAKeyTypeTheTokenCannotHoldIsRefused) {
  support::TempDir dir;
  const std::string alice(support::kAliceSr25519.hex());
  dir.Write("62616265" + alice, "\"//Alice\"");
  const std::string unreadable = "0a0b0c0d" + alice;
  dir.Write(unreadable, "\"//Alice\"");
  auto read = ReadKeystoreDir(dir.path().string());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(read.status().message().find(unreadable), std::string::npos) << read.status().message();
  EXPECT_NE(read.status().message().find("key type"), std::string::npos);
}

}  // namespace
}  // namespace keymgr
