// Scheme-generic keypairs: scheme names, SURI to keypair for all schemes, dispatching verify.
#include "keymgr/keypair.h"

#include <type_traits>

#include "base/hash.h"
#include "keymgr/suri.h"

namespace keymgr {
namespace {

template <typename Array>
std::vector<uint8_t> ToVector(const Array& bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

base::Result<Keypair> Sr25519FromSuri(const ParsedSuri& suri, const base::SecretBytes& root) {
  base::Result<Sr25519Keypair> pair = Sr25519Keypair::FromMiniSecret(root.span());
  if (!pair.ok()) {
    return pair.status();
  }
  Sr25519Keypair current = std::move(pair).value();
  for (const DeriveJunction& junction : suri.path) {
    current = junction.hard ? current.DeriveHard(junction.chain_code)
                            : current.DeriveSoft(junction.chain_code);
  }
  return Keypair(std::move(current));
}

// HardOnlyFromSuri applies a path of hard junctions for ed25519 and ecdsa. Both reject soft
// junctions (Substrate's DeriveError::SoftKeyInPath): there is no public-key derivation to be
// compatible with.
template <typename Pair>
base::Result<Keypair> HardOnlyFromSuri(const ParsedSuri& suri, const base::SecretBytes& root) {
  for (const DeriveJunction& junction : suri.path) {
    if (!junction.hard) {
      return base::Status::InvalidArgument("this scheme supports hard junctions (//) only");
    }
  }
  base::Result<Pair> pair = Pair::FromSeed(root.span());
  if (!pair.ok()) {
    return pair.status();
  }
  Pair current = std::move(pair).value();
  for (const DeriveJunction& junction : suri.path) {
    if constexpr (std::is_same_v<Pair, EcdsaKeypair>) {
      base::Result<EcdsaKeypair> child = current.DeriveHard(junction.chain_code);
      if (!child.ok()) {
        return child.status();
      }
      current = std::move(child).value();
    } else {
      current = current.DeriveHard(junction.chain_code);
    }
  }
  return Keypair(std::move(current));
}

}  // namespace

base::Scheme Keypair::scheme() const {
  if (sr25519() != nullptr) return base::Scheme::kSr25519;
  if (ed25519() != nullptr) return base::Scheme::kEd25519;
  return base::Scheme::kEcdsa;
}

std::vector<uint8_t> Keypair::public_key() const {
  return std::visit([](const auto& pair) { return ToVector(pair.public_key()); }, pair_);
}

std::vector<uint8_t> Keypair::Sign(std::span<const uint8_t> message) const {
  return std::visit([message](const auto& pair) { return ToVector(pair.Sign(message)); }, pair_);
}

base::Result<std::vector<uint8_t>> Keypair::SignPrehashed(std::span<const uint8_t> digest) const {
  const EcdsaKeypair* pair = ecdsa();
  if (pair == nullptr) {
    return base::Status::InvalidArgument("only ecdsa signs prehashed digests");
  }
  if (digest.size() != kEcdsaPrehashSize) {
    return base::Status::InvalidArgument("prehashed digest must be 32 bytes");
  }
  return ToVector(pair->SignPrehashed(digest.first<kEcdsaPrehashSize>()));
}

base::Result<Keypair> KeypairFromSuri(base::Scheme scheme, std::string_view suri) {
  base::Result<ParsedSuri> parsed = ParseSuri(suri);
  if (!parsed.ok()) {
    return parsed.status();
  }
  base::Result<base::SecretBytes> root = RootSecretFromSuri(*parsed);
  if (!root.ok()) {
    return root.status();
  }
  switch (scheme) {
    case base::Scheme::kSr25519:
      return Sr25519FromSuri(*parsed, *root);
    case base::Scheme::kEd25519:
      return HardOnlyFromSuri<Ed25519Keypair>(*parsed, *root);
    case base::Scheme::kEcdsa:
      return HardOnlyFromSuri<EcdsaKeypair>(*parsed, *root);
  }
  return base::Status::InvalidArgument("unknown signature scheme");
}

bool VerifySignature(base::Scheme scheme, std::span<const uint8_t> public_key,
                     std::span<const uint8_t> message, std::span<const uint8_t> signature,
                     bool prehashed) {
  switch (scheme) {
    case base::Scheme::kSr25519:
      // A prehashed flag means nothing to sr25519 or ed25519; treat the request as malformed.
      return !prehashed && Sr25519Verify(public_key, message, signature);
    case base::Scheme::kEd25519:
      return !prehashed && Ed25519Verify(public_key, message, signature);
    case base::Scheme::kEcdsa:
      return prehashed ? EcdsaVerifyPrehashed(public_key, message, signature)
                       : EcdsaVerify(public_key, message, signature);
  }
  return false;
}

}  // namespace keymgr
