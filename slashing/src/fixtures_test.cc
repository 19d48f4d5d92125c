// Payload fixtures made with @polkadot/types (tests/oracle/make-payload-fixtures.js) and by hand.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "slashing/classify.h"
#include "support/locations.h"

namespace slashing {
namespace {

std::vector<uint8_t> Hex(const std::string& text) {
  std::vector<uint8_t> out;
  const size_t start = text.rfind("0x", 0) == 0 ? 2 : 0;
  for (size_t i = start; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  }
  return out;
}

ClassificationKind KindFromName(const std::string& name) {
  if (name == "protected") return ClassificationKind::kProtected;
  if (name == "unprotected") return ClassificationKind::kUnprotected;
  if (name == "preimage_mismatch") return ClassificationKind::kPreimageMismatch;
  return ClassificationKind::kUndecodable;
}

void CheckFixtureFile(const std::string& name, size_t minimum_cases) {
  std::ifstream file(support::Location("slashing-testdata") + "/" + name);
  ASSERT_TRUE(file.good()) << name;
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json root = nlohmann::json::parse(text.str());
  const auto& cases = root.at("cases");
  ASSERT_GE(cases.size(), minimum_cases);
  for (const auto& test : cases) {
    SCOPED_TRACE(test.at("name").get<std::string>());
    const std::string key_type_text = test.at("key_type").get<std::string>();
    ASSERT_EQ(key_type_text.size(), 4u);
    base::KeyTypeId key_type;
    std::copy(key_type_text.begin(), key_type_text.end(), key_type.begin());
    const auto message = Hex(test.at("message").get<std::string>());
    std::optional<std::vector<uint8_t>> preimage;
    if (test.contains("preimage")) preimage = Hex(test.at("preimage").get<std::string>());
    std::optional<std::span<const uint8_t>> preimage_span;
    if (preimage) preimage_span = std::span<const uint8_t>(*preimage);
    const auto result = Classify(key_type, message, preimage_span);
    const auto& expect = test.at("expect");
    ASSERT_EQ(result.kind, KindFromName(expect.at("kind").get<std::string>()));
    if (result.kind != ClassificationKind::kProtected) continue;
    const auto& claims = expect.at("claims");
    ASSERT_EQ(result.claims.size(), claims.size());
    for (size_t i = 0; i < claims.size(); ++i) {
      const auto& want = claims[i];
      const Claim& got = result.claims[i];
      EXPECT_EQ(DomainName(got.domain), want.at("domain").get<std::string>());
      EXPECT_EQ(got.position.major, std::stoull(want.at("major").get<std::string>()));
      EXPECT_EQ(got.position.minor, std::stoull(want.at("minor").get<std::string>()));
      if (want.contains("candidate")) {
        const auto candidate = Hex(want.at("candidate").get<std::string>());
        EXPECT_TRUE(std::equal(candidate.begin(), candidate.end(), got.position.candidate.begin()));
      }
      EXPECT_EQ(got.digest, Hex(want.at("digest").get<std::string>()));
    }
  }
}

TEST(PayloadFixturesTest, PolkadotTypesFixtures) { CheckFixtureFile("payload_fixtures.json", 10); }

TEST(PayloadFixturesTest, HandMadeFixtures) { CheckFixtureFile("payload_fixtures_hand.json", 4); }

}  // namespace
}  // namespace slashing
