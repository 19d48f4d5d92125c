// ed25519 through libsodium, plus Substrate's "Ed25519HDKD" hard derivation.
#include "keymgr/ed25519.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "base/hash.h"

namespace keymgr {
namespace {

static_assert(crypto_sign_ed25519_SEEDBYTES == kEd25519SeedSize);
static_assert(crypto_sign_ed25519_PUBLICKEYBYTES == kEd25519PublicSize);
static_assert(crypto_sign_ed25519_BYTES == kEd25519SignatureSize);
constexpr size_t kSodiumSecretSize = crypto_sign_ed25519_SECRETKEYBYTES;

// SCALE(("Ed25519HDKD", seed, chain_code)): a compact-length-prefixed string, then two fixed
// arrays.
constexpr std::string_view kHdkdLabel = "Ed25519HDKD";
constexpr uint8_t kHdkdLabelCompactLength = kHdkdLabel.size() << 2;
static_assert(kHdkdLabel.size() < 64, "one-byte SCALE compact length");

void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) {
    std::fputs("keymgr: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

}  // namespace

base::Result<Ed25519Keypair> Ed25519Keypair::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != kEd25519SeedSize) {
    return base::Status::InvalidArgument("ed25519 seed must be 32 bytes");
  }
  EnsureSodium();
  base::SecretBytes secret(kSodiumSecretSize);
  Ed25519Public public_key{};
  if (crypto_sign_ed25519_seed_keypair(public_key.data(), secret.data(), seed.data()) != 0) {
    return base::Status::Internal("libsodium could not derive an ed25519 keypair");
  }
  return Ed25519Keypair(std::move(secret), public_key);
}

Ed25519Signature Ed25519Keypair::Sign(std::span<const uint8_t> message) const {
  Ed25519Signature signature{};
  crypto_sign_ed25519_detached(signature.data(), nullptr, message.data(), message.size(),
                               secret_.data());
  return signature;
}

Ed25519Keypair Ed25519Keypair::DeriveHard(const ChainCode& chain_code) const {
  std::array<uint8_t, 1 + kHdkdLabel.size() + kEd25519SeedSize + kChainCodeSize> encoded{};
  size_t offset = 0;
  encoded[offset++] = kHdkdLabelCompactLength;
  std::memcpy(encoded.data() + offset, kHdkdLabel.data(), kHdkdLabel.size());
  offset += kHdkdLabel.size();
  std::memcpy(encoded.data() + offset, seed().data(), kEd25519SeedSize);
  offset += kEd25519SeedSize;
  std::memcpy(encoded.data() + offset, chain_code.data(), kChainCodeSize);

  base::Hash256 child_seed = base::Blake2b256(encoded);
  base::Wipe(encoded);
  // A 32-byte seed is always accepted, so value() cannot fail here.
  Ed25519Keypair child = FromSeed(child_seed).value();
  base::Wipe(child_seed);
  return child;
}

bool Ed25519Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                   std::span<const uint8_t> signature) {
  if (public_key.size() != kEd25519PublicSize || signature.size() != kEd25519SignatureSize) {
    return false;
  }
  EnsureSodium();
  return crypto_sign_ed25519_verify_detached(signature.data(), message.data(), message.size(),
                                             public_key.data()) == 0;
}

}  // namespace keymgr
