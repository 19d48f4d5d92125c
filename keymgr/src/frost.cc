// FROST signing (RFC 9591 sections 4-5): commitments, signature shares, share verification,
// aggregation, codecs.
#include "keymgr/frost.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "frost_internal.h"
#include "keymgr/sr25519.h"

namespace keymgr::frost {
namespace {

using internal::CopyScalar;
using internal::WipeScalar;

// The schnorrkel marker bit: set in the top bit of s, which a canonical s (< 2^253) never uses.
constexpr uint8_t kSr25519MarkerBit = 0x80;

void AppendU16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value));
  out.push_back(static_cast<uint8_t>(value >> 8));
}

uint16_t ReadU16(std::span<const uint8_t> bytes) {
  return static_cast<uint16_t>(bytes[0] | (bytes[1] << 8));
}

std::string Name(Identifier identifier) { return std::to_string(identifier.value()); }

base::Result<Suite> DecodeSuite(uint8_t byte) {
  if (byte < static_cast<uint8_t>(Suite::kEd25519) ||
      byte > static_cast<uint8_t>(Suite::kSr25519)) {
    return base::Status::InvalidArgument("unknown FROST suite byte");
  }
  return static_cast<Suite>(byte);
}

// FindCommitments returns the index of `identifier` in a checked (sorted) list, or the list size.
size_t FindCommitments(std::span<const SigningCommitments> list, Identifier identifier) {
  const auto found = std::lower_bound(
      list.begin(), list.end(), identifier,
      [](const SigningCommitments& entry, Identifier id) { return entry.identifier < id; });
  if (found == list.end() || found->identifier != identifier) {
    return list.size();
  }
  return static_cast<size_t>(found - list.begin());
}

std::vector<Identifier> Participants(std::span<const SigningCommitments> list) {
  std::vector<Identifier> identifiers;
  identifiers.reserve(list.size());
  for (const SigningCommitments& entry : list) {
    identifiers.push_back(entry.identifier);
  }
  return identifiers;
}

// SigningContext is what both the signer and the share verifier derive from the public inputs.
struct SigningContext {
  std::vector<Scalar> binding_factors;
  Element group_commitment{};
  Scalar challenge{};
};

base::Result<SigningContext> DeriveSigningContext(Suite suite, const Element& group_public_key,
                                                  std::span<const SigningCommitments> list,
                                                  std::span<const uint8_t> message) {
  SigningContext context;
  context.binding_factors = internal::BindingFactors(suite, group_public_key, list, message);
  SIGNER_ASSIGN_OR_RETURN(context.group_commitment,
                          internal::GroupCommitment(suite, list, context.binding_factors));
  context.challenge =
      internal::SigningChallenge(suite, context.group_commitment, group_public_key, message);
  return context;
}

base::Status CheckKeyPackage(const KeyPackage& key_package) {
  if (!key_package.identifier.valid() || key_package.signing_share.size() != kScalarSize ||
      !internal::IsCanonicalScalar(key_package.signing_share.span()) ||
      key_package.min_signers < 2 || key_package.min_signers > kMaxParticipants) {
    return base::Status::InvalidArgument("malformed FROST key package");
  }
  return base::Status::Ok();
}

Signature EncodeSignature(Suite suite, const Element& group_commitment, const Scalar& z) {
  Signature signature;
  std::copy(group_commitment.begin(), group_commitment.end(), signature.begin());
  std::copy(z.begin(), z.end(), signature.begin() + kElementSize);
  if (suite == Suite::kSr25519) {
    signature[kSignatureSize - 1] |= kSr25519MarkerBit;
  }
  return signature;
}

