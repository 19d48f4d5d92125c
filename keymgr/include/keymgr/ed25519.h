// ed25519 (RFC 8032, libsodium): keys from 32-byte seeds, signatures, Substrate hard derivation.
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

inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519PublicSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

using Ed25519Public = std::array<uint8_t, kEd25519PublicSize>;
using Ed25519Signature = std::array<uint8_t, kEd25519SignatureSize>;

// Ed25519Keypair holds the seed and libsodium's expanded secret in SecretBytes. Move-only;
// const calls are thread-safe.
class Ed25519Keypair {
 public:
  // FromSeed builds the keypair of a 32-byte RFC 8032 seed. Fails with kInvalidArgument on a wrong
  // length.
  static base::Result<Ed25519Keypair> FromSeed(std::span<const uint8_t> seed);

  const Ed25519Public& public_key() const { return public_; }
  // seed returns the 32-byte seed, for custody backends that import it. Never log it.
  std::span<const uint8_t> seed() const { return secret_.span().first(kEd25519SeedSize); }

  // Sign returns the deterministic RFC 8032 signature of `message`.
  Ed25519Signature Sign(std::span<const uint8_t> message) const;
  // DeriveHard returns the child for `chain_code`:
  // seed' = blake2_256(SCALE(("Ed25519HDKD", seed, chain_code))).
  Ed25519Keypair DeriveHard(const ChainCode& chain_code) const;

 private:
  Ed25519Keypair(base::SecretBytes secret, const Ed25519Public& public_key)
      : secret_(std::move(secret)), public_(public_key) {}

  base::SecretBytes secret_;  // libsodium's 64-byte secret key: seed || public
  Ed25519Public public_{};
};

// Ed25519Verify returns true only if `signature` is a valid RFC 8032 signature of `message` by
// `public_key` (libsodium's strict verification). Thread-safe.
[[nodiscard]] bool Ed25519Verify(std::span<const uint8_t> public_key,
                                 std::span<const uint8_t> message,
                                 std::span<const uint8_t> signature);

}  // namespace keymgr
