// ECDSA secp256k1 (libsecp256k1): Substrate's recoverable low-S signatures and hard derivation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/junction.h"

namespace keymgr {

inline constexpr size_t kEcdsaSeedSize = 32;
inline constexpr size_t kEcdsaPublicSize = 33;     // compressed point
inline constexpr size_t kEcdsaSignatureSize = 65;  // r || s || recovery id
inline constexpr size_t kEcdsaPrehashSize = 32;

using EcdsaPublic = std::array<uint8_t, kEcdsaPublicSize>;
using EcdsaSignature = std::array<uint8_t, kEcdsaSignatureSize>;

// EcdsaKeypair holds a secp256k1 secret key in SecretBytes. Move-only; const calls are thread-safe.
class EcdsaKeypair {
 public:
  // FromSeed uses the 32 bytes as the secret key. Fails with kInvalidArgument on a wrong length or
  // a value that is not a valid secret key (zero or not below the group order).
  static base::Result<EcdsaKeypair> FromSeed(std::span<const uint8_t> seed);

  const EcdsaPublic& public_key() const { return public_; }
  // seed returns the 32-byte secret key, for custody backends that import it. Never log it.
  std::span<const uint8_t> seed() const { return secret_.span(); }

  // Sign signs blake2_256(message) (Substrate's ecdsa::Pair::sign).
  EcdsaSignature Sign(std::span<const uint8_t> message) const;
  // SignPrehashed signs a 32-byte digest as given: RFC 6979 nonce, low-S, recovery id in the last
  // byte.
  EcdsaSignature SignPrehashed(std::span<const uint8_t, kEcdsaPrehashSize> digest) const;
  // DeriveHard returns the child for `chain_code`:
  // seed' = blake2_256(SCALE(("Secp256k1HDKD", seed, chain_code))). Fails if seed' is not a valid
  // key.
  base::Result<EcdsaKeypair> DeriveHard(const ChainCode& chain_code) const;

 private:
  EcdsaKeypair(base::SecretBytes secret, const EcdsaPublic& public_key)
      : secret_(std::move(secret)), public_(public_key) {}

  base::SecretBytes secret_;
  EcdsaPublic public_{};
};

// EcdsaVerify returns true only if the public key recovered from `signature` over
// blake2_256(message) equals `public_key` (Substrate's ecdsa::Pair::verify). Thread-safe.
[[nodiscard]] bool EcdsaVerify(std::span<const uint8_t> public_key,
                               std::span<const uint8_t> message,
                               std::span<const uint8_t> signature);
// EcdsaVerifyPrehashed is EcdsaVerify over a 32-byte digest given as is.
[[nodiscard]] bool EcdsaVerifyPrehashed(std::span<const uint8_t> public_key,
                                        std::span<const uint8_t> digest,
                                        std::span<const uint8_t> signature);

}  // namespace keymgr