bool VerifyRistretto(std::span<const uint8_t> group_public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature) {
  auto public_key = DecodeElement(Suite::kRistretto255, group_public_key);
  auto commitment = DecodeElement(Suite::kRistretto255, signature.first(kElementSize));
  auto z = DecodeScalar(signature.subspan(kElementSize));
  if (!public_key.ok() || !commitment.ok() || !z.ok()) {
    return false;
  }
  const Scalar challenge =
      internal::SigningChallenge(Suite::kRistretto255, *commitment, *public_key, message);
  // z·B - c·PK must equal R.
  const Element recomputed =
      internal::Sub(Suite::kRistretto255, internal::BaseMul(Suite::kRistretto255, *z),
                    internal::Mul(Suite::kRistretto255, challenge, *public_key));
  return sodium_memcmp(recomputed.data(), commitment->data(), kElementSize) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Codecs

std::array<uint8_t, kCommitmentsSize> SigningCommitments::Encode() const {
  std::array<uint8_t, kCommitmentsSize> out;
  const auto id = identifier.Encode();
  std::copy(id.begin(), id.end(), out.begin());
  std::copy(hiding.begin(), hiding.end(), out.begin() + kIdentifierSize);
  std::copy(binding.begin(), binding.end(), out.begin() + kIdentifierSize + kElementSize);
  return out;
}

base::Result<SigningCommitments> SigningCommitments::Decode(Suite suite,
                                                            std::span<const uint8_t> bytes) {
  if (bytes.size() != kCommitmentsSize) {
    return base::Status::InvalidArgument("FROST signing commitments must be 96 bytes");
  }
  SigningCommitments out;
  SIGNER_ASSIGN_OR_RETURN(out.identifier, Identifier::Decode(bytes.first(kIdentifierSize)));
  SIGNER_ASSIGN_OR_RETURN(out.hiding,
                          DecodeElement(suite, bytes.subspan(kIdentifierSize, kElementSize)));
  SIGNER_ASSIGN_OR_RETURN(
      out.binding,
      DecodeElement(suite, bytes.subspan(kIdentifierSize + kElementSize, kElementSize)));
  return out;
}

std::vector<uint8_t> EncodeCommitmentList(std::span<const SigningCommitments> list) {
  std::vector<uint8_t> out;
  out.reserve(list.size() * kCommitmentsSize);
  for (const SigningCommitments& entry : list) {
    const auto encoded = entry.Encode();
    out.insert(out.end(), encoded.begin(), encoded.end());
  }
  return out;
}

base::Status CheckCommitmentList(std::span<const SigningCommitments> list) {
  if (list.empty() || list.size() > kMaxParticipants) {
    return base::Status::InvalidArgument("FROST commitment list must have 1.." +
                                         std::to_string(kMaxParticipants) + " entries");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].identifier.valid()) {
      return base::Status::InvalidArgument("FROST commitment list has an invalid identifier");
    }
    if (i > 0 && !(list[i - 1].identifier < list[i].identifier)) {
      return base::Status::InvalidArgument(
          "FROST commitment list is not strictly sorted by identifier (at participant " +
          Name(list[i].identifier) + ")");
    }
  }
  return base::Status::Ok();
}

base::Result<CommitmentList> MakeCommitmentList(std::vector<SigningCommitments> commitments) {
  std::sort(commitments.begin(), commitments.end(),
            [](const SigningCommitments& a, const SigningCommitments& b) {
              return a.identifier < b.identifier;
            });
  SIGNER_RETURN_IF_ERROR(CheckCommitmentList(commitments));
  return commitments;
}

base::Result<CommitmentList> DecodeCommitmentList(Suite suite, std::span<const uint8_t> bytes) {
  if (bytes.empty() || bytes.size() % kCommitmentsSize != 0 ||
      bytes.size() / kCommitmentsSize > kMaxParticipants) {
    return base::Status::InvalidArgument("FROST commitment list must be 1.." +
                                         std::to_string(kMaxParticipants) + " entries of 96 bytes");
  }
  CommitmentList list;
  for (size_t offset = 0; offset < bytes.size(); offset += kCommitmentsSize) {
    SIGNER_ASSIGN_OR_RETURN(
        auto entry, SigningCommitments::Decode(suite, bytes.subspan(offset, kCommitmentsSize)));
    list.push_back(entry);
  }
  SIGNER_RETURN_IF_ERROR(CheckCommitmentList(list));
  return list;
}

