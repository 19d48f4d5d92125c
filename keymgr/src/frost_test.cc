// Tests for FROST: t-of-n signing over every signer subset, cheater identification, DKG, resharing,
// nonce use, codecs.
#include "keymgr/frost.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "frost_internal.h"
#include "keymgr/ed25519.h"
#include "keymgr/sr25519.h"

namespace keymgr::frost {
namespace {

constexpr Suite kAllSuites[] = {Suite::kEd25519, Suite::kRistretto255, Suite::kSr25519};

Identifier Id(uint32_t value) { return Identifier::Create(value).value(); }

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> Unhex(std::string_view text) { return base::HexDecode(text).value(); }

std::vector<KeyPackage> KeysFromDealer(const DealerOutput& dealt) {
  std::vector<KeyPackage> keys;
  for (const SecretShare& share : dealt.shares) {
    auto key = VerifySecretShare(share);
    EXPECT_TRUE(key.ok()) << key.status().message();
    keys.push_back(std::move(key).value());
  }
  return keys;
}

// SignWith runs both rounds for the participants at `indices` (into `keys`) and aggregates.
base::Result<Signature> SignWith(const std::vector<KeyPackage>& keys,
                                 const PublicKeyPackage& public_package,
                                 const std::vector<size_t>& indices,
                                 std::span<const uint8_t> message) {
  std::vector<SigningNonces> nonces;
  CommitmentList commitments;
  for (size_t index : indices) {
    SIGNER_ASSIGN_OR_RETURN(Round1 round1, Commit(keys[index]));
    commitments.push_back(round1.commitments);
    nonces.push_back(std::move(round1.nonces));
  }
  std::vector<SignatureShare> shares;
  for (size_t i = 0; i < indices.size(); ++i) {
    SIGNER_ASSIGN_OR_RETURN(SignatureShare share,
                            Sign(keys[indices[i]], std::move(nonces[i]), message, commitments));
    shares.push_back(share);
  }
  return Aggregate(public_package, message, commitments, shares);
}

// Subsets returns every subset of {0..n-1} of size k, in lexicographic order.
std::vector<std::vector<size_t>> Subsets(size_t n, size_t k) {
  std::vector<std::vector<size_t>> out;
  std::vector<bool> chosen(n, false);
  std::fill(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(k), true);
  do {
    std::vector<size_t> subset;
    for (size_t i = 0; i < n; ++i) {
      if (chosen[i]) subset.push_back(i);
    }
    out.push_back(subset);
  } while (std::prev_permutation(chosen.begin(), chosen.end()));
  return out;
}

// SchemeVerifies checks an aggregate with the scheme's own, non-FROST verifier.
bool SchemeVerifies(Suite suite, const Element& public_key, std::span<const uint8_t> message,
                    const Signature& signature) {
  switch (suite) {
    case Suite::kEd25519:
      return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                         public_key.data()) == 0;
    case Suite::kSr25519:
      return Sr25519Verify(public_key, message, signature);
    case Suite::kRistretto255:
      return VerifySignature(suite, public_key, message, signature);
  }
  return false;
}

// A dealer split of a fresh key of the suite's own kind, returning the key's ordinary public key.
struct SplitKey {
  DealerOutput dealt;
  Element public_key{};
};

SplitKey SplitFreshKey(Suite suite, uint16_t t, uint16_t n) {
  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  SplitKey out;
  if (suite == Suite::kSr25519) {
    auto pair = Sr25519Keypair::FromMiniSecret(seed).value();
    out.public_key = pair.public_key();
    out.dealt = TrustedDealerSplitSr25519(pair, t, n).value();
  } else if (suite == Suite::kEd25519) {
    auto pair = Ed25519Keypair::FromSeed(seed).value();
    out.public_key = pair.public_key();
    out.dealt = TrustedDealerSplitEd25519(pair, t, n).value();
  } else {
    const Scalar secret = internal::RandomScalar();
    out.public_key = internal::BaseMul(suite, secret);
    out.dealt = TrustedDealerSplit(suite, secret, t, n).value();
  }
  return out;
}

class FrostSuiteTest : public testing::TestWithParam<Suite> {};

TEST_P(FrostSuiteTest, EverySubsetOfThresholdSizeSignsAndVerifies) {
  const Suite suite = GetParam();
  for (const auto& [t, n] :
       std::vector<std::pair<uint16_t, uint16_t>>{{2, 2}, {2, 3}, {3, 5}, {4, 6}}) {
    SCOPED_TRACE(std::to_string(t) + "-of-" + std::to_string(n));
    const SplitKey key = SplitFreshKey(suite, t, n);
    // The split reproduces the original public key.
    ASSERT_EQ(key.dealt.public_package.group_public_key, key.public_key);
    const std::vector<KeyPackage> keys = KeysFromDealer(key.dealt);
    for (const std::vector<size_t>& subset : Subsets(n, t)) {
      const std::vector<uint8_t> message = Bytes("frost message " + std::to_string(subset[0]));
      auto signature = SignWith(keys, key.dealt.public_package, subset, message);
      ASSERT_TRUE(signature.ok()) << signature.status().message();
      EXPECT_TRUE(SchemeVerifies(suite, key.public_key, message, *signature));
      EXPECT_FALSE(SchemeVerifies(suite, key.public_key, Bytes("another message"), *signature));
    }
    // More than t signers work too; fewer do not.
    std::vector<size_t> everyone(n);
    for (size_t i = 0; i < n; ++i) everyone[i] = i;
    auto all = SignWith(keys, key.dealt.public_package, everyone, Bytes("all"));
    ASSERT_TRUE(all.ok()) << all.status().message();
    EXPECT_TRUE(SchemeVerifies(suite, key.public_key, Bytes("all"), *all));
    std::vector<size_t> too_few(everyone.begin(), everyone.begin() + (t - 1));
    EXPECT_EQ(SignWith(keys, key.dealt.public_package, too_few, Bytes("few")).status().code(),
              base::StatusCode::kInvalidArgument);
  }
}

TEST_P(FrostSuiteTest, CorruptedShareIsIdentifiedWithItsSender) {
  const Suite suite = GetParam();
  const SplitKey key = SplitFreshKey(suite, 3, 5);
  const std::vector<KeyPackage> keys = KeysFromDealer(key.dealt);
  const std::vector<uint8_t> message = Bytes("vote");
  const std::vector<size_t> signers = {0, 2, 3};
  std::vector<SigningNonces> nonces;
  CommitmentList commitments;
  for (size_t index : signers) {
    Round1 round1 = Commit(keys[index]).value();
    commitments.push_back(round1.commitments);
    nonces.push_back(std::move(round1.nonces));
  }
  std::vector<SignatureShare> shares;
  for (size_t i = 0; i < signers.size(); ++i) {
    shares.push_back(Sign(keys[signers[i]], std::move(nonces[i]), message, commitments).value());
  }
  // Participant 4 (index 3) returns z + 1.
  shares[2].share = internal::ScalarAdd(shares[2].share, internal::ScalarFromInt(1));
  std::vector<Identifier> culprits;
  auto aggregate = Aggregate(key.dealt.public_package, message, commitments, shares, &culprits);
  EXPECT_EQ(aggregate.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(culprits, std::vector<Identifier>{Id(4)});
  EXPECT_TRUE(VerifySignatureShare(key.dealt.public_package, message, commitments, shares[0]).ok());
  EXPECT_TRUE(VerifySignatureShare(key.dealt.public_package, message, commitments, shares[1]).ok());
  EXPECT_EQ(VerifySignatureShare(key.dealt.public_package, message, commitments, shares[2]).code(),
            base::StatusCode::kInvalidArgument);
  // A share for a different message is also caught, and so is a share from an unknown participant.
  EXPECT_FALSE(
      VerifySignatureShare(key.dealt.public_package, Bytes("other"), commitments, shares[0]).ok());
  SignatureShare stranger = shares[0];
  stranger.identifier = Id(9);
  EXPECT_EQ(VerifySignatureShare(key.dealt.public_package, message, commitments, stranger).code(),
            base::StatusCode::kNotFound);
}

TEST_P(FrostSuiteTest, NoncesAreConsumedBySigningEvenOnFailure) {
  const Suite suite = GetParam();
  const SplitKey key = SplitFreshKey(suite, 2, 3);
  const std::vector<KeyPackage> keys = KeysFromDealer(key.dealt);
  Round1 first = Commit(keys[0]).value();
  Round1 second = Commit(keys[1]).value();
  const CommitmentList commitments = {first.commitments, second.commitments};
  ASSERT_FALSE(first.nonces.empty());
  auto share = Sign(keys[0], std::move(first.nonces), Bytes("m"), commitments);
  ASSERT_TRUE(share.ok()) << share.status().message();
  EXPECT_TRUE(first.nonces.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  auto again = Sign(keys[0], std::move(first.nonces), Bytes("m2"), commitments);
  EXPECT_EQ(again.status().code(), base::StatusCode::kFailedPrecondition);

  // A refused request (a list without the signer's own commitments) burns the nonces too.
  const CommitmentList missing_own = {second.commitments};
  auto refused = Sign(keys[1], std::move(second.nonces), Bytes("m"), missing_own);
  EXPECT_EQ(refused.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(second.nonces.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_P(FrostSuiteTest, SignRefusesAListThatMisstatesItsOwnCommitments) {
  const Suite suite = GetParam();
  const SplitKey key = SplitFreshKey(suite, 2, 3);
  const std::vector<KeyPackage> keys = KeysFromDealer(key.dealt);
  Round1 mine = Commit(keys[0]).value();
  Round1 other = Commit(keys[1]).value();
  Round1 spare = Commit(keys[0]).value();
  // The coordinator substitutes another commitment of ours (a different nonce pair).
  CommitmentList swapped = {spare.commitments, other.commitments};
  EXPECT_EQ(Sign(keys[0], std::move(mine.nonces), Bytes("m"), swapped).status().code(),
            base::StatusCode::kInvalidArgument);
  // Unsorted and duplicated lists are refused before any arithmetic.
  Round1 fresh = Commit(keys[0]).value();
  CommitmentList unsorted = {other.commitments, fresh.commitments};
  EXPECT_EQ(Sign(keys[0], std::move(fresh.nonces), Bytes("m"), unsorted).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST_P(FrostSuiteTest, DkgEndToEndAndEverySubsetSigns) {
  const Suite suite = GetParam();
  for (const auto& [t, n] : std::vector<std::pair<uint16_t, uint16_t>>{{2, 3}, {3, 5}}) {
    SCOPED_TRACE(std::to_string(t) + "-of-" + std::to_string(n));
    std::vector<DkgSecret> secrets;
    std::vector<DkgRound1Package> packages;
    for (uint16_t i = 1; i <= n; ++i) {
      DkgRound1Output round1 = DkgRound1(suite, Id(i), t, n).value();
      // Every package crosses the network in its encoded form.
      packages.push_back(DkgRound1Package::Decode(suite, round1.package.Encode()).value());
      secrets.push_back(std::move(round1.secret));
    }
    auto peers_of = [&](size_t self) {
      std::vector<DkgRound1Package> peers;
      for (size_t j = 0; j < packages.size(); ++j) {
        if (j != self) peers.push_back(packages[j]);
      }
      return peers;
    };
    std::vector<std::vector<DkgShare>> inbox(n);
    for (size_t i = 0; i < n; ++i) {
      auto round2 = DkgRound2(std::move(secrets[i]), peers_of(i));
      ASSERT_TRUE(round2.ok()) << round2.status().message();
      secrets[i] = std::move(round2->secret);
      for (const DkgShare& share : round2->shares) {
        inbox[share.recipient.value() - 1].push_back(
            DkgShare::Decode(share.Encode().span()).value());
      }
    }
    std::vector<KeyPackage> keys;
    std::vector<PublicKeyPackage> publics;
    for (size_t i = 0; i < n; ++i) {
      auto result = DkgFinalize(std::move(secrets[i]), peers_of(i), inbox[i]);
      ASSERT_TRUE(result.ok()) << result.status().message();
      keys.push_back(std::move(result->key_package));
      publics.push_back(std::move(result->public_package));
    }
    for (size_t i = 1; i < n; ++i) {
      EXPECT_EQ(publics[i].Serialize(), publics[0].Serialize());
    }
    for (const std::vector<size_t>& subset : Subsets(n, t)) {
      const std::vector<uint8_t> message = Bytes("dkg key signs");
      auto signature = SignWith(keys, publics[0], subset, message);
      ASSERT_TRUE(signature.ok()) << signature.status().message();
      EXPECT_TRUE(SchemeVerifies(suite, publics[0].group_public_key, message, *signature));
    }
  }
}

template <typename... Package>
std::vector<DkgRound1Package> Packages(const Package&... packages) {
  return {packages...};
}

// RunDkgRound1 makes the round-one state of a 2-of-3 DKG.
struct Dkg3 {
  std::vector<DkgSecret> secrets;
  std::vector<DkgRound1Package> packages;
};

Dkg3 RunDkgRound1(Suite suite) {
  Dkg3 out;
  for (uint16_t i = 1; i <= 3; ++i) {
    DkgRound1Output round1 = DkgRound1(suite, Id(i), 2, 3).value();
    out.packages.push_back(round1.package);
    out.secrets.push_back(std::move(round1.secret));
  }
  return out;
}

TEST_P(FrostSuiteTest, DkgRejectsABadProofOfKnowledgeNamingTheSender) {
  const Suite suite = GetParam();
  Dkg3 dkg = RunDkgRound1(suite);
  // Participant 2 claims a constant term it cannot prove knowledge of (a rogue key).
  dkg.packages[1].commitment[0] = internal::BaseMul(suite, internal::RandomScalar());
  auto round2 = DkgRound2(std::move(dkg.secrets[0]), Packages(dkg.packages[1], dkg.packages[2]));
  ASSERT_FALSE(round2.ok());
  EXPECT_EQ(round2.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(round2.status().message().find("participant 2"), std::string::npos);
  // A package from self, or a missing peer, is refused as well.
  Dkg3 again = RunDkgRound1(suite);
  EXPECT_FALSE(
      DkgRound2(std::move(again.secrets[0]), Packages(again.packages[0], again.packages[1])).ok());
  Dkg3 third = RunDkgRound1(suite);
  EXPECT_FALSE(DkgRound2(std::move(third.secrets[0]), Packages(third.packages[1])).ok());
}

TEST_P(FrostSuiteTest, DkgRejectsACheatingDealersShare) {
  const Suite suite = GetParam();
  Dkg3 dkg = RunDkgRound1(suite);
  std::vector<std::vector<DkgShare>> inbox(3);
  std::vector<DkgSecret> secrets;
  for (size_t i = 0; i < 3; ++i) {
    std::vector<DkgRound1Package> peers;
    for (size_t j = 0; j < 3; ++j) {
      if (j != i) peers.push_back(dkg.packages[j]);
    }
    DkgRound2Output round2 = DkgRound2(std::move(dkg.secrets[i]), peers).value();
    for (DkgShare& share : round2.shares)
      inbox[share.recipient.value() - 1].push_back(std::move(share));
    secrets.push_back(std::move(round2.secret));
  }
  // Participant 3 sends participant 1 a share off its polynomial.
  for (DkgShare& share : inbox[0]) {
    if (share.sender == Id(3)) share.value.data()[0] ^= 1;
  }
  auto result =
      DkgFinalize(std::move(secrets[0]), Packages(dkg.packages[1], dkg.packages[2]), inbox[0]);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("participant 3"), std::string::npos);
  // The honest recipient is unaffected.
  EXPECT_TRUE(
      DkgFinalize(std::move(secrets[1]), Packages(dkg.packages[0], dkg.packages[2]), inbox[1])
          .ok());
}

TEST_P(FrostSuiteTest, ReshareKeepsTheGroupKeyForANewSet) {
  const Suite suite = GetParam();
  const SplitKey key = SplitFreshKey(suite, 2, 3);
  const std::vector<KeyPackage> old_keys = KeysFromDealer(key.dealt);
  const std::vector<Identifier> old_signers = {Id(1), Id(3)};
  const std::vector<Identifier> new_set = {Id(2), Id(4), Id(5), Id(6), Id(7)};
  std::vector<ReshareDealing> dealings;
  for (size_t index : {0, 2}) {
    auto dealing = ReshareDeal(old_keys[index], old_signers, 3, new_set);
    ASSERT_TRUE(dealing.ok()) << dealing.status().message();
    dealings.push_back(std::move(dealing).value());
  }
  std::vector<VssCommitment> commitments;
  commitments.reserve(dealings.size());
  for (const ReshareDealing& dealing : dealings) {
    commitments.push_back(
        DecodeVssCommitment(suite, EncodeVssCommitment(dealing.commitment)).value());
  }
  std::vector<KeyPackage> new_keys;
  PublicKeyPackage new_public;
  for (size_t j = 0; j < new_set.size(); ++j) {
    std::vector<DkgShare> received;
    received.reserve(dealings.size());
    for (const ReshareDealing& dealing : dealings) {
      received.push_back(DkgShare::Decode(dealing.shares[j].Encode().span()).value());
    }
    auto result = ReshareFinalize(key.dealt.public_package, old_signers, 3, new_set, new_set[j],
                                  commitments, received);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->public_package.group_public_key, key.public_key);
    new_keys.push_back(std::move(result->key_package));
    new_public = std::move(result->public_package);
  }
  for (const std::vector<size_t>& subset : Subsets(new_set.size(), 3)) {
    auto signature = SignWith(new_keys, new_public, subset, Bytes("after reshare"));
    ASSERT_TRUE(signature.ok()) << signature.status().message();
    EXPECT_TRUE(SchemeVerifies(suite, key.public_key, Bytes("after reshare"), *signature));
  }
  // Two new holders cannot sign a 3-of-5 key.
  EXPECT_FALSE(SignWith(new_keys, new_public, {0, 1}, Bytes("x")).ok());

  // A dealer that deals its raw share instead of the Lagrange-weighted one is caught.
  KeyPackage cheat = KeyPackage::Parse(old_keys[0].Serialize().span()).value();
  auto unweighted = ReshareDeal(cheat, std::vector<Identifier>{Id(1)}, 3, new_set);
  EXPECT_FALSE(unweighted.ok());  // one holder is fewer than min_signers
  std::vector<DkgShare> received;
  received.reserve(dealings.size());
  for (const ReshareDealing& dealing : dealings) {
    received.push_back(DkgShare::Decode(dealing.shares[0].Encode().span()).value());
  }
  received[1].value.data()[0] ^= 1;
  auto bad = ReshareFinalize(key.dealt.public_package, old_signers, 3, new_set, new_set[0],
                             commitments, received);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("participant 3"), std::string::npos);
  std::vector<VssCommitment> forged = commitments;
  forged[0][0] = internal::BaseMul(suite, internal::RandomScalar());
  EXPECT_FALSE(ReshareFinalize(key.dealt.public_package, old_signers, 3, new_set, new_set[0],
                               forged, received)
                   .ok());
}

TEST_P(FrostSuiteTest, PackagesRoundTripAndDealerSharesAreChecked) {
  const Suite suite = GetParam();
  const SplitKey key = SplitFreshKey(suite, 2, 3);
  const std::vector<KeyPackage> keys = KeysFromDealer(key.dealt);
  const base::SecretBytes serialized = keys[1].Serialize();
  auto parsed = KeyPackage::Parse(serialized.span());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->signing_share.Equals(keys[1].signing_share.span()));
  EXPECT_EQ(parsed->identifier, Id(2));
  // A share that does not match its verifying share is refused.
  std::vector<uint8_t> tampered(serialized.span().begin(), serialized.span().end());
  tampered[40] ^= 1;
  EXPECT_FALSE(KeyPackage::Parse(tampered).ok());

  const std::vector<uint8_t> public_bytes = key.dealt.public_package.Serialize();
  auto public_parsed = PublicKeyPackage::Parse(public_bytes);
  ASSERT_TRUE(public_parsed.ok()) << public_parsed.status().message();
  EXPECT_EQ(public_parsed->Serialize(), public_bytes);
  EXPECT_FALSE(
      PublicKeyPackage::Parse(std::span(public_bytes).first(public_bytes.size() - 1)).ok());

  // A dealer's inconsistent share is detected by VSS.
  SecretShare bad;
  bad.suite = suite;
  bad.identifier = Id(2);
  bad.value = base::SecretBytes::CopyFrom(key.dealt.shares[0].value.span());
  bad.commitment = key.dealt.shares[0].commitment;
  EXPECT_EQ(VerifySecretShare(bad).status().code(), base::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(AllSuites, FrostSuiteTest, testing::ValuesIn(kAllSuites),
                         [](const testing::TestParamInfo<Suite>& param_info) {
                           return std::string(SuiteName(param_info.param));
                         });

TEST(FrostSr25519Test, AggregateIsAnOrdinarySubstrateSignature) {
  // //Alice's mini-secret is not needed: any sr25519 key works; this one is fixed for readability.
  const std::vector<uint8_t> mini_secret =
      Unhex("e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a");
  const Sr25519Keypair pair = Sr25519Keypair::FromMiniSecret(mini_secret).value();
  const DealerOutput dealt = TrustedDealerSplitSr25519(pair, 2, 3).value();
  ASSERT_EQ(dealt.public_package.group_public_key, pair.public_key());
  const std::vector<KeyPackage> keys = KeysFromDealer(dealt);
  const std::vector<uint8_t> message = Bytes("para statement");
  const Signature signature = SignWith(keys, dealt.public_package, {0, 2}, message).value();
  EXPECT_EQ(signature[63] & 0x80, 0x80);  // the schnorrkel marker
  EXPECT_TRUE(Sr25519Verify(pair.public_key(), message, signature));
  EXPECT_FALSE(Sr25519Verify(pair.public_key(), message, signature, "not-substrate"));
  // Without the marker the same bytes are not an sr25519 signature.
  Signature unmarked = signature;
  unmarked[63] &= 0x7f;
  EXPECT_FALSE(Sr25519Verify(pair.public_key(), message, unmarked));
}

TEST(FrostCodecTest, ScalarsMustBeCanonical) {
  const std::vector<uint8_t> order =
      Unhex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  std::vector<uint8_t> below = order;
  below[0] -= 1;
  std::vector<uint8_t> above = order;
  above[0] += 1;
  EXPECT_TRUE(DecodeScalar(below).ok());
  EXPECT_FALSE(DecodeScalar(order).ok());
  EXPECT_FALSE(DecodeScalar(above).ok());
  EXPECT_FALSE(DecodeScalar(std::vector<uint8_t>(32, 0xff)).ok());
  EXPECT_FALSE(DecodeScalar(std::vector<uint8_t>(31, 0)).ok());
}

TEST(FrostCodecTest, Ed25519ElementsMustBeCanonicalPrimeOrderAndNotSmallOrder) {
  Element base;
  const Scalar one = internal::ScalarFromInt(1);
  ASSERT_EQ(crypto_scalarmult_ed25519_base_noclamp(base.data(), one.data()), 0);
  EXPECT_TRUE(DecodeElement(Suite::kEd25519, base).ok());
  // The identity, a point of order 4 (y = 0) and one of order 2 (y = -1).
  EXPECT_FALSE(DecodeElement(Suite::kEd25519, Unhex("01" + std::string(62, '0'))).ok());
  const std::vector<uint8_t> order4(32, 0);
  EXPECT_FALSE(DecodeElement(Suite::kEd25519, order4).ok());
  EXPECT_FALSE(
      DecodeElement(Suite::kEd25519,
                    Unhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
          .ok());
  // y = p + 1: a non-canonical encoding of the identity.
  EXPECT_FALSE(
      DecodeElement(Suite::kEd25519,
                    Unhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
          .ok());
  // B plus a torsion point: on the curve, not of small order, but outside the prime-order group.
  Element mixed;
  ASSERT_EQ(crypto_core_ed25519_add(mixed.data(), base.data(), order4.data()), 0);
  EXPECT_FALSE(DecodeElement(Suite::kEd25519, mixed).ok());
  EXPECT_FALSE(DecodeElement(Suite::kEd25519, std::vector<uint8_t>(33, 1)).ok());
}

TEST(FrostCodecTest, RistrettoElementsMustBeCanonicalAndNotIdentity) {
  const Element base = internal::BaseMul(Suite::kRistretto255, internal::ScalarFromInt(1));
  EXPECT_TRUE(DecodeElement(Suite::kRistretto255, base).ok());
  EXPECT_FALSE(DecodeElement(Suite::kSr25519, std::vector<uint8_t>(32, 0)).ok());
  EXPECT_FALSE(DecodeElement(Suite::kRistretto255, std::vector<uint8_t>(32, 0xff)).ok());
  Element negative = base;
  negative[0] |= 1;  // ristretto encodings are non-negative (even) field elements
  EXPECT_FALSE(DecodeElement(Suite::kRistretto255, negative).ok());
}

TEST(FrostCodecTest, IdentifiersAreNonZeroAndBounded) {
  EXPECT_FALSE(Identifier::Create(0).ok());
  EXPECT_FALSE(Identifier::Create(kMaxParticipants + 1).ok());
  EXPECT_EQ(Identifier::Decode(Id(513).Encode()).value(), Id(513));
  EXPECT_FALSE(Identifier::Decode(std::vector<uint8_t>(32, 0)).ok());
  std::array<uint8_t, 32> large = Id(1).Encode();
  large[20] = 1;
  EXPECT_FALSE(Identifier::Decode(large).ok());
  EXPECT_FALSE(Identifier().valid());
}

TEST(FrostCodecTest, CommitmentListsAreStrict) {
  const SplitKey key = SplitFreshKey(Suite::kEd25519, 2, 3);
  const std::vector<KeyPackage> keys = KeysFromDealer(key.dealt);
  CommitmentList list;
  for (const KeyPackage& package : keys) list.push_back(Commit(package).value().commitments);
  const std::vector<uint8_t> encoded = EncodeCommitmentList(list);
  auto decoded = DecodeCommitmentList(Suite::kEd25519, encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, list);
  EXPECT_FALSE(DecodeCommitmentList(Suite::kEd25519, {}).ok());
  EXPECT_FALSE(
      DecodeCommitmentList(Suite::kEd25519, std::span(encoded).first(encoded.size() - 1)).ok());
  CommitmentList duplicate = {list[0], list[0]};
  EXPECT_FALSE(DecodeCommitmentList(Suite::kEd25519, EncodeCommitmentList(duplicate)).ok());
  CommitmentList unsorted = {list[1], list[0]};
  EXPECT_FALSE(DecodeCommitmentList(Suite::kEd25519, EncodeCommitmentList(unsorted)).ok());
  // The coordinator's helper sorts what arrived in any order, and still refuses a repeat.
  EXPECT_EQ(MakeCommitmentList(unsorted).value(), (CommitmentList{list[0], list[1]}));
  EXPECT_FALSE(MakeCommitmentList(duplicate).ok());
  // An ed25519 list is not a ristretto list.
  EXPECT_FALSE(DecodeCommitmentList(Suite::kRistretto255, encoded).ok());

  SignatureShare share{Id(2), internal::ScalarFromInt(7)};
  EXPECT_EQ(SignatureShare::Decode(share.Encode()).value().share, share.share);
  std::array<uint8_t, kSignatureShareSize> bad_share = share.Encode();
  bad_share[63] = 0xff;
  EXPECT_FALSE(SignatureShare::Decode(bad_share).ok());
}

TEST(FrostCodecTest, DkgPackagesAreStrict) {
  DkgRound1Output round1 = DkgRound1(Suite::kSr25519, Id(2), 3, 4).value();
  const std::vector<uint8_t> encoded = round1.package.Encode();
  auto decoded = DkgRound1Package::Decode(Suite::kSr25519, encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->Encode(), encoded);
  EXPECT_FALSE(DkgRound1Package::Decode(Suite::kSr25519, std::span(encoded).first(100)).ok());
  std::vector<uint8_t> longer = encoded;
  longer.push_back(0);
  EXPECT_FALSE(DkgRound1Package::Decode(Suite::kSr25519, longer).ok());
  std::vector<uint8_t> huge_count = encoded;
  huge_count[32] = 0xff;
  huge_count[33] = 0xff;
  EXPECT_FALSE(DkgRound1Package::Decode(Suite::kSr25519, huge_count).ok());
  EXPECT_FALSE(DkgShare::Decode(std::vector<uint8_t>(96, 0)).ok());
  EXPECT_FALSE(DkgRound1(Suite::kSr25519, Id(5), 3, 4).ok());
  EXPECT_FALSE(DkgRound1(Suite::kSr25519, Id(1), 1, 4).ok());
}

TEST(FrostCodecTest, SuitesParse) {
  for (Suite suite : kAllSuites) EXPECT_EQ(ParseSuite(SuiteName(suite)).value(), suite);
  EXPECT_FALSE(ParseSuite("ecdsa").ok());
}

}  // namespace
}  // namespace keymgr::frost
