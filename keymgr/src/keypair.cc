// Scheme-generic keypairs: scheme names, SURI to keypair for all schemes, dispatching verify.
#include "keymgr/keypair.h"

#include <type_traits>

#include "keymgr/hash.h"
#include "keymgr/suri.h"

namespace keymgr {
namespace {

template <typename Array>
std::vector<uint8_t> ToVector(const Array& bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Result<Keypair> Sr25519FromSuri(const ParsedSuri& suri, const SecretBytes& root) {
  Result<Sr25519Keypair> pair = Sr25519Keypair::FromMiniSecret(root.span());
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
Result<Keypair> HardOnlyFromSuri(const ParsedSuri& suri, const SecretBytes& root) {
  for (const DeriveJunction& junction : suri.path) {
    if (!junction.hard) {
      return Status::InvalidArgument("this scheme supports hard junctions (//) only");
    }
  }
  Result<Pair> pair = Pair::FromSeed(root.span());
  if (!pair.ok()) {
    return pair.status();
  }
  Pair current = std::move(pair).value();
  for (const DeriveJunction& junction : suri.path) {
    if constexpr (std::is_same_v<Pair, EcdsaKeypair>) {
      Result<EcdsaKeypair> child = current.DeriveHard(junction.chain_code);
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

Result<Scheme> ParseScheme(std::string_view name) {
  if (name == "sr25519") return Scheme::kSr25519;
  if (name == "ed25519") return Scheme::kEd25519;
  if (name == "ecdsa") return Scheme::kEcdsa;
  return Status::InvalidArgument("unknown signature scheme (expected sr25519, ed25519 or ecdsa)");
}

std::string_view SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kSr25519:
      return "sr25519";
    case Scheme::kEd25519:
      return "ed25519";
    case Scheme::kEcdsa:
      return "ecdsa";
  }
  return "unknown";
}

std::string_view SchemeCryptoId(Scheme scheme) {
  switch (scheme) {
    case Scheme::kSr25519:
      return "sr25";
    case Scheme::kEd25519:
      return "ed25";
    case Scheme::kEcdsa:
      return "ecds";
  }
  return "????";
}

Scheme Keypair::scheme() const {
  if (sr25519() != nullptr) return Scheme::kSr25519;
  if (ed25519() != nullptr) return Scheme::kEd25519;
  return Scheme::kEcdsa;
}

std::vector<uint8_t> Keypair::public_key() const {
  return std::visit([](const auto& pair) { return ToVector(pair.public_key()); }, pair_);
}

std::vector<uint8_t> Keypair::Sign(std::span<const uint8_t> message) const {
  return std::visit([message](const auto& pair) { return ToVector(pair.Sign(message)); }, pair_);
}

Result<std::vector<uint8_t>> Keypair::SignPrehashed(std::span<const uint8_t> digest) const {
  const EcdsaKeypair* pair = ecdsa();
  if (pair == nullptr) {
    return Status::InvalidArgument("only ecdsa signs prehashed digests");
  }
  if (digest.size() != kEcdsaPrehashSize) {
    return Status::InvalidArgument("prehashed digest must be 32 bytes");
  }
  return ToVector(pair->SignPrehashed(digest.first<kEcdsaPrehashSize>()));
}

Result<Keypair> KeypairFromSuri(Scheme scheme, std::string_view suri) {
  Result<ParsedSuri> parsed = ParseSuri(suri);
  if (!parsed.ok()) {
    return parsed.status();
  }
  Result<SecretBytes> root = RootSecretFromSuri(*parsed);
  if (!root.ok()) {
    return root.status();
  }
  switch (scheme) {
    case Scheme::kSr25519:
      return Sr25519FromSuri(*parsed, *root);
    case Scheme::kEd25519:
      return HardOnlyFromSuri<Ed25519Keypair>(*parsed, *root);
    case Scheme::kEcdsa:
      return HardOnlyFromSuri<EcdsaKeypair>(*parsed, *root);
  }
  return Status::InvalidArgument("unknown signature scheme");
}

bool VerifySignature(Scheme scheme, std::span<const uint8_t> public_key,
                     std::span<const uint8_t> message, std::span<const uint8_t> signature,
                     bool prehashed) {
  switch (scheme) {
    case Scheme::kSr25519:
      // A prehashed flag means nothing to sr25519 or ed25519; treat the request as malformed.
      return !prehashed && Sr25519Verify(public_key, message, signature);
    case Scheme::kEd25519:
      return !prehashed && Ed25519Verify(public_key, message, signature);
    case Scheme::kEcdsa:
      return prehashed ? EcdsaVerifyPrehashed(public_key, message, signature)
                       : EcdsaVerify(public_key, message, signature);
  }
  return false;
}

}  // namespace keymgr
