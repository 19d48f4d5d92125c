// FROST key generation: trusted-dealer split with VSS (RFC 9591 appendix C), Pedersen DKG with
// proofs of knowledge, resharing.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "frost_internal.h"
#include "keymgr/ed25519.h"
#include "keymgr/frost.h"
#include "keymgr/sr25519.h"

namespace keymgr::frost {
namespace {

using internal::CopyScalar;
using internal::WipeScalar;

std::string Name(Identifier identifier) { return std::to_string(identifier.value()); }

base::Status CheckThreshold(uint16_t min_signers, size_t max_signers) {
  if (min_signers < 2 || max_signers > kMaxParticipants || min_signers > max_signers) {
    return base::Status::InvalidArgument("FROST needs 2 <= min_signers <= max_signers <= " +
                                         std::to_string(kMaxParticipants));
  }
  return base::Status::Ok();
}

base::Status CheckSortedUnique(std::span<const Identifier> identifiers, const char* what) {
  for (size_t i = 0; i < identifiers.size(); ++i) {
    if (!identifiers[i].valid() || (i > 0 && !(identifiers[i - 1] < identifiers[i]))) {
      return base::Status::InvalidArgument(std::string("FROST ") + what +
                                           " must be valid, sorted and unique");
    }
  }
  return base::Status::Ok();
}

std::vector<Identifier> Range(uint16_t count) {
  std::vector<Identifier> out;
  for (uint16_t i = 1; i <= count; ++i) {
    out.push_back(Identifier::Create(i).value());
  }
  return out;
}

// RandomCoefficients returns `secret` followed by count - 1 fresh random scalars, in guarded
// memory.
base::SecretBytes RandomPolynomial(const Scalar& secret, uint16_t count) {
  base::SecretBytes coefficients(static_cast<size_t>(count) * kScalarSize);
  std::copy(secret.begin(), secret.end(), coefficients.span().begin());
  for (size_t j = 1; j < count; ++j) {
    Scalar coefficient = internal::RandomScalar();
    std::copy(coefficient.begin(), coefficient.end(),
              coefficients.span().begin() + j * kScalarSize);
    WipeScalar(coefficient);
  }
  return coefficients;
}

// CheckShareAgainst verifies value·B == Σ C_j·x^j (vss_verify).
bool ShareMatches(Suite suite, std::span<const uint8_t> value, const VssCommitment& commitment,
                  Identifier x) {
  Scalar secret = CopyScalar(value);
  const Element actual = internal::BaseMul(suite, secret);
  WipeScalar(secret);
  auto expected = DeriveVerifyingShare(suite, commitment, x);
  return expected.ok() && sodium_memcmp(actual.data(), expected->data(), kElementSize) == 0;
}

// SumVerifyingShares returns Σ_dealers DeriveVerifyingShare(C_dealer, id) for every id: a summed
// commitment could hold the identity, which libsodium's ed25519 multiplication refuses, so each
// dealer's validated commitment is evaluated on its own.
base::Result<PublicKeyPackage> CombinePublic(Suite suite, uint16_t min_signers,
                                             std::span<const VssCommitment> commitments,
                                             std::span<const Identifier> participants) {
  PublicKeyPackage out;
  out.suite = suite;
  out.min_signers = min_signers;
  out.group_public_key = internal::Identity(suite);
  for (const VssCommitment& commitment : commitments) {
    out.group_public_key = internal::Add(suite, out.group_public_key, commitment.at(0));
  }
  if (internal::IsIdentity(suite, out.group_public_key)) {
    return base::Status::InvalidArgument("FROST group public key is the identity");
  }
  for (Identifier id : participants) {
    Element sum = internal::Identity(suite);
    for (const VssCommitment& commitment : commitments) {
      SIGNER_ASSIGN_OR_RETURN(const Element part, DeriveVerifyingShare(suite, commitment, id));
      sum = internal::Add(suite, sum, part);
    }
    if (internal::IsIdentity(suite, sum)) {
      return base::Status::InvalidArgument("FROST verifying share of participant " + Name(id) +
                                           " is the identity");
    }
    out.verifying_shares.emplace_back(id, sum);
  }
  return out;
}

base::Result<KeyPackage> MakeKeyPackage(const PublicKeyPackage& public_package, Identifier self,
                                        base::SecretBytes share) {
  KeyPackage key;
  key.suite = public_package.suite;
  key.identifier = self;
  key.min_signers = public_package.min_signers;
  key.group_public_key = public_package.group_public_key;
  SIGNER_ASSIGN_OR_RETURN(key.verifying_share, public_package.VerifyingShare(self));
  Scalar secret = CopyScalar(share.span());
  const Element derived = internal::BaseMul(key.suite, secret);
  WipeScalar(secret);
  if (derived != key.verifying_share) {
    return base::Status::Internal("FROST share does not match its verifying share");
  }
  key.signing_share = std::move(share);
  return key;
}

// ProofChallenge is the DKG proof-of-knowledge challenge c = HDkg(id || phi_0 || R).
Scalar ProofChallenge(Suite suite, Identifier identifier, const Element& constant_commitment,
                      const Element& proof_commitment) {
  const auto id = identifier.Encode();
  return internal::HDkg(suite, {id, constant_commitment, proof_commitment});
}

base::Status VerifyRound1Package(Suite suite, const DkgRound1Package& package,
                                 uint16_t min_signers) {
  if (package.commitment.size() != min_signers) {
    return base::Status::InvalidArgument("FROST DKG package from participant " +
                                         Name(package.identifier) + " commits to " +
                                         std::to_string(package.commitment.size()) +
                                         " coefficients, want " + std::to_string(min_signers));
  }
  if (!internal::IsCanonicalScalar(package.proof_response)) {
    return base::Status::InvalidArgument("FROST DKG proof from participant " +
                                         Name(package.identifier) + " is not canonical");
  }
  // R must equal mu·B - c·phi_0.
  const Scalar challenge =
      ProofChallenge(suite, package.identifier, package.commitment[0], package.proof_commitment);
  const Element recomputed = internal::Sub(suite, internal::BaseMul(suite, package.proof_response),
                                           internal::Mul(suite, challenge, package.commitment[0]));
  if (sodium_memcmp(recomputed.data(), package.proof_commitment.data(), kElementSize) != 0) {
    return base::Status::InvalidArgument("FROST DKG proof of knowledge from participant " +
                                         Name(package.identifier) + " is invalid");
  }
  return base::Status::Ok();
}

// CheckPeers verifies the peer set (everyone but self, once each) and every peer's proof.
base::Status CheckPeers(Suite suite, Identifier self, uint16_t min_signers, uint16_t max_signers,
                        std::span<const DkgRound1Package> peers) {
  if (peers.size() + 1 != max_signers) {
    return base::Status::InvalidArgument("FROST DKG needs a round-one package from each of the " +
                                         std::to_string(max_signers - 1) + " peers");
  }
  std::set<Identifier> seen;
  for (const DkgRound1Package& peer : peers) {
    if (!peer.identifier.valid() || peer.identifier.value() > max_signers ||
        peer.identifier == self || !seen.insert(peer.identifier).second) {
      return base::Status::InvalidArgument(
          "FROST DKG round-one package from unexpected participant " + Name(peer.identifier));
    }
    SIGNER_RETURN_IF_ERROR(VerifyRound1Package(suite, peer, min_signers));
  }
  return base::Status::Ok();
}

base::SecretBytes EvaluateToSecret(std::span<const uint8_t> coefficients, Identifier x) {
  Scalar value = internal::PolynomialEvaluate(coefficients, x);
  base::SecretBytes out = base::SecretBytes::CopyFrom(value);
  WipeScalar(value);
  return out;
}

void AddInto(Scalar& sum, std::span<const uint8_t> value) {
  Scalar addend = CopyScalar(value);
  Scalar next = internal::ScalarAdd(sum, addend);
  WipeScalar(sum);
  sum = next;
  WipeScalar(next);
  WipeScalar(addend);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// VSS and trusted dealer

base::Result<Element> DeriveVerifyingShare(Suite suite, const VssCommitment& commitment,
                                           Identifier identifier) {
  if (commitment.empty() || !identifier.valid()) {
    return base::Status::InvalidArgument("FROST VSS commitment is empty or identifier invalid");
  }
  const Scalar x = internal::ScalarFromInt(identifier.value());
  Scalar power = internal::ScalarFromInt(1);
  Element sum = internal::Identity(suite);
  for (const Element& entry : commitment) {
    sum = internal::Add(suite, sum, internal::Mul(suite, power, entry));
    power = internal::ScalarMul(power, x);
  }
  return sum;
}

std::vector<uint8_t> EncodeVssCommitment(const VssCommitment& commitment) {
  std::vector<uint8_t> out;
  out.push_back(static_cast<uint8_t>(commitment.size()));
  out.push_back(static_cast<uint8_t>(commitment.size() >> 8));
  for (const Element& entry : commitment) {
    out.insert(out.end(), entry.begin(), entry.end());
  }
  return out;
}

namespace {

// DecodeVssPrefix reads count(2) || count × element from the front of `bytes` and advances it.
base::Result<VssCommitment> DecodeVssPrefix(Suite suite, std::span<const uint8_t>& bytes) {
  if (bytes.size() < 2) {
    return base::Status::InvalidArgument("FROST VSS commitment is truncated");
  }
  const size_t count = static_cast<size_t>(bytes[0] | (bytes[1] << 8));
  if (count < 1 || count > kMaxParticipants || bytes.size() - 2 < count * kElementSize) {
    return base::Status::InvalidArgument("FROST VSS commitment has a bad count or length");
  }
  VssCommitment out;
  for (size_t j = 0; j < count; ++j) {
    SIGNER_ASSIGN_OR_RETURN(
        const Element entry,
        DecodeElement(suite, bytes.subspan(2 + j * kElementSize, kElementSize)));
    out.push_back(entry);
  }
  bytes = bytes.subspan(2 + count * kElementSize);
  return out;
}

}  // namespace

base::Result<VssCommitment> DecodeVssCommitment(Suite suite, std::span<const uint8_t> bytes) {
  SIGNER_ASSIGN_OR_RETURN(VssCommitment out, DecodeVssPrefix(suite, bytes));
  if (!bytes.empty()) {
    return base::Status::InvalidArgument("FROST VSS commitment has trailing bytes");
  }
  return out;
}

base::Result<DealerOutput> internal::TrustedDealerSplitWithCoefficients(
    Suite suite, std::span<const uint8_t> secret_scalar, std::span<const Scalar> coefficients,
    uint16_t max_signers) {
  EnsureSodium();
  if (coefficients.size() + 1 > kMaxParticipants) {
    return base::Status::InvalidArgument("FROST dealer: too many coefficients");
  }
  const uint16_t min_signers = static_cast<uint16_t>(coefficients.size() + 1);
  SIGNER_RETURN_IF_ERROR(CheckThreshold(min_signers, max_signers));
  if (!IsCanonicalScalar(secret_scalar) ||
      sodium_is_zero(secret_scalar.data(), secret_scalar.size()) == 1) {
    return base::Status::InvalidArgument(
        "FROST dealer: secret must be a canonical non-zero scalar");
  }
  base::SecretBytes polynomial(static_cast<size_t>(min_signers) * kScalarSize);
  std::copy(secret_scalar.begin(), secret_scalar.end(), polynomial.span().begin());
  for (size_t j = 0; j < coefficients.size(); ++j) {
    std::copy(coefficients[j].begin(), coefficients[j].end(),
              polynomial.span().begin() + (j + 1) * kScalarSize);
  }
  const VssCommitment commitment = VssCommit(suite, polynomial.span());
  for (const Element& entry : commitment) {
    if (IsIdentity(suite, entry)) {
      return base::Status::InvalidArgument("FROST dealer: a coefficient is zero");
    }
  }
  DealerOutput out;
  for (Identifier id : Range(max_signers)) {
    SecretShare share;
    share.suite = suite;
    share.identifier = id;
    share.value = EvaluateToSecret(polynomial.span(), id);
    share.commitment = commitment;
    out.shares.push_back(std::move(share));
  }
  const VssCommitment commitments[] = {commitment};
  SIGNER_ASSIGN_OR_RETURN(out.public_package,
                          CombinePublic(suite, min_signers, commitments, Range(max_signers)));
  return out;  // `polynomial` (the dealer's copy of the secret and coefficients) is wiped here
}

base::Result<DealerOutput> TrustedDealerSplit(Suite suite, std::span<const uint8_t> secret_scalar,
                                              uint16_t min_signers, uint16_t max_signers) {
  SIGNER_RETURN_IF_ERROR(CheckThreshold(min_signers, max_signers));
  std::vector<Scalar> coefficients;
  for (size_t j = 1; j < min_signers; ++j) {
    coefficients.push_back(internal::RandomScalar());
  }
  auto out =
      internal::TrustedDealerSplitWithCoefficients(suite, secret_scalar, coefficients, max_signers);
  for (Scalar& coefficient : coefficients) {
    WipeScalar(coefficient);
  }
  return out;
}

base::Result<DealerOutput> TrustedDealerSplitSr25519(const Sr25519Keypair& keypair,
                                                     uint16_t min_signers, uint16_t max_signers) {
  // The canonical secret is scalar || nonce; FROST shares only the scalar.
  if (keypair.secret().size() != kSr25519SecretSize) {
    return base::Status::InvalidArgument("sr25519 keypair has no secret");
  }
  return TrustedDealerSplit(Suite::kSr25519, keypair.secret().first(kScalarSize), min_signers,
                            max_signers);
}

base::Result<DealerOutput> TrustedDealerSplitEd25519(const Ed25519Keypair& keypair,
                                                     uint16_t min_signers, uint16_t max_signers) {
  internal::EnsureSodium();
  // RFC 8032: the secret scalar is the clamped first half of SHA-512(seed); reduced mod l it
  // names the same point, since B has order l.
  base::SecretBytes wide(64);
  crypto_hash_sha512(wide.data(), keypair.seed().data(), keypair.seed().size());
  wide.data()[0] &= 248;
  wide.data()[31] &= 127;
  wide.data()[31] |= 64;
  std::fill(wide.span().begin() + 32, wide.span().end(), 0);
  base::SecretBytes scalar(kScalarSize);
  crypto_core_ed25519_scalar_reduce(scalar.data(), wide.data());
  return TrustedDealerSplit(Suite::kEd25519, scalar.span(), min_signers, max_signers);
}

base::Result<KeyPackage> VerifySecretShare(const SecretShare& share) {
  if (!share.identifier.valid() || share.value.size() != kScalarSize ||
      !internal::IsCanonicalScalar(share.value.span())) {
    return base::Status::InvalidArgument("malformed FROST secret share");
  }
  if (share.commitment.size() < 2 || share.commitment.size() > kMaxParticipants) {
    return base::Status::InvalidArgument("FROST VSS commitment must have 2.." +
                                         std::to_string(kMaxParticipants) + " entries");
  }
  if (!ShareMatches(share.suite, share.value.span(), share.commitment, share.identifier)) {
    return base::Status::InvalidArgument("FROST share for participant " + Name(share.identifier) +
                                         " does not match the dealer's VSS commitment");
  }
  KeyPackage key;
  key.suite = share.suite;
  key.identifier = share.identifier;
  key.signing_share = base::SecretBytes::CopyFrom(share.value.span());
  SIGNER_ASSIGN_OR_RETURN(key.verifying_share,
                          DeriveVerifyingShare(share.suite, share.commitment, share.identifier));
  key.group_public_key = share.commitment[0];
  key.min_signers = static_cast<uint16_t>(share.commitment.size());
  return key;
}

// ---------------------------------------------------------------------------------------------
// DKG

std::vector<uint8_t> DkgRound1Package::Encode() const {
  std::vector<uint8_t> out;
  const auto id = identifier.Encode();
  out.insert(out.end(), id.begin(), id.end());
  const std::vector<uint8_t> vss = EncodeVssCommitment(commitment);
  out.insert(out.end(), vss.begin(), vss.end());
  out.insert(out.end(), proof_commitment.begin(), proof_commitment.end());
  out.insert(out.end(), proof_response.begin(), proof_response.end());
  return out;
}

base::Result<DkgRound1Package> DkgRound1Package::Decode(Suite suite,
                                                        std::span<const uint8_t> bytes) {
  if (bytes.size() < kIdentifierSize) {
    return base::Status::InvalidArgument("FROST DKG round-one package is truncated");
  }
  DkgRound1Package out;
  SIGNER_ASSIGN_OR_RETURN(out.identifier, Identifier::Decode(bytes.first(kIdentifierSize)));
  std::span<const uint8_t> rest = bytes.subspan(kIdentifierSize);
  SIGNER_ASSIGN_OR_RETURN(out.commitment, DecodeVssPrefix(suite, rest));
  if (rest.size() != kElementSize + kScalarSize) {
    return base::Status::InvalidArgument("FROST DKG round-one package has a bad proof length");
  }
  SIGNER_ASSIGN_OR_RETURN(out.proof_commitment, DecodeElement(suite, rest.first(kElementSize)));
  SIGNER_ASSIGN_OR_RETURN(out.proof_response, DecodeScalar(rest.subspan(kElementSize)));
  return out;
}

base::SecretBytes DkgShare::Encode() const {
  base::SecretBytes out(2 * kIdentifierSize + kScalarSize);
  const auto from = sender.Encode();
  const auto to = recipient.Encode();
  std::copy(from.begin(), from.end(), out.span().begin());
  std::copy(to.begin(), to.end(), out.span().begin() + kIdentifierSize);
  if (value.size() == kScalarSize) {
    std::copy(value.span().begin(), value.span().end(), out.span().begin() + 2 * kIdentifierSize);
  }
  return out;
}

base::Result<DkgShare> DkgShare::Decode(std::span<const uint8_t> bytes) {
  if (bytes.size() != 2 * kIdentifierSize + kScalarSize) {
    return base::Status::InvalidArgument("FROST DKG share must be 96 bytes");
  }
  DkgShare out;
  SIGNER_ASSIGN_OR_RETURN(out.sender, Identifier::Decode(bytes.first(kIdentifierSize)));
  SIGNER_ASSIGN_OR_RETURN(out.recipient,
                          Identifier::Decode(bytes.subspan(kIdentifierSize, kIdentifierSize)));
  const std::span<const uint8_t> value = bytes.subspan(2 * kIdentifierSize);
  if (!internal::IsCanonicalScalar(value)) {
    return base::Status::InvalidArgument("FROST DKG share value is not canonical");
  }
  out.value = base::SecretBytes::CopyFrom(value);
  return out;
}

base::Result<DkgRound1Output> DkgRound1(Suite suite, Identifier self, uint16_t min_signers,
                                        uint16_t max_signers) {
  internal::EnsureSodium();
  SIGNER_RETURN_IF_ERROR(CheckThreshold(min_signers, max_signers));
  if (!self.valid() || self.value() > max_signers) {
    return base::Status::InvalidArgument("FROST DKG identifier must be in 1..max_signers");
  }
  DkgRound1Output out;
  DkgSecret& secret = out.secret;
  DkgAccess::SuiteOf(secret) = suite;
  DkgAccess::Self(secret) = self;
  DkgAccess::MinSigners(secret) = min_signers;
  DkgAccess::MaxSigners(secret) = max_signers;
  Scalar constant = internal::RandomScalar();
  DkgAccess::Coefficients(secret) = RandomPolynomial(constant, min_signers);
  DkgAccess::Commitment(secret) =
      internal::VssCommit(suite, DkgAccess::Coefficients(secret).span());

  // Schnorr proof of knowledge of the constant term, bound to our identifier (FROST paper, round 1
  // step 2): k random, R = k·B, c = HDkg(id || phi_0 || R), mu = k + a_0·c.
  Scalar k = internal::RandomScalar();
  out.package.identifier = self;
  out.package.commitment = DkgAccess::Commitment(secret);
  out.package.proof_commitment = internal::BaseMul(suite, k);
  const Scalar challenge =
      ProofChallenge(suite, self, out.package.commitment[0], out.package.proof_commitment);
  Scalar weighted = internal::ScalarMul(constant, challenge);
  out.package.proof_response = internal::ScalarAdd(k, weighted);
  for (Scalar* temporary : {&constant, &k, &weighted}) {
    WipeScalar(*temporary);
  }
  return out;
}

base::Result<DkgRound2Output> DkgRound2(DkgSecret&& secret_in,
                                        std::span<const DkgRound1Package> peers) {
  DkgSecret secret = std::move(secret_in);
  if (secret.empty()) {
    return base::Status::FailedPrecondition("FROST DKG secret is empty (already used)");
  }
  const Suite suite = DkgAccess::SuiteOf(secret);
  const Identifier self = DkgAccess::Self(secret);
  SIGNER_RETURN_IF_ERROR(
      CheckPeers(suite, self, DkgAccess::MinSigners(secret), DkgAccess::MaxSigners(secret), peers));
  DkgRound2Output out;
  for (const DkgRound1Package& peer : peers) {
    DkgShare share;
    share.sender = self;
    share.recipient = peer.identifier;
    share.value = EvaluateToSecret(DkgAccess::Coefficients(secret).span(), peer.identifier);
    out.shares.push_back(std::move(share));
  }
  out.secret = std::move(secret);
  return out;
}

base::Result<DkgResult> DkgFinalize(DkgSecret&& secret_in, std::span<const DkgRound1Package> peers,
                                    std::span<const DkgShare> received) {
  DkgSecret secret = std::move(secret_in);
  if (secret.empty()) {
    return base::Status::FailedPrecondition("FROST DKG secret is empty (already used)");
  }
  const Suite suite = DkgAccess::SuiteOf(secret);
  const Identifier self = DkgAccess::Self(secret);
  const uint16_t min_signers = DkgAccess::MinSigners(secret);
  const uint16_t max_signers = DkgAccess::MaxSigners(secret);
  SIGNER_RETURN_IF_ERROR(CheckPeers(suite, self, min_signers, max_signers, peers));
  if (received.size() != peers.size()) {
    return base::Status::InvalidArgument("FROST DKG needs one share from each peer");
  }
  std::vector<VssCommitment> commitments = {DkgAccess::Commitment(secret)};
  Scalar sum = internal::PolynomialEvaluate(DkgAccess::Coefficients(secret).span(), self);
  std::set<Identifier> seen;
  for (const DkgShare& share : received) {
    const auto peer = std::find_if(peers.begin(), peers.end(), [&](const DkgRound1Package& p) {
      return p.identifier == share.sender;
    });
    if (peer == peers.end() || share.recipient != self || !seen.insert(share.sender).second ||
        share.value.size() != kScalarSize || !internal::IsCanonicalScalar(share.value.span())) {
      WipeScalar(sum);
      return base::Status::InvalidArgument("FROST DKG share from participant " +
                                           Name(share.sender) +
                                           " is unexpected, repeated or malformed");
    }
    if (!ShareMatches(suite, share.value.span(), peer->commitment, self)) {
      WipeScalar(sum);
      return base::Status::InvalidArgument("FROST DKG share from participant " +
                                           Name(share.sender) +
                                           " does not match its commitment (cheating dealer)");
    }
    AddInto(sum, share.value.span());
  }
  for (const DkgRound1Package& peer : peers) {
    commitments.push_back(peer.commitment);
  }
  base::SecretBytes share = base::SecretBytes::CopyFrom(sum);
  WipeScalar(sum);
  DkgResult out;
  SIGNER_ASSIGN_OR_RETURN(out.public_package,
                          CombinePublic(suite, min_signers, commitments, Range(max_signers)));
  SIGNER_ASSIGN_OR_RETURN(out.key_package,
                          MakeKeyPackage(out.public_package, self, std::move(share)));
  return out;  // `secret` (this participant's polynomial) is wiped here
}

// ---------------------------------------------------------------------------------------------
// Resharing

base::Result<ReshareDealing> ReshareDeal(const KeyPackage& key_package,
                                         std::span<const Identifier> old_signers,
                                         uint16_t new_min_signers,
                                         std::span<const Identifier> new_participants) {
  internal::EnsureSodium();
  SIGNER_RETURN_IF_ERROR(CheckSortedUnique(old_signers, "old signers"));
  SIGNER_RETURN_IF_ERROR(CheckSortedUnique(new_participants, "new participants"));
  SIGNER_RETURN_IF_ERROR(CheckThreshold(new_min_signers, new_participants.size()));
  if (key_package.signing_share.size() != kScalarSize ||
      old_signers.size() < key_package.min_signers ||
      !std::binary_search(old_signers.begin(), old_signers.end(), key_package.identifier)) {
    return base::Status::InvalidArgument(
        "FROST reshare: the old signer set must hold min_signers holders including this one");
  }
  const Suite suite = key_package.suite;
  // g_i(0) = lambda_i·s_i, so Σ g_i(0) over the old signers is the group secret.
  const Scalar lambda = internal::LagrangeCoefficient(old_signers, key_package.identifier);
  Scalar share = CopyScalar(key_package.signing_share.span());
  Scalar constant = internal::ScalarMul(lambda, share);
  WipeScalar(share);
  const base::SecretBytes polynomial = RandomPolynomial(constant, new_min_signers);
  WipeScalar(constant);
  ReshareDealing out;
  out.dealer = key_package.identifier;
  out.commitment = internal::VssCommit(suite, polynomial.span());
  for (Identifier recipient : new_participants) {
    DkgShare dealt;
    dealt.sender = key_package.identifier;
    dealt.recipient = recipient;
    dealt.value = EvaluateToSecret(polynomial.span(), recipient);
    out.shares.push_back(std::move(dealt));
  }
  return out;
}

base::Result<DkgResult> ReshareFinalize(
    const PublicKeyPackage& old_public_package, std::span<const Identifier> old_signers,
    uint16_t new_min_signers, std::span<const Identifier> new_participants, Identifier self,
    std::span<const VssCommitment> dealer_commitments, std::span<const DkgShare> received) {
  const Suite suite = old_public_package.suite;
  SIGNER_RETURN_IF_ERROR(CheckSortedUnique(old_signers, "old signers"));
  SIGNER_RETURN_IF_ERROR(CheckSortedUnique(new_participants, "new participants"));
  SIGNER_RETURN_IF_ERROR(CheckThreshold(new_min_signers, new_participants.size()));
  if (old_signers.size() < old_public_package.min_signers ||
      dealer_commitments.size() != old_signers.size() || received.size() != old_signers.size() ||
      !std::binary_search(new_participants.begin(), new_participants.end(), self)) {
    return base::Status::InvalidArgument(
        "FROST reshare needs one commitment and one share from each old signer, for a new "
        "participant");
  }
  Scalar sum{};
  for (size_t i = 0; i < old_signers.size(); ++i) {
    const Identifier dealer = old_signers[i];
    const VssCommitment& commitment = dealer_commitments[i];
    const DkgShare& share = received[i];
    auto fail = [&](const std::string& why) {
      WipeScalar(sum);
      return base::Status::InvalidArgument("FROST reshare dealing from participant " +
                                           Name(dealer) + " " + why);
    };
    if (commitment.size() != new_min_signers) {
      return fail("commits to the wrong number of coefficients");
    }
    auto old_verifying_share = old_public_package.VerifyingShare(dealer);
    if (!old_verifying_share.ok()) {
      return fail("comes from an unknown participant");
    }
    // The dealer must have dealt exactly lambda_i times its own share.
    const Scalar lambda = internal::LagrangeCoefficient(old_signers, dealer);
    const Element expected_constant = internal::Mul(suite, lambda, *old_verifying_share);
    if (expected_constant != commitment[0]) {
      return fail("does not deal its own Lagrange-weighted share");
    }
    if (share.sender != dealer || share.recipient != self || share.value.size() != kScalarSize ||
        !internal::IsCanonicalScalar(share.value.span())) {
      return fail("has a misaddressed or malformed share");
    }
    if (!ShareMatches(suite, share.value.span(), commitment, self)) {
      return fail("has a share that does not match its commitment");
    }
    AddInto(sum, share.value.span());
  }
  base::SecretBytes share = base::SecretBytes::CopyFrom(sum);
  WipeScalar(sum);
  DkgResult out;
  SIGNER_ASSIGN_OR_RETURN(out.public_package, CombinePublic(suite, new_min_signers,
                                                            dealer_commitments, new_participants));
  if (out.public_package.group_public_key != old_public_package.group_public_key) {
    return base::Status::InvalidArgument("FROST reshare changed the group public key");
  }
  SIGNER_ASSIGN_OR_RETURN(out.key_package,
                          MakeKeyPackage(out.public_package, self, std::move(share)));
  return out;
}

}  // namespace keymgr::frost
