// FROST threshold Schnorr signatures (RFC 9591) for ed25519, ristretto255 and sr25519: keys,
// rounds, wire forms.
//
// The signing flow, for a key held as t-of-n shares:
//   1. Each participant: Commit(key_package) -> Round1 {nonces (secret), commitments}.
//   2. The coordinator collects at least t SigningCommitments into a CommitmentList (sorted by
//      identifier).
//   3. Each participant: Sign(key_package, std::move(nonces), message, commitment_list) ->
//      SignatureShare.
//   4. The coordinator: Aggregate(public_package, message, commitment_list, shares) -> Signature;
//      on failure it names the participants whose shares are invalid (VerifySignatureShare checks
//      one share alone).
// Keys come from TrustedDealerSplit (RFC 9591 appendix C, with VSS), the Pedersen DKG of the FROST
// paper (DkgRound1 / DkgRound2 / DkgFinalize), or resharing an existing key to a new set
// (ReshareDeal / ReshareFinalize). Every message a participant receives from the network has a
// strict decoder here.
//
// Thread safety: all functions are thread-safe (randomness comes from libsodium); objects are
// thread-compatible. Secrets (shares, nonces, polynomial coefficients) live only in
// base::SecretBytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/ed25519.h"
#include "keymgr/sr25519.h"

namespace keymgr::frost {

// Suite is the ciphersuite. kSr25519 is FROST(ristretto255, SHA-512) with the challenge taken from
// Substrate's sr25519 signing transcript (context "substrate") and the schnorrkel marker bit on the
// signature, so the aggregate is an ordinary sr25519 signature.
enum class Suite : uint8_t { kEd25519 = 1, kRistretto255 = 2, kSr25519 = 3 };

// SuiteName returns "ed25519", "ristretto255" or "sr25519".
std::string_view SuiteName(Suite suite);
// ParseSuite is the inverse of SuiteName. Fails with kInvalidArgument on any other text.
base::Result<Suite> ParseSuite(std::string_view name);

inline constexpr size_t kScalarSize = 32;
inline constexpr size_t kElementSize = 32;
inline constexpr size_t kSignatureSize = 64;
// Identifiers travel as RFC 9591 scalars (32 bytes, little-endian); this API limits them to
// 1..kMaxParticipants, which also bounds every list a decoder accepts.
inline constexpr size_t kIdentifierSize = kScalarSize;
inline constexpr uint16_t kMaxParticipants = 1000;
inline constexpr size_t kCommitmentsSize = kIdentifierSize + 2 * kElementSize;
inline constexpr size_t kSignatureShareSize = kIdentifierSize + kScalarSize;

using Scalar = std::array<uint8_t, kScalarSize>;    // a public scalar, canonical (< l)
using Element = std::array<uint8_t, kElementSize>;  // a canonical, non-identity group element
using Signature = std::array<uint8_t, kSignatureSize>;

// Identifier names a participant: an integer in 1..kMaxParticipants. Ordered and comparable. A
// default-constructed Identifier is the invalid value 0 (an unset field); every function refuses
// it.
class Identifier {
 public:
  Identifier() = default;
  // Identifier::Create fails with kInvalidArgument outside 1..kMaxParticipants.
  static base::Result<Identifier> Create(uint32_t value);
  // Identifier::Decode reads the 32-byte scalar form; it must be canonical and in range.
  static base::Result<Identifier> Decode(std::span<const uint8_t> bytes);
  std::array<uint8_t, kIdentifierSize> Encode() const;
  uint16_t value() const { return value_; }
  bool valid() const { return value_ >= 1 && value_ <= kMaxParticipants; }
  auto operator<=>(const Identifier&) const = default;

 private:
  explicit Identifier(uint16_t value) : value_(value) {}
  uint16_t value_ = 0;
};

// DecodeScalar accepts exactly 32 bytes encoding an integer < l. Fails with kInvalidArgument.
base::Result<Scalar> DecodeScalar(std::span<const uint8_t> bytes);
// DecodeElement accepts exactly 32 bytes that are the canonical encoding of a non-identity element
// of the suite's prime-order group (for ed25519 also: not of small order, not a torsion-mixed
// point). Fails with kInvalidArgument.
base::Result<Element> DecodeElement(Suite suite, std::span<const uint8_t> bytes);

// ---------------------------------------------------------------------------------------------
// Keys

// VssCommitment is the list of t coefficient commitments a_j·B of a sharing polynomial; entry 0
// is the shared secret's public key.
using VssCommitment = std::vector<Element>;

// KeyPackage is what one participant holds to sign: its share (secret), the matching verifying
// share, the group key and the threshold. Move-only.
struct KeyPackage {
  Suite suite = Suite::kEd25519;
  Identifier identifier = {};
  base::SecretBytes signing_share;  // 32 bytes, canonical scalar
  Element verifying_share{};
  Element group_public_key{};
  uint16_t min_signers = 0;

