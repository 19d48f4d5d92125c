// RFC 9591 test vectors for FROST(Ed25519, SHA-512) and FROST(ristretto255, SHA-512), end to end
// through keymgr.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "frost_internal.h"
#include "keymgr/frost.h"

namespace keymgr::frost {
namespace {

using Json = nlohmann::json;

Json LoadVector(const std::string& name) {
  std::ifstream file(std::string(FROST_VECTOR_DIR) + "/" + name);
  EXPECT_TRUE(file.good()) << name;
  return Json::parse(file, nullptr, /*allow_exceptions=*/false);
}

std::vector<uint8_t> Unhex(const Json& value) {
  auto bytes = base::HexDecode(value.get<std::string>());
  EXPECT_TRUE(bytes.ok()) << value;
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

std::string Hex(std::span<const uint8_t> bytes) { return base::HexEncode(bytes); }

Identifier Id(const Json& value) { return Identifier::Create(value.get<uint32_t>()).value(); }

struct VectorCase {
  const char* file;
  Suite suite;
};

class FrostVectorTest : public testing::TestWithParam<VectorCase> {};

TEST_P(FrostVectorTest, ReproducesEveryIntermediateAndTheSignature) {
  const Suite suite = GetParam().suite;
  const Json vector = LoadVector(GetParam().file);
  ASSERT_FALSE(vector.is_discarded());
  const Json& inputs = vector.at("inputs");
  const uint16_t max_signers = static_cast<uint16_t>(
      std::stoi(vector.at("config").at("MAX_PARTICIPANTS").get<std::string>()));
  const std::vector<uint8_t> message = Unhex(inputs.at("message"));

  // Key generation: the dealer's split with the vector's polynomial coefficients.
  std::vector<Scalar> coefficients;
  for (const Json& coefficient : inputs.at("share_polynomial_coefficients")) {
    coefficients.push_back(internal::CopyScalar(Unhex(coefficient)));
  }
  auto dealt = internal::TrustedDealerSplitWithCoefficients(
      suite, Unhex(inputs.at("group_secret_key")), coefficients, max_signers);
  ASSERT_TRUE(dealt.ok()) << dealt.status().message();
  EXPECT_EQ(Hex(dealt->public_package.group_public_key), inputs.at("group_public_key"));
  ASSERT_EQ(dealt->shares.size(), inputs.at("participant_shares").size());
  for (const Json& expected : inputs.at("participant_shares")) {
    const SecretShare& share = dealt->shares.at(expected.at("identifier").get<size_t>() - 1);
    EXPECT_EQ(share.identifier, Id(expected.at("identifier")));
    EXPECT_EQ(Hex(share.value.span()), expected.at("participant_share"));
  }

  // Round one with the vector's nonce randomness.
  std::vector<KeyPackage> keys;
  std::vector<SigningNonces> nonces;
  CommitmentList commitments;
  for (const Json& output : vector.at("round_one_outputs").at("outputs")) {
    const Identifier id = Id(output.at("identifier"));
    auto key = VerifySecretShare(dealt->shares.at(id.value() - 1));
    ASSERT_TRUE(key.ok()) << key.status().message();
    const std::vector<uint8_t> hiding_random = Unhex(output.at("hiding_nonce_randomness"));
    const std::vector<uint8_t> binding_random = Unhex(output.at("binding_nonce_randomness"));
    EXPECT_EQ(Hex(internal::NonceGenerate(suite, hiding_random, key->signing_share.span())),
              output.at("hiding_nonce"));
    EXPECT_EQ(Hex(internal::NonceGenerate(suite, binding_random, key->signing_share.span())),
              output.at("binding_nonce"));
    auto round1 = internal::CommitWithRandomness(*key, hiding_random, binding_random);
    ASSERT_TRUE(round1.ok()) << round1.status().message();
    EXPECT_EQ(Hex(round1->commitments.hiding), output.at("hiding_nonce_commitment"));
    EXPECT_EQ(Hex(round1->commitments.binding), output.at("binding_nonce_commitment"));
    commitments.push_back(round1->commitments);
    nonces.push_back(std::move(round1->nonces));
    keys.push_back(std::move(key).value());
  }
  ASSERT_TRUE(CheckCommitmentList(commitments).ok());

  const std::vector<std::vector<uint8_t>> factor_inputs = internal::BindingFactorInputs(
      suite, dealt->public_package.group_public_key, commitments, message);
  const std::vector<Scalar> factors =
      internal::BindingFactors(suite, dealt->public_package.group_public_key, commitments, message);
  const Json& round_one = vector.at("round_one_outputs").at("outputs");
  for (size_t i = 0; i < round_one.size(); ++i) {
    EXPECT_EQ(Hex(factor_inputs[i]), round_one[i].at("binding_factor_input"));
    EXPECT_EQ(Hex(factors[i]), round_one[i].at("binding_factor"));
  }

  // Round two, share verification and aggregation.
  std::vector<SignatureShare> shares;
  const Json& round_two = vector.at("round_two_outputs").at("outputs");
  for (size_t i = 0; i < keys.size(); ++i) {
    auto share = Sign(keys[i], std::move(nonces[i]), message, commitments);
    ASSERT_TRUE(share.ok()) << share.status().message();
    EXPECT_EQ(share->identifier, Id(round_two[i].at("identifier")));
    EXPECT_EQ(Hex(share->share), round_two[i].at("sig_share"));
    EXPECT_TRUE(VerifySignatureShare(dealt->public_package, message, commitments, *share).ok());
    shares.push_back(*share);
  }
  auto signature = Aggregate(dealt->public_package, message, commitments, shares);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_EQ(Hex(*signature), vector.at("final_output").at("sig"));
  EXPECT_TRUE(VerifySignature(suite, dealt->public_package.group_public_key, message, *signature));
  if (suite == Suite::kEd25519) {
    EXPECT_EQ(crypto_sign_verify_detached(signature->data(), message.data(), message.size(),
                                          dealt->public_package.group_public_key.data()),
              0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9591, FrostVectorTest,
    testing::Values(VectorCase{"frost-ed25519-sha512.rfc9591.json", Suite::kEd25519},
                    VectorCase{"frost-ristretto255-sha512.rfc9591.json", Suite::kRistretto255}),
    [](const testing::TestParamInfo<VectorCase>& param_info) {
      return std::string(SuiteName(param_info.param.suite));
    });

}  // namespace
}  // namespace keymgr::frost