std::array<uint8_t, kSignatureShareSize> SignatureShare::Encode() const {
  std::array<uint8_t, kSignatureShareSize> out;
  const auto id = identifier.Encode();
  std::copy(id.begin(), id.end(), out.begin());
  std::copy(share.begin(), share.end(), out.begin() + kIdentifierSize);
  return out;
}

base::Result<SignatureShare> SignatureShare::Decode(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSignatureShareSize) {
    return base::Status::InvalidArgument("FROST signature share must be 64 bytes");
  }
  SignatureShare out;
  SIGNER_ASSIGN_OR_RETURN(out.identifier, Identifier::Decode(bytes.first(kIdentifierSize)));
  SIGNER_ASSIGN_OR_RETURN(out.share, DecodeScalar(bytes.subspan(kIdentifierSize)));
  return out;
}

base::SecretBytes KeyPackage::Serialize() const {
  constexpr size_t kSize = 1 + kIdentifierSize + 2 + kScalarSize + 2 * kElementSize;
  base::SecretBytes out(kSize);
  std::span<uint8_t> bytes = out.span();
  bytes[0] = static_cast<uint8_t>(suite);
  const auto id = identifier.Encode();
  std::copy(id.begin(), id.end(), bytes.begin() + 1);
  bytes[1 + kIdentifierSize] = static_cast<uint8_t>(min_signers);
  bytes[2 + kIdentifierSize] = static_cast<uint8_t>(min_signers >> 8);
  size_t offset = 3 + kIdentifierSize;
  if (signing_share.size() == kScalarSize) {
    std::copy(signing_share.span().begin(), signing_share.span().end(), bytes.begin() + offset);
  }
  offset += kScalarSize;
  std::copy(verifying_share.begin(), verifying_share.end(), bytes.begin() + offset);
  offset += kElementSize;
  std::copy(group_public_key.begin(), group_public_key.end(), bytes.begin() + offset);
  return out;
}

base::Result<KeyPackage> KeyPackage::Parse(std::span<const uint8_t> bytes) {
  constexpr size_t kSize = 1 + kIdentifierSize + 2 + kScalarSize + 2 * kElementSize;
  if (bytes.size() != kSize) {
    return base::Status::InvalidArgument("FROST key package must be " + std::to_string(kSize) +
                                         " bytes");
  }
  KeyPackage out;
  SIGNER_ASSIGN_OR_RETURN(out.suite, DecodeSuite(bytes[0]));
  SIGNER_ASSIGN_OR_RETURN(out.identifier, Identifier::Decode(bytes.subspan(1, kIdentifierSize)));
  out.min_signers = ReadU16(bytes.subspan(1 + kIdentifierSize, 2));
  size_t offset = 3 + kIdentifierSize;
  const std::span<const uint8_t> share = bytes.subspan(offset, kScalarSize);
  if (!internal::IsCanonicalScalar(share)) {
    return base::Status::InvalidArgument("FROST key package share is not a canonical scalar");
  }
  out.signing_share = base::SecretBytes::CopyFrom(share);
  offset += kScalarSize;
  SIGNER_ASSIGN_OR_RETURN(out.verifying_share,
                          DecodeElement(out.suite, bytes.subspan(offset, kElementSize)));
  offset += kElementSize;
  SIGNER_ASSIGN_OR_RETURN(out.group_public_key,
                          DecodeElement(out.suite, bytes.subspan(offset, kElementSize)));
  SIGNER_RETURN_IF_ERROR(CheckKeyPackage(out));
  Scalar secret = CopyScalar(out.signing_share.span());
  const Element derived = internal::BaseMul(out.suite, secret);
  WipeScalar(secret);
  if (derived != out.verifying_share) {
    return base::Status::InvalidArgument(
        "FROST key package share does not match its verifying share");
  }
  return out;
}