  // KeyPackage::Serialize returns suite(1) || identifier(32) || min_signers(2, LE) || share(32)
  // || verifying_share(32) || group_public_key(32) in guarded memory, for custody to wrap.
  base::SecretBytes Serialize() const;
  // KeyPackage::Parse decodes Serialize's form and checks share·B == verifying_share. Fails with
  // kInvalidArgument on anything else.
  static base::Result<KeyPackage> Parse(std::span<const uint8_t> bytes);
};

// PublicKeyPackage is what a coordinator needs: the group key and every participant's verifying
// share, sorted by identifier.
struct PublicKeyPackage {
  Suite suite = Suite::kEd25519;
  Element group_public_key{};
  uint16_t min_signers = 0;
  std::vector<std::pair<Identifier, Element>> verifying_shares;

  // PublicKeyPackage::VerifyingShare returns the share of `identifier` or kNotFound.
  base::Result<Element> VerifyingShare(Identifier identifier) const;
  // Serialize: suite(1) || min_signers(2) || count(2) || group key(32) || count × (id(32) ||
  // share(32)).
  std::vector<uint8_t> Serialize() const;
  // Parse decodes Serialize's form strictly (sorted unique identifiers, valid elements).
  static base::Result<PublicKeyPackage> Parse(std::span<const uint8_t> bytes);
};

// SecretShare is one participant's share from a dealer, with the dealer's VSS commitment so the
// participant can check it (RFC 9591 appendix C.2, vss_verify). Move-only.
struct SecretShare {
  Suite suite = Suite::kEd25519;
  Identifier identifier = {};
  base::SecretBytes value;  // 32 bytes
  VssCommitment commitment;
};

// DealerOutput is the result of a trusted-dealer split: one SecretShare per participant (the only
// copies of the shares, in guarded memory) and the public package.
struct DealerOutput {
  std::vector<SecretShare> shares;
  PublicKeyPackage public_package;
};

// TrustedDealerSplit shares `secret_scalar` (32 bytes, canonical, non-zero) as min_signers-of-
// max_signers with fresh random coefficients (RFC 9591 appendix C). 2 <= min_signers <= max_signers
// <= kMaxParticipants; identifiers are 1..max_signers. The dealer's coefficients are wiped before
// return. Fails with kInvalidArgument on bad parameters or a bad scalar.
base::Result<DealerOutput> TrustedDealerSplit(Suite suite, std::span<const uint8_t> secret_scalar,
                                              uint16_t min_signers, uint16_t max_signers);
// TrustedDealerSplitSr25519 splits an sr25519 key (its secret scalar; the nonce half is not used by
// FROST). The group key equals keypair.public_key().
base::Result<DealerOutput> TrustedDealerSplitSr25519(const Sr25519Keypair& keypair,
                                                     uint16_t min_signers, uint16_t max_signers);
// TrustedDealerSplitEd25519 splits an ed25519 key (the clamped SHA-512 of its seed, reduced mod l).
// The group key equals keypair.public_key().
base::Result<DealerOutput> TrustedDealerSplitEd25519(const Ed25519Keypair& keypair,
                                                     uint16_t min_signers, uint16_t max_signers);

// VerifySecretShare checks `share` against its VSS commitment (share·B == Σ C_j·id^j) and, on
// success, returns the participant's KeyPackage (the group key is commitment[0]). Fails with
// kInvalidArgument, naming the identifier, if the dealer's share is inconsistent.
base::Result<KeyPackage> VerifySecretShare(const SecretShare& share);

// DeriveVerifyingShare returns Σ C_j·id^j, the public key of `identifier`'s share under
// `commitment`.
base::Result<Element> DeriveVerifyingShare(Suite suite, const VssCommitment& commitment,
                                           Identifier identifier);

// EncodeVssCommitment: count(2, LE) || count × element. DecodeVssCommitment is strict (1..
// kMaxParticipants entries, valid elements, no trailing bytes).
std::vector<uint8_t> EncodeVssCommitment(const VssCommitment& commitment);
base::Result<VssCommitment> DecodeVssCommitment(Suite suite, std::span<const uint8_t> bytes);

// ---------------------------------------------------------------------------------------------
// Signing

// SigningCommitments are one participant's round-one public commitments (D = d·B, E = e·B).
// Wire form (96 bytes, RFC 9591's encode_group_commitment_list entry): id || hiding || binding.
struct SigningCommitments {
  Identifier identifier = {};
  Element hiding{};
  Element binding{};

