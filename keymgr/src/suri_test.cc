// Table-driven tests for SURI parsing (sp_core address_uri.rs cases) and SURI root secrets.
#include "keymgr/suri.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "base/hex.h"

namespace keymgr {
namespace {

std::string_view AsText(const base::SecretBytes& secret) {
  return {reinterpret_cast<const char*>(secret.data()), secret.size()};
}

struct Junction {
  std::string text;
  bool hard;
};

struct ParseCase {
  std::string suri;
  bool ok;
  std::string phrase;  // expected phrase (the dev phrase when the SURI has none)
  std::vector<Junction> path;
  std::optional<std::string> password;
};

const std::string kDev(kDevPhrase);

// The address_uri.rs unit tests test00..test22 (paths given there with their leading '/' for hard
// junctions), then sp_core::crypto's interpret_std_secret_string_should_work cases and a few more.
const ParseCase kParseCases[] = {
    {"///", true, kDev, {}, ""},
    {"////////", true, kDev, {}, "/////"},
    {"sdasd///asda", true, "sdasd", {}, "asda"},
    {"sdasd//asda", true, "sdasd", {{"asda", true}}, std::nullopt},
    {"sdasd//a", true, "sdasd", {{"a", true}}, std::nullopt},
    {"sdasd//", false, "", {}, std::nullopt},
    {"sdasd/xx//asda", true, "sdasd", {{"xx", false}, {"asda", true}}, std::nullopt},
    {"sdasd/xx//a/b//c///pass",
     true,
     "sdasd",
     {{"xx", false}, {"a", true}, {"b", false}, {"c", true}},
     "pass"},
    {"sdasd/xx//a", true, "sdasd", {{"xx", false}, {"a", true}}, std::nullopt},
    {"sdasd/xx//", false, "", {}, std::nullopt},
    {"sdasd/asda", true, "sdasd", {{"asda", false}}, std::nullopt},
    {"sdasd/asda//x", true, "sdasd", {{"asda", false}, {"x", true}}, std::nullopt},
    {"sdasd/a", true, "sdasd", {{"a", false}}, std::nullopt},
    {"sdasd/", false, "", {}, std::nullopt},
    {"sdasd", true, "sdasd", {}, std::nullopt},
    {"sd.asd", false, "", {}, std::nullopt},
    {"sd.asd/asd.a", false, "", {}, std::nullopt},
    {"sd.asd//asd.a", false, "", {}, std::nullopt},
    {"sdasd/asd.a", true, "sdasd", {{"asd.a", false}}, std::nullopt},
    {"sdasd//asd.a", true, "sdasd", {{"asd.a", true}}, std::nullopt},
    {"///\n", false, "", {}, std::nullopt},
    {"///a\n", false, "", {}, std::nullopt},
    {"sd.asd///asd.a\n", false, "", {}, std::nullopt},
    // crypto.rs cases.
    {"hello world", true, "hello world", {}, std::nullopt},
    {"hello world/1", true, "hello world", {{"1", false}}, std::nullopt},
    {"hello world//DOT/1///password",
     true,
     "hello world",
     {{"DOT", true}, {"1", false}},
     "password"},
    {"hello world/1//DOT///password",
     true,
     "hello world",
     {{"1", false}, {"DOT", true}},
     "password"},
    {"//Alice", true, kDev, {{"Alice", true}}, std::nullopt},
    {"//Alice///SECRET_PASSWORD", true, kDev, {{"Alice", true}}, "SECRET_PASSWORD"},
    {"0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a//Alice",
     true,
     "0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a",
     {{"Alice", true}},
     std::nullopt},
    // More: the password runs to the end and may hold slashes; junctions may hold anything but '/'.
    {"//a///p//q/r", true, kDev, {{"a", true}}, "p//q/r"},
    {"/soft", true, kDev, {{"soft", false}}, std::nullopt},
    {"//j k\xc3\xa9", true, kDev, {{"j k\xc3\xa9", true}}, std::nullopt},
    {"phrase with spaces ", true, "phrase with spaces ", {}, std::nullopt},
    {"", true, kDev, {}, std::nullopt},
    {"a//", false, "", {}, std::nullopt},
    {"a/", false, "", {}, std::nullopt},
    {"a-b", false, "", {}, std::nullopt},
    {"caf\xc3\xa9", false, "", {}, std::nullopt},     // non-ASCII letters are not phrase characters
    {"//a\xff", false, "", {}, std::nullopt},         // not UTF-8
    {"//\xc0\xaf", false, "", {}, std::nullopt},      // overlong '/'
    {"//\xed\xa0\x80", false, "", {}, std::nullopt},  // a surrogate
};

TEST(SuriTest, ParsesLikeAddressUri) {
  for (const ParseCase& test : kParseCases) {
    SCOPED_TRACE(test.suri);
    base::Result<ParsedSuri> parsed = ParseSuri(test.suri);
    ASSERT_EQ(parsed.ok(), test.ok);
    if (!test.ok) {
      EXPECT_EQ(parsed.status().code(), base::StatusCode::kInvalidArgument);
      continue;
    }
    EXPECT_EQ(AsText(parsed->phrase), test.phrase);
    ASSERT_EQ(parsed->path.size(), test.path.size());
    for (size_t i = 0; i < test.path.size(); ++i) {
      const DeriveJunction expected =
          DeriveJunction::FromText(test.path[i].text, test.path[i].hard);
      EXPECT_EQ(parsed->path[i].hard, expected.hard) << i;
      EXPECT_EQ(parsed->path[i].chain_code, expected.chain_code) << i;
    }
    EXPECT_EQ(parsed->has_password, test.password.has_value());
    EXPECT_EQ(AsText(parsed->password), test.password.value_or(""));
  }
}

TEST(SuriTest, ErrorsDoNotRepeatSecrets) {
  base::Result<ParsedSuri> parsed = ParseSuri("secretword!///hunter2");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().find("secretword"), std::string::npos);
  EXPECT_EQ(parsed.status().message().find("hunter2"), std::string::npos);
}

base::Result<base::SecretBytes> Root(std::string_view suri) {
  base::Result<ParsedSuri> parsed = ParseSuri(suri);
  if (!parsed.ok()) return parsed.status();
  return RootSecretFromSuri(*parsed);
}

constexpr std::string_view kSeedHex =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

TEST(SuriTest, HexSeedIsTheRootAndIgnoresThePassword) {
  for (const std::string& suri :
       {"0x" + std::string(kSeedHex), "0x" + std::string(kSeedHex) + "///pw",
        std::string("0x9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60")}) {
    base::Result<base::SecretBytes> root = Root(suri);
    ASSERT_TRUE(root.ok()) << suri;
    EXPECT_EQ(base::HexEncode(root->span()), kSeedHex) << suri;
  }
}

TEST(SuriTest, HexSeedMustBeExactly32Bytes) {
  const std::string seed(kSeedHex);
  for (const std::string& suri :
       {std::string("0x"), "0x" + seed.substr(2), "0x" + seed + "00", "0x" + seed.substr(1),
        "0x" + seed.substr(0, 63) + "g", "0x0x" + seed}) {
    base::Result<base::SecretBytes> root = Root(suri);
    ASSERT_FALSE(root.ok()) << suri;
    EXPECT_EQ(root.status().code(), base::StatusCode::kInvalidArgument) << suri;
  }
}

TEST(SuriTest, PhraseRootIsSubstrateSeedFromEntropy) {
  // substrate-bip39 vector: entropy 7f7f..7f with password "Substrate" -> seed 4313...; the root is
  // its first 32 bytes.
  base::Result<base::SecretBytes> root = Root(
      "legal winner thank year wave sausage worth useful legal winner thank yellow///Substrate");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(base::HexEncode(root->span()),
            "4313249608fe8ac10fd5886c92c4579007272cb77c21551ee5b8d60b78041685");
}

TEST(SuriTest, MissingPhraseMeansDevPhrase) {
  base::Result<base::SecretBytes> implicit = Root("//Alice");
  base::Result<base::SecretBytes> explicit_phrase = Root(std::string(kDevPhrase) + "//Alice");
  ASSERT_TRUE(implicit.ok());
  ASSERT_TRUE(explicit_phrase.ok());
  EXPECT_TRUE(implicit->Equals(explicit_phrase->span()));
}

TEST(SuriTest, InvalidPhrasesFail) {
  for (const char* suri :
       {"hello world", "Bottom drive obey lake curtain smoke basket hold race lonely fit walk",
        "bottom drive obey lake curtain smoke basket hold race lonely fit  walk",
        "bottom drive obey lake curtain smoke basket hold race lonely fit walk //Alice", "0xzz"}) {
    base::Result<base::SecretBytes> root = Root(suri);
    ASSERT_FALSE(root.ok()) << suri;
    EXPECT_EQ(root.status().code(), base::StatusCode::kInvalidArgument) << suri;
  }
}

}  // namespace
}  // namespace keymgr
