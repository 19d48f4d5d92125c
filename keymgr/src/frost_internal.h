// FROST internals shared by the signing and key-generation files, and hooks that let tests fix
// randomness.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/frost.h"

namespace keymgr::frost {

// NoncesAccess and DkgAccess open the private state of SigningNonces and DkgSecret to this module.
struct NoncesAccess {
  static base::SecretBytes& Secret(SigningNonces& nonces) { return nonces.secret_; }
  static SigningCommitments& Commitments(SigningNonces& nonces) { return nonces.commitments_; }
};

struct DkgAccess {
  static Suite& SuiteOf(DkgSecret& secret) { return secret.suite_; }
  static Identifier& Self(DkgSecret& secret) { return secret.identifier_; }
  static uint16_t& MinSigners(DkgSecret& secret) { return secret.min_signers_; }
  static uint16_t& MaxSigners(DkgSecret& secret) { return secret.max_signers_; }
  static base::SecretBytes& Coefficients(DkgSecret& secret) { return secret.coefficients_; }
  static VssCommitment& Commitment(DkgSecret& secret) { return secret.commitment_; }
};

namespace internal {

using Hash512 = std::array<uint8_t, 64>;

void EnsureSodium();
std::span<const uint8_t> AsBytes(std::string_view text);

// Scalar arithmetic mod l (the same l for ed25519 and ristretto255). Callers wipe secret results.
bool IsCanonicalScalar(std::span<const uint8_t> bytes);
Scalar ScalarFromInt(uint32_t value);
Scalar ScalarAdd(const Scalar& a, const Scalar& b);
Scalar ScalarSub(const Scalar& a, const Scalar& b);
Scalar ScalarMul(const Scalar& a, const Scalar& b);
Scalar ScalarReduce(const Hash512& wide);
Scalar RandomScalar();                              // uniform, non-zero
Scalar CopyScalar(std::span<const uint8_t> bytes);  // bytes must be 32 long
void WipeScalar(Scalar& scalar);

// Group operations. Elements passed to Mul must have passed DecodeElement or come from this
// module's arithmetic on such elements (libsodium refuses small-order ed25519 inputs otherwise).
// Results may be the identity; IsIdentity tells, and DecodeElement refuses it on the wire.
Element Identity(Suite suite);
bool IsIdentity(Suite suite, const Element& element);
Element BaseMul(Suite suite, const Scalar& scalar);
Element Mul(Suite suite, const Scalar& scalar, const Element& element);
Element Add(Suite suite, const Element& a, const Element& b);
Element Sub(Suite suite, const Element& a, const Element& b);

// The RFC 9591 hash functions of the suite (sr25519 uses the ristretto255 ones; its challenge is
// SigningChallenge's transcript instead of H2).
Scalar H1(Suite suite, std::span<const uint8_t> message);
Scalar H3(Suite suite, std::initializer_list<std::span<const uint8_t>> parts);
Hash512 H4(Suite suite, std::span<const uint8_t> message);
Hash512 H5(Suite suite, std::span<const uint8_t> message);
// HDkg is the challenge of the DKG proof of knowledge: SHA-512(context || "dkg" || parts) mod l.
Scalar HDkg(Suite suite, std::initializer_list<std::span<const uint8_t>> parts);
// SigningChallenge is compute_challenge: H2(R || PK || msg), or for sr25519 the schnorrkel
// transcript.
Scalar SigningChallenge(Suite suite, const Element& group_commitment,
                        const Element& group_public_key, std::span<const uint8_t> message);

// NonceGenerate is RFC 9591 nonce_generate with the 32 random bytes given.
Scalar NonceGenerate(Suite suite, std::span<const uint8_t> random_bytes,
                     std::span<const uint8_t> secret);

// BindingFactorInputs and BindingFactors are compute_binding_factors (in list order).
std::vector<std::vector<uint8_t>> BindingFactorInputs(
    Suite suite, const Element& group_public_key,
    std::span<const SigningCommitments> commitment_list, std::span<const uint8_t> message);
std::vector<Scalar> BindingFactors(Suite suite, const Element& group_public_key,
                                   std::span<const SigningCommitments> commitment_list,
                                   std::span<const uint8_t> message);
// GroupCommitment is compute_group_commitment; fails if the result is the identity.
base::Result<Element> GroupCommitment(Suite suite,
                                      std::span<const SigningCommitments> commitment_list,
                                      std::span<const Scalar> binding_factors);
// LagrangeCoefficient is derive_interpolating_value at 0 for `identifier` within `identifiers`
// (which must be distinct and contain it).
Scalar LagrangeCoefficient(std::span<const Identifier> identifiers, Identifier identifier);

// PolynomialEvaluate returns Σ coefficients[j]·x^j (coefficients are 32-byte scalars,
// concatenated).
Scalar PolynomialEvaluate(std::span<const uint8_t> coefficients, Identifier x);
// VssCommit returns coefficient·B for each coefficient.
VssCommitment VssCommit(Suite suite, std::span<const uint8_t> coefficients);

// CommitWithRandomness is Commit with the two 32-byte nonce randomness values given.
base::Result<Round1> CommitWithRandomness(const KeyPackage& key_package,
                                          std::span<const uint8_t> hiding_randomness,
                                          std::span<const uint8_t> binding_randomness);
// TrustedDealerSplitWithCoefficients is TrustedDealerSplit with the min_signers - 1 random
// coefficients given (RFC 9591's share_polynomial_coefficients).
base::Result<DealerOutput> TrustedDealerSplitWithCoefficients(
    Suite suite, std::span<const uint8_t> secret_scalar, std::span<const Scalar> coefficients,
    uint16_t max_signers);

}  // namespace internal
}  // namespace keymgr::frost