  std::array<uint8_t, kCommitmentsSize> Encode() const;
  static base::Result<SigningCommitments> Decode(Suite suite, std::span<const uint8_t> bytes);
  bool operator==(const SigningCommitments&) const = default;
};

// CommitmentList is the commitments of the signing set, strictly ascending by identifier.
using CommitmentList = std::vector<SigningCommitments>;
// EncodeCommitmentList concatenates the 96-byte entries (RFC 9591 encode_group_commitment_list).
std::vector<uint8_t> EncodeCommitmentList(std::span<const SigningCommitments> list);
// DecodeCommitmentList requires 1..kMaxParticipants entries, strictly ascending identifiers and
// valid elements. Fails with kInvalidArgument.
base::Result<CommitmentList> DecodeCommitmentList(Suite suite, std::span<const uint8_t> bytes);
// CheckCommitmentList enforces the same rules on an already built list.
base::Status CheckCommitmentList(std::span<const SigningCommitments> list);
// MakeCommitmentList sorts the commitments a coordinator collected (in any order) by identifier and
// checks the result. Fails with kInvalidArgument on a repeated identifier or a bad count.
base::Result<CommitmentList> MakeCommitmentList(std::vector<SigningCommitments> commitments);

// SigningNonces are one participant's secret round-one nonces (hiding d, binding e) and their
// commitments. Move-only; Sign consumes them (moves them in and wipes them), so a nonce pair
// cannot be used for two signatures through this API. A moved-from object is empty.
class SigningNonces {
 public:
  SigningNonces() = default;
  SigningNonces(SigningNonces&&) noexcept = default;
  SigningNonces& operator=(SigningNonces&&) noexcept = default;
  SigningNonces(const SigningNonces&) = delete;
  SigningNonces& operator=(const SigningNonces&) = delete;

  bool empty() const { return secret_.empty(); }
  const SigningCommitments& commitments() const { return commitments_; }

 private:
  friend struct NoncesAccess;
  base::SecretBytes secret_;  // hiding (32) || binding (32)
  SigningCommitments commitments_;
};

// Round1 is what Commit returns: keep `nonces` secret, send `commitments`.
struct Round1 {
  SigningNonces nonces;
  SigningCommitments commitments;
};

// Commit draws a fresh nonce pair (RFC 9591 nonce_generate: H3 over 32 random bytes and the
// share) and its commitments. Fails with kInvalidArgument on a malformed key package.
base::Result<Round1> Commit(const KeyPackage& key_package);

// SignatureShare is one participant's z_i. Wire form (64 bytes): id || z_i.
struct SignatureShare {
  Identifier identifier = {};
  Scalar share{};

  std::array<uint8_t, kSignatureShareSize> Encode() const;
  static base::Result<SignatureShare> Decode(std::span<const uint8_t> bytes);
};

// Sign is RFC 9591 round two. It consumes `nonces` (wiped whatever the outcome) and fails with
// kFailedPrecondition on empty (already used) nonces, kInvalidArgument if the list is malformed,
// has fewer than min_signers entries, or does not carry this participant's own commitments exactly.
base::Result<SignatureShare> Sign(const KeyPackage& key_package, SigningNonces&& nonces,
                                  std::span<const uint8_t> message,
                                  std::span<const SigningCommitments> commitment_list);

// VerifySignatureShare checks one share against the sender's verifying share and commitments
// (RFC 9591 section 5.4). Ok, or kInvalidArgument naming the participant whose share is invalid,
// or kNotFound if the participant is unknown.
base::Status VerifySignatureShare(const PublicKeyPackage& public_package,
                                  std::span<const uint8_t> message,
                                  std::span<const SigningCommitments> commitment_list,
                                  const SignatureShare& share);

// Aggregate sums the shares (one per commitment-list entry, any order) into R || z and verifies the
// result against the group key before returning it. If it does not verify, every share is checked
// and the call fails with kInvalidArgument naming the culprits, which are also written to
// `invalid_shares` when given. Fails with kInvalidArgument on a malformed or mismatched input.
base::Result<Signature> Aggregate(const PublicKeyPackage& public_package,
                                  std::span<const uint8_t> message,
                                  std::span<const SigningCommitments> commitment_list,
                                  std::span<const SignatureShare> shares,
                                  std::vector<Identifier>* invalid_shares = nullptr);

// VerifySignature checks an aggregate as the suite's ordinary verifier does: ed25519 by libsodium's
// crypto_sign_verify_detached, sr25519 by Sr25519Verify (context "substrate"), ristretto255 by
// z·B == R + c·PK. Thread-safe.
[[nodiscard]] bool VerifySignature(Suite suite, std::span<const uint8_t> group_public_key,
                                   std::span<const uint8_t> message,
                                   std::span<const uint8_t> signature);

// ---------------------------------------------------------------------------------------------
// Distributed key generation (FROST paper, Komlo & Goldberg 2020, figure 1: Pedersen DKG with a
// Schnorr proof of knowledge of each constant term). No party ever holds the group secret.

// DkgRound1Package is broadcast to every peer: the sender's VSS commitment and its proof of
// knowledge (R, mu) of the constant term, bound to the sender's identifier. Wire form: id(32) ||
// count(2, LE) || count × element || R(32) || mu(32).
struct DkgRound1Package {
  Identifier identifier = {};
  VssCommitment commitment;
  Element proof_commitment{};
  Scalar proof_response{};

