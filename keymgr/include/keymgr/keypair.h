// Scheme-generic keypairs: sr25519, ed25519 or ecdsa chosen at run time (CLI, config, custody).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "base/substrate_types.h"
#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "keymgr/sr25519.h"

namespace keymgr {

// Keypair is one keypair of any scheme. Move-only; const calls are thread-safe.
class Keypair {
 public:
  explicit Keypair(Sr25519Keypair pair) : pair_(std::move(pair)) {}
  explicit Keypair(Ed25519Keypair pair) : pair_(std::move(pair)) {}
  explicit Keypair(EcdsaKeypair pair) : pair_(std::move(pair)) {}

  base::Scheme scheme() const;
  std::vector<uint8_t> public_key() const;
  // Sign signs `message` the way Substrate's Pair::sign does for the scheme (ecdsa hashes it
  // first).
  std::vector<uint8_t> Sign(std::span<const uint8_t> message) const;
  // SignPrehashed signs a 32-byte digest; only ecdsa supports it. Fails with kInvalidArgument for
  // other schemes or a digest that is not 32 bytes.
  base::Result<std::vector<uint8_t>> SignPrehashed(std::span<const uint8_t> digest) const;

  const Sr25519Keypair* sr25519() const { return std::get_if<Sr25519Keypair>(&pair_); }
  const Ed25519Keypair* ed25519() const { return std::get_if<Ed25519Keypair>(&pair_); }
  const EcdsaKeypair* ecdsa() const { return std::get_if<EcdsaKeypair>(&pair_); }

 private:
  std::variant<Sr25519Keypair, Ed25519Keypair, EcdsaKeypair> pair_;
};

// KeypairFromSuri builds the keypair `suri` names for `scheme`, applying its path.
// Fails with kInvalidArgument on a malformed SURI, a bad phrase or seed, or a soft junction for
// ed25519/ecdsa (they support hard derivation only).
base::Result<Keypair> KeypairFromSuri(base::Scheme scheme, std::string_view suri);

// VerifySignature checks `signature` over `message` for `scheme` (ecdsa: over blake2_256(message),
// or over `message` itself when `prehashed`). Returns false on any malformed input.
[[nodiscard]] bool VerifySignature(base::Scheme scheme, std::span<const uint8_t> public_key,
                                   std::span<const uint8_t> message,
                                   std::span<const uint8_t> signature, bool prehashed = false);

}  // namespace keymgr