base::Result<Element> PublicKeyPackage::VerifyingShare(Identifier identifier) const {
  for (const auto& [id, share] : verifying_shares) {
    if (id == identifier) {
      return share;
    }
  }
  return base::Status::NotFound("no FROST participant " + Name(identifier) + " in this key");
}

std::vector<uint8_t> PublicKeyPackage::Serialize() const {
  std::vector<uint8_t> out;
  out.push_back(static_cast<uint8_t>(suite));
  AppendU16(out, min_signers);
  AppendU16(out, static_cast<uint16_t>(verifying_shares.size()));
  out.insert(out.end(), group_public_key.begin(), group_public_key.end());
  for (const auto& [id, share] : verifying_shares) {
    const auto encoded = id.Encode();
    out.insert(out.end(), encoded.begin(), encoded.end());
    out.insert(out.end(), share.begin(), share.end());
  }
  return out;
}

base::Result<PublicKeyPackage> PublicKeyPackage::Parse(std::span<const uint8_t> bytes) {
  constexpr size_t kHeader = 1 + 2 + 2 + kElementSize;
  constexpr size_t kEntry = kIdentifierSize + kElementSize;
  if (bytes.size() < kHeader) {
    return base::Status::InvalidArgument("FROST public key package is truncated");
  }
  PublicKeyPackage out;
  SIGNER_ASSIGN_OR_RETURN(out.suite, DecodeSuite(bytes[0]));
  out.min_signers = ReadU16(bytes.subspan(1, 2));
  const size_t count = ReadU16(bytes.subspan(3, 2));
  if (count > kMaxParticipants || out.min_signers < 2 || out.min_signers > count ||
      bytes.size() != kHeader + count * kEntry) {
    return base::Status::InvalidArgument("FROST public key package has a bad count or length");
  }
  SIGNER_ASSIGN_OR_RETURN(out.group_public_key,
                          DecodeElement(out.suite, bytes.subspan(5, kElementSize)));
  for (size_t i = 0; i < count; ++i) {
    const std::span<const uint8_t> entry = bytes.subspan(kHeader + i * kEntry, kEntry);
    SIGNER_ASSIGN_OR_RETURN(const Identifier id, Identifier::Decode(entry.first(kIdentifierSize)));
    SIGNER_ASSIGN_OR_RETURN(const Element share,
                            DecodeElement(out.suite, entry.subspan(kIdentifierSize)));
    if (!out.verifying_shares.empty() && !(out.verifying_shares.back().first < id)) {
      return base::Status::InvalidArgument("FROST public key package is not sorted by identifier");
    }
    out.verifying_shares.emplace_back(id, share);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signing

base::Result<Round1> internal::CommitWithRandomness(const KeyPackage& key_package,
                                                    std::span<const uint8_t> hiding_randomness,
                                                    std::span<const uint8_t> binding_randomness) {
  SIGNER_RETURN_IF_ERROR(CheckKeyPackage(key_package));
  const Suite suite = key_package.suite;
  Scalar hiding = NonceGenerate(suite, hiding_randomness, key_package.signing_share.span());
  Scalar binding = NonceGenerate(suite, binding_randomness, key_package.signing_share.span());
  Round1 out;
  base::SecretBytes& secret = NoncesAccess::Secret(out.nonces);
  secret = base::SecretBytes(2 * kScalarSize);
  std::copy(hiding.begin(), hiding.end(), secret.span().begin());
  std::copy(binding.begin(), binding.end(), secret.span().begin() + kScalarSize);
  out.commitments.identifier = key_package.identifier;
  out.commitments.hiding = BaseMul(suite, hiding);
  out.commitments.binding = BaseMul(suite, binding);
  WipeScalar(hiding);
  WipeScalar(binding);
  NoncesAccess::Commitments(out.nonces) = out.commitments;
  return out;
}

base::Result<Round1> Commit(const KeyPackage& key_package) {
  internal::EnsureSodium();
  std::array<uint8_t, 32> hiding_randomness;
  std::array<uint8_t, 32> binding_randomness;
  randombytes_buf(hiding_randomness.data(), hiding_randomness.size());
  randombytes_buf(binding_randomness.data(), binding_randomness.size());
  auto out = internal::CommitWithRandomness(key_package, hiding_randomness, binding_randomness);
  base::Wipe(hiding_randomness);
  base::Wipe(binding_randomness);
  return out;
}

base::Result<SignatureShare> Sign(const KeyPackage& key_package, SigningNonces&& nonces,
                                  std::span<const uint8_t> message,
                                  std::span<const SigningCommitments> commitment_list) {
  // Take the nonces out first: whatever happens below, they are wiped when `secret` goes out of
  // scope and the caller's object is left empty.
  const base::SecretBytes secret = std::move(NoncesAccess::Secret(nonces));
  const SigningCommitments own = NoncesAccess::Commitments(nonces);
  if (secret.size() != 2 * kScalarSize) {
    return base::Status::FailedPrecondition("FROST nonces are empty (already used or never made)");
  }
  SIGNER_RETURN_IF_ERROR(CheckKeyPackage(key_package));
  SIGNER_RETURN_IF_ERROR(CheckCommitmentList(commitment_list));
  if (commitment_list.size() < key_package.min_signers) {
    return base::Status::InvalidArgument(
        "FROST commitment list has fewer than min_signers entries");
  }
  const size_t index = FindCommitments(commitment_list, key_package.identifier);
  if (own.identifier != key_package.identifier || index == commitment_list.size() ||
      commitment_list[index] != own) {
    return base::Status::InvalidArgument(
        "FROST commitment list does not carry this participant's own commitments");
  }
  const Suite suite = key_package.suite;
  SIGNER_ASSIGN_OR_RETURN(
      const SigningContext context,
      DeriveSigningContext(suite, key_package.group_public_key, commitment_list, message));
  const Scalar lambda =
      internal::LagrangeCoefficient(Participants(commitment_list), key_package.identifier);

  // z_i = d_i + e_i·rho_i + lambda_i·s_i·c
  Scalar hiding = CopyScalar(secret.span().first(kScalarSize));
  Scalar binding = CopyScalar(secret.span().subspan(kScalarSize));
  Scalar share = CopyScalar(key_package.signing_share.span());
  Scalar bound = internal::ScalarMul(binding, context.binding_factors[index]);
  Scalar weighted = internal::ScalarMul(internal::ScalarMul(lambda, share), context.challenge);
  Scalar partial = internal::ScalarAdd(hiding, bound);
  SignatureShare out;
  out.identifier = key_package.identifier;
  out.share = internal::ScalarAdd(partial, weighted);
  for (Scalar* temporary : {&hiding, &binding, &share, &bound, &weighted, &partial}) {
    WipeScalar(*temporary);
  }
  return out;
}

base::Status VerifySignatureShare(const PublicKeyPackage& public_package,
                                  std::span<const uint8_t> message,
                                  std::span<const SigningCommitments> commitment_list,
                                  const SignatureShare& share) {
  SIGNER_RETURN_IF_ERROR(CheckCommitmentList(commitment_list));
  SIGNER_ASSIGN_OR_RETURN(const Element verifying_share,
                          public_package.VerifyingShare(share.identifier));
  const size_t index = FindCommitments(commitment_list, share.identifier);
  if (index == commitment_list.size()) {
    return base::Status::InvalidArgument("FROST participant " + Name(share.identifier) +
                                         " sent a share but has no commitments in the list");
  }
  if (!internal::IsCanonicalScalar(share.share)) {
    return base::Status::InvalidArgument("FROST signature share from participant " +
                                         Name(share.identifier) + " is not canonical");
  }
  const Suite suite = public_package.suite;
  SIGNER_ASSIGN_OR_RETURN(
      const SigningContext context,
      DeriveSigningContext(suite, public_package.group_public_key, commitment_list, message));
  const Scalar lambda =
      internal::LagrangeCoefficient(Participants(commitment_list), share.identifier);
  const SigningCommitments& commitments = commitment_list[index];
  // z_i·B must equal D_i + rho_i·E_i + (c·lambda_i)·PK_i.
  const Element commitment_share =
      internal::Add(suite, commitments.hiding,
                    internal::Mul(suite, context.binding_factors[index], commitments.binding));
  const Element expected = internal::Add(
      suite, commitment_share,
      internal::Mul(suite, internal::ScalarMul(context.challenge, lambda), verifying_share));
  const Element actual = internal::BaseMul(suite, share.share);
  if (sodium_memcmp(expected.data(), actual.data(), kElementSize) != 0) {
    return base::Status::InvalidArgument("FROST signature share from participant " +
                                         Name(share.identifier) + " is invalid");
  }
  return base::Status::Ok();
}

base::Result<Signature> Aggregate(const PublicKeyPackage& public_package,
                                  std::span<const uint8_t> message,
                                  std::span<const SigningCommitments> commitment_list,
                                  std::span<const SignatureShare> shares,
                                  std::vector<Identifier>* invalid_shares) {
  if (invalid_shares != nullptr) {
    invalid_shares->clear();
  }
  SIGNER_RETURN_IF_ERROR(CheckCommitmentList(commitment_list));
  if (commitment_list.size() < public_package.min_signers) {
    return base::Status::InvalidArgument(
        "FROST commitment list has fewer than min_signers entries");
  }
  if (shares.size() != commitment_list.size()) {
    return base::Status::InvalidArgument("FROST aggregate needs exactly one share per commitment");
  }
  std::vector<bool> seen(commitment_list.size(), false);
  Scalar z{};
  for (const SignatureShare& share : shares) {
    const size_t index = FindCommitments(commitment_list, share.identifier);
    if (index == commitment_list.size() || seen[index]) {
      return base::Status::InvalidArgument("FROST share from participant " +
                                           Name(share.identifier) + " is unexpected or repeated");
    }
    seen[index] = true;
    if (!internal::IsCanonicalScalar(share.share)) {
      return base::Status::InvalidArgument("FROST signature share from participant " +
                                           Name(share.identifier) + " is not canonical");
    }
    z = internal::ScalarAdd(z, share.share);
  }
  const Suite suite = public_package.suite;
  const std::vector<Scalar> binding_factors =
      internal::BindingFactors(suite, public_package.group_public_key, commitment_list, message);
  SIGNER_ASSIGN_OR_RETURN(const Element group_commitment,
                          internal::GroupCommitment(suite, commitment_list, binding_factors));
  const Signature signature = EncodeSignature(suite, group_commitment, z);
  if (VerifySignature(suite, public_package.group_public_key, message, signature)) {
    return signature;
  }
  // The cheap check failed: find out who cheated, so the coordinator can drop them and retry.
  std::string culprits;
  for (const SignatureShare& share : shares) {
    if (!VerifySignatureShare(public_package, message, commitment_list, share).ok()) {
      culprits += (culprits.empty() ? "" : ", ") + Name(share.identifier);
      if (invalid_shares != nullptr) {
        invalid_shares->push_back(share.identifier);
      }
    }
  }
  if (culprits.empty()) {
    return base::Status::Internal(
        "FROST aggregate does not verify although every share does (wrong public key package?)");
  }
  return base::Status::InvalidArgument("FROST signature shares from participants " + culprits +
                                       " are invalid");
}

bool VerifySignature(Suite suite, std::span<const uint8_t> group_public_key,
                     std::span<const uint8_t> message, std::span<const uint8_t> signature) {
  internal::EnsureSodium();
  if (group_public_key.size() != kElementSize || signature.size() != kSignatureSize) {
    return false;
  }
  switch (suite) {
    case Suite::kEd25519:
      return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                         group_public_key.data()) == 0;
    case Suite::kSr25519:
      return Sr25519Verify(group_public_key, message, signature);
    case Suite::kRistretto255:
      return VerifyRistretto(group_public_key, message, signature);
  }
  return false;
}

}  // namespace keymgr::frost
