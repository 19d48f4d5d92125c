// Policy file tests: strict parsing (table of bad files) and deny-by-default evaluation (table).
#include "signerd/policy_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "support/well_known_keys.h"

namespace signer {
namespace {

// Two 32-byte keys to grant: //Alice's ed25519 and sr25519 public keys.
constexpr std::string_view kKeyA = support::kAliceEd25519.hex();
constexpr std::string_view kKeyB = support::kAliceSr25519.hex();

const std::string kPolicy = std::string(R"(
identities:
  validator-alice:
    - key_types: [gran]
      operations: [sign, list]
      public_keys: ["0x)") + std::string(kKeyA) +
                            R"("]
    - key_types: [babe, para]
      operations: [generate, insert]
  validator-bob:
    - key_types: [babe]
      operations: [sign, vrf]
      public_keys: [")" + std::string(kKeyB) +
                            R"("]
  intruder: []
)";

TEST(PolicyParseTest, RejectsMalformedFiles) {
  const std::vector<std::string> bad = {
      "",                                             // no identities
      "identities: []",                               // not a mapping
      "identities: {}\nextra: 1",                     // unknown top-level field
      "identities:\n  a: {}",                         // grants must be a list
      "identities:\n  a:\n    - key_types: [gran]",   // operations missing
      "identities:\n  a:\n    - operations: [sign]",  // key_types missing
      "identities:\n  a:\n    - key_types: [gran]\n      operations: [sign]\n      color: red",
      "identities:\n  a:\n    - key_types: [gran]\n      operations: [delete]",
      "identities:\n  a:\n    - key_types: [grandpa]\n      operations: [sign]",
      "identities:\n  a:\n    - key_types: [gran]\n      operations: [sign]\n      public_keys: "
      "[abcd]",
      "identities:\n  a:\n    - key_types: [gran]\n      operations: [sign]\n      public_keys: "
      "[zz]",
      "identities:\n  a: []\n  a: []",  // duplicate identity
      "identities:\n  a:\n    - key_types: [gran]\n      key_types: [babe]\n      operations: "
      "[sign]",
      "identities: [unclosed",
  };
  for (const std::string& text : bad) {
    auto policy = Policy::Parse(text);
    EXPECT_FALSE(policy.ok()) << text;
    if (!policy.ok()) {
      EXPECT_EQ(policy.status().code(), base::StatusCode::kInvalidArgument) << text;
    }
  }
  EXPECT_TRUE(Policy::Parse(kPolicy).ok());
}

TEST(PolicyEvalTest, DeniesByDefaultAndScopesKeysToTheirOwner) {
  auto policy = Policy::Parse(kPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  const auto key_a = *base::HexDecode(kKeyA);
  const auto key_b = *base::HexDecode(kKeyB);
  struct Case {
    std::string identity;
    Operation operation;
    std::string key_type;
    const std::vector<uint8_t>* key;  // null: ask Allows, not Owns
    bool expected;
  };
  const std::vector<Case> cases = {
      {"validator-alice", Operation::kSign, "gran", &key_a, true},
      {"validator-alice", Operation::kList, "gran", &key_a, true},
      {"validator-alice", Operation::kSign, "gran", &key_b, false},  // bob's key
      {"validator-alice", Operation::kVrf, "gran", &key_a, false},   // operation not granted
      {"validator-alice", Operation::kSign, "babe", &key_a, false},  // key type not granted
      {"validator-alice", Operation::kGenerate, "babe", nullptr, true},
      {"validator-alice", Operation::kInsert, "para", nullptr, true},
      {"validator-alice", Operation::kGenerate, "gran", nullptr, false},
      {"validator-alice", Operation::kSign, "gran", nullptr, true},
      {"validator-bob", Operation::kSign, "babe", &key_b, true},
      {"validator-bob", Operation::kSign, "gran", &key_a, false},
      {"validator-bob", Operation::kList, "babe", &key_b, false},
      {"intruder", Operation::kSign, "gran", &key_a, false},
      {"intruder", Operation::kList, "gran", nullptr, false},
      {"nobody", Operation::kList, "gran", nullptr, false},
      {"", Operation::kSign, "gran", &key_a, false},
      {"VALIDATOR-ALICE", Operation::kSign, "gran", &key_a, false},  // identities are exact
  };
  for (const Case& c : cases) {
    const auto key_type = *base::MakeKeyTypeId(c.key_type);
    const bool got = c.key ? policy->Owns(c.identity, c.operation, key_type, *c.key)
                           : policy->Allows(c.identity, c.operation, key_type);
    EXPECT_EQ(got, c.expected) << c.identity << " " << OperationName(c.operation) << " "
                               << c.key_type;
  }
}

}  // namespace
}  // namespace signer