  std::vector<uint8_t> Encode() const;
  static base::Result<DkgRound1Package> Decode(Suite suite, std::span<const uint8_t> bytes);
};

// DkgShare is the secret share f_sender(recipient), sent over a confidential, authenticated channel
// (mTLS) to one recipient. Used by the DKG and by resharing. Move-only.
// Wire form: sender(32) || recipient(32) || value(32).
struct DkgShare {
  Identifier sender = {};
  Identifier recipient = {};
  base::SecretBytes value;

  base::SecretBytes Encode() const;
  static base::Result<DkgShare> Decode(std::span<const uint8_t> bytes);
};

// DkgSecret is one participant's private DKG state (its polynomial). Move-only; wiped on
// destruction. Consumed by DkgRound2 and DkgFinalize.
class DkgSecret {
 public:
  DkgSecret() = default;
  DkgSecret(DkgSecret&&) noexcept = default;
  DkgSecret& operator=(DkgSecret&&) noexcept = default;
  bool empty() const { return coefficients_.empty(); }
  Identifier identifier() const { return identifier_; }

 private:
  friend struct DkgAccess;
  Suite suite_ = Suite::kEd25519;
  Identifier identifier_ = {};
  uint16_t min_signers_ = 0;
  uint16_t max_signers_ = 0;
  base::SecretBytes coefficients_;  // min_signers × 32
  VssCommitment commitment_;
};

struct DkgRound1Output {
  DkgSecret secret;
  DkgRound1Package package;
};

// DkgRound1 samples this participant's polynomial and makes its broadcast package. Participants are
// identified 1..max_signers. Fails with kInvalidArgument on bad parameters.
base::Result<DkgRound1Output> DkgRound1(Suite suite, Identifier self, uint16_t min_signers,
                                        uint16_t max_signers);

struct DkgRound2Output {
  DkgSecret secret;
  std::vector<DkgShare> shares;  // one per peer, in the order of `peers`
};

// DkgRound2 verifies every peer's round-one package (exactly max_signers - 1 peers, each identifier
// once, not self, commitment length min_signers, valid proof) and makes one share per peer. Fails
// with kInvalidArgument naming the first peer whose package or proof is bad; consumes `secret`.
base::Result<DkgRound2Output> DkgRound2(DkgSecret&& secret,
                                        std::span<const DkgRound1Package> peers);

struct DkgResult {
  KeyPackage key_package;
  PublicKeyPackage public_package;
};

// DkgFinalize checks each received share against its sender's commitment, sums them with the own
// share and derives the group key and every verifying share. Fails with kInvalidArgument naming the
// peer whose share is inconsistent (a cheating dealer); consumes `secret`.
base::Result<DkgResult> DkgFinalize(DkgSecret&& secret, std::span<const DkgRound1Package> peers,
                                    std::span<const DkgShare> received);

// ---------------------------------------------------------------------------------------------
// Resharing to a new participant set with the same group key.

// ReshareDealing is what one old holder sends: the commitment to its new polynomial g_i (whose
// constant term is λ_i·s_i, so commitment[0] must equal λ_i·PK_i) and one share per new
// participant.
struct ReshareDealing {
  Identifier dealer = {};
  VssCommitment commitment;
  std::vector<DkgShare> shares;  // one per new participant, in the order given
};

// ReshareDeal runs for each old holder in `old_signers` (>= the old min_signers, sorted, unique,
// containing the holder): it deals λ_i·s_i as new_min_signers-of-|new_participants|. Fails with
// kInvalidArgument on bad parameters.
base::Result<ReshareDealing> ReshareDeal(const KeyPackage& key_package,
                                         std::span<const Identifier> old_signers,
                                         uint16_t new_min_signers,
                                         std::span<const Identifier> new_participants);

// ReshareFinalize runs for each new participant `self`: it checks every dealer's commitment[0]
// against λ_i·PK_i from the old public package and its share against the commitment, sums, and
// returns the new key package and public package. The group key is unchanged. Fails with
// kInvalidArgument naming a dealer whose dealing is inconsistent.
base::Result<DkgResult> ReshareFinalize(
    const PublicKeyPackage& old_public_package, std::span<const Identifier> old_signers,
    uint16_t new_min_signers, std::span<const Identifier> new_participants, Identifier self,
    std::span<const VssCommitment> dealer_commitments, std::span<const DkgShare> received);

}  // namespace keymgr::frost
