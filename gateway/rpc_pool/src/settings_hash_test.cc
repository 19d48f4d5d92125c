// Known answers for the settings hash: standardised lines written by hand, hashes from b2sum.
#include "rpc_pool/settings_hash.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/locations.h"

namespace rpc_pool {
namespace {

nlohmann::json LoadVectors() {
  std::ifstream in(support::Location("rpc-pool-testdata") + "/settings_hash.json");
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

TEST(SettingsHashTest, KnownAnswers) {
  const nlohmann::json vectors = LoadVectors();
  ASSERT_FALSE(vectors.is_discarded());
  ASSERT_GE(vectors["cases"].size(), 5u);
  for (const auto& test_case : vectors["cases"]) {
    SCOPED_TRACE(test_case["name"].get<std::string>());
    const auto args = test_case["args"].get<std::vector<std::string>>();
    const auto lines = StandardiseNodeFlags(args);
    ASSERT_TRUE(lines.ok()) << lines.status().message();
    EXPECT_EQ(*lines, test_case["lines"].get<std::vector<std::string>>());
    const auto hash = SettingsHash(args);
    ASSERT_TRUE(hash.ok()) << hash.status().message();
    EXPECT_EQ(*hash, test_case["hash"].get<std::string>());
    EXPECT_TRUE(IsSettingsHash(*hash));
  }
}

TEST(SettingsHashTest, RefusesWhatCannotBeStandardised) {
  const nlohmann::json vectors = LoadVectors();
  ASSERT_FALSE(vectors.is_discarded());
  ASSERT_GE(vectors["refused"].size(), 5u);
  for (const auto& test_case : vectors["refused"]) {
    SCOPED_TRACE(test_case["name"].get<std::string>());
    const auto hash = SettingsHash(test_case["args"].get<std::vector<std::string>>());
    ASSERT_FALSE(hash.ok());
    EXPECT_EQ(hash.status().code(), base::StatusCode::kInvalidArgument);
  }
}

TEST(SettingsHashTest, ExclusionsAreConfigurable) {
  const std::vector<std::string> first = {"--chain", "kusama", "--rpc-port", "9944"};
  const std::vector<std::string> second = {"--chain", "kusama", "--rpc-port", "9955"};
  EXPECT_NE(*SettingsHash(first), *SettingsHash(second));
  const std::vector<std::string> excluded = {"base-path", "name", "rpc-port"};
  EXPECT_EQ(*SettingsHash(first, excluded), *SettingsHash(second, excluded));
  EXPECT_EQ(*StandardiseNodeFlags(first, excluded), std::vector<std::string>{"--chain=kusama"});
}

TEST(SettingsHashTest, RecognisesTheHashForm) {
  EXPECT_TRUE(IsSettingsHash(std::string(64, 'a')));
  EXPECT_FALSE(IsSettingsHash(std::string(64, 'A')));
  EXPECT_FALSE(IsSettingsHash(std::string(63, 'a')));
  EXPECT_FALSE(IsSettingsHash(std::string(63, 'a') + "g"));
  EXPECT_FALSE(IsSettingsHash(""));
}

}  // namespace
}  // namespace rpc_pool
