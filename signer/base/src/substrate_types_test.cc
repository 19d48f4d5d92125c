// Tests for key type ids, scheme names and crypto ids, and the status propagation macros.
#include "base/substrate_types.h"

#include <gtest/gtest.h>

#include <string>

namespace base {
namespace {

TEST(KeyTypeIdTest, AcceptsFourPrintableCharactersAndRefusesTheRest) {
  struct Case {
    std::string text;
    bool ok;
  };
  const Case cases[] = {{"gran", true},
                        {"babe", true},
                        {"ab!~", true},
                        {"", false},
                        {"abc", false},
                        {"abcde", false},
                        {"ab:c", false},
                        {"ab c", false},
                        {std::string("ab\0c", 4), false},
                        {"ab\x7f"
                         "c",
                         false}};
  for (const Case& c : cases) {
    const Result<KeyTypeId> id = MakeKeyTypeId(c.text);
    EXPECT_EQ(id.ok(), c.ok) << c.text;
    if (id.ok()) {
      EXPECT_EQ(KeyTypeName(*id), c.text);
    } else {
      EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    }
  }
  static_assert(KeyTypeIdFromLiteral("gran") == kKeyTypeGrandpa);
}

TEST(SchemeTest, NamesAndCryptoIdsRoundTrip) {
  for (Scheme scheme : kAllSchemes) {
    EXPECT_EQ(*ParseScheme(SchemeName(scheme)), scheme);
    EXPECT_EQ(ParseSchemeOrCryptoId(SchemeName(scheme)), scheme);
    EXPECT_EQ(ParseSchemeOrCryptoId(SchemeCryptoId(scheme)), scheme);
  }
  EXPECT_FALSE(ParseScheme("sr25").ok());
  EXPECT_FALSE(ParseSchemeOrCryptoId("SR25519").has_value());
  EXPECT_EQ(PublicKeySize(Scheme::kEcdsa), 33u);
  EXPECT_EQ(PublicKeySize(Scheme::kSr25519), 32u);
  EXPECT_EQ(RequiredSchemeForKeyType(kKeyTypeGrandpa), Scheme::kEd25519);
  EXPECT_EQ(RequiredSchemeForKeyType(kKeyTypeBeefy), Scheme::kEcdsa);
  EXPECT_EQ(RequiredSchemeForKeyType(kKeyTypeBabe), Scheme::kSr25519);
  EXPECT_EQ(RequiredSchemeForKeyType(KeyTypeIdFromLiteral("acco")), std::nullopt);
}

Status FailWhen(bool fail) { return fail ? Status::IoError("disk") : Status::Ok(); }
Result<int> ValueOrFail(bool fail) {
  if (fail) return Status::NotFound("none");
  return 7;
}
Result<int> DoubledOrFail(bool fail_first, bool fail_second) {
  SIGNER_RETURN_IF_ERROR(FailWhen(fail_first));
  SIGNER_ASSIGN_OR_RETURN(const int value, ValueOrFail(fail_second));
  return value * 2;
}

TEST(StatusMacrosTest, ReturnTheFirstFailureAndOtherwiseTheValue) {
  EXPECT_EQ(*DoubledOrFail(false, false), 14);
  EXPECT_EQ(DoubledOrFail(true, false).status().code(), StatusCode::kIoError);
  EXPECT_EQ(DoubledOrFail(false, true).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DoubledOrFail(false, true).status().message(), "none");
}

}  // namespace
}  // namespace base
