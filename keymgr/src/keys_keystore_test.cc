// Tests of the Substrate keystore reader: file names, JSON-string SURIs and refusals.
#include "keymgr/keys_keystore.h"

#include <gtest/gtest.h>

#include <string>

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
  // "babe" is 62616265; //Alice's sr25519 public key is the spec's known answer.
  auto id = ParseKeystoreFileName(
      "62616265d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(std::string(id->key_type.begin(), id->key_type.end()), "babe");
  ASSERT_EQ(id->public_key.size(), 32u);
  EXPECT_EQ(id->public_key[0], 0xd4);
  EXPECT_EQ(id->public_key[31], 0x7d);
  auto ecdsa = ParseKeystoreFileName(
      "62656566020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1");
  ASSERT_TRUE(ecdsa.ok());
  EXPECT_EQ(ecdsa->public_key.size(), 33u);
  for (const char* bad :
       {"", "62616265", "README",
        "62616265d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da2",
        "0x616265d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
        "0X616265d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
        "62616265d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27z"}) {
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

}  // namespace
}  // namespace keymgr
