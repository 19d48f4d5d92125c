// ECDSA over secp256k1 via libsecp256k1 (recovery module) and "Secp256k1HDKD" derivation.
#include "keymgr/ecdsa.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "base/hash.h"

namespace keymgr {
namespace {

// SCALE(("Secp256k1HDKD", seed, chain_code)): a compact-length-prefixed string, then two fixed
// arrays.
constexpr std::string_view kHdkdLabel = "Secp256k1HDKD";
constexpr uint8_t kHdkdLabelCompactLength = kHdkdLabel.size() << 2;
static_assert(kHdkdLabel.size() < 64, "one-byte SCALE compact length");
constexpr size_t kCompactSignatureSize = 64;

// Context returns the process-wide context. It is created and randomised once (blinding against
// side channels); libsecp256k1 documents const use of a context as thread-safe after that.
const secp256k1_context* Context() {
  static const secp256k1_context* const context = [] {
    if (sodium_init() < 0) {
      std::fputs("keymgr: libsodium failed to initialise\n", stderr);
      std::abort();
    }
    secp256k1_context* created = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<uint8_t, 32> blinding{};
    randombytes_buf(blinding.data(), blinding.size());
    if (created == nullptr || secp256k1_context_randomize(created, blinding.data()) != 1) {
      std::fputs("keymgr: secp256k1 context setup failed\n", stderr);
      std::abort();
    }
    base::Wipe(blinding);
    return created;
  }();
  return context;
}

EcdsaPublic SerializeCompressed(const secp256k1_pubkey& point) {
  EcdsaPublic out{};
  size_t out_size = out.size();
  secp256k1_ec_pubkey_serialize(Context(), out.data(), &out_size, &point, SECP256K1_EC_COMPRESSED);
  return out;
}

}  // namespace

base::Result<EcdsaKeypair> EcdsaKeypair::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != kEcdsaSeedSize) {
    return base::Status::InvalidArgument("ecdsa seed must be 32 bytes");
  }
  if (secp256k1_ec_seckey_verify(Context(), seed.data()) != 1) {
    return base::Status::InvalidArgument("ecdsa seed is zero or not below the group order");
  }
  secp256k1_pubkey point;
  if (secp256k1_ec_pubkey_create(Context(), &point, seed.data()) != 1) {
    return base::Status::Internal("libsecp256k1 could not compute the public key");
  }
  return EcdsaKeypair(base::SecretBytes::CopyFrom(seed), SerializeCompressed(point));
}

EcdsaSignature EcdsaKeypair::Sign(std::span<const uint8_t> message) const {
  return SignPrehashed(base::Blake2b256(message));
}

EcdsaSignature EcdsaKeypair::SignPrehashed(
    std::span<const uint8_t, kEcdsaPrehashSize> digest) const {
  // A null nonce function selects RFC 6979, whose signatures libsecp256k1 always normalises to low
  // S.
  secp256k1_ecdsa_recoverable_signature recoverable;
  EcdsaSignature out{};
  if (secp256k1_ecdsa_sign_recoverable(Context(), &recoverable, digest.data(), secret_.data(),
                                       nullptr, nullptr) != 1) {
    // Only an invalid secret key makes signing fail, and FromSeed refuses those.
    std::fputs("keymgr: secp256k1 signing failed on a checked key\n", stderr);
    std::abort();
  }
  int recovery_id = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), out.data(), &recovery_id,
                                                          &recoverable);
  out[kCompactSignatureSize] = static_cast<uint8_t>(recovery_id);
  return out;
}

base::Result<EcdsaKeypair> EcdsaKeypair::DeriveHard(const ChainCode& chain_code) const {
  std::array<uint8_t, 1 + kHdkdLabel.size() + kEcdsaSeedSize + kChainCodeSize> encoded{};
  size_t offset = 0;
  encoded[offset++] = kHdkdLabelCompactLength;
  std::memcpy(encoded.data() + offset, kHdkdLabel.data(), kHdkdLabel.size());
  offset += kHdkdLabel.size();
  std::memcpy(encoded.data() + offset, secret_.data(), kEcdsaSeedSize);
  offset += kEcdsaSeedSize;
  std::memcpy(encoded.data() + offset, chain_code.data(), kChainCodeSize);

  base::Hash256 child_seed = base::Blake2b256(encoded);
  base::Wipe(encoded);
  base::Result<EcdsaKeypair> child = FromSeed(child_seed);
  base::Wipe(child_seed);
  return child;
}

bool EcdsaVerifyPrehashed(std::span<const uint8_t> public_key, std::span<const uint8_t> digest,
                          std::span<const uint8_t> signature) {
  if (public_key.size() != kEcdsaPublicSize || digest.size() != kEcdsaPrehashSize ||
      signature.size() != kEcdsaSignatureSize) {
    return false;
  }
  // A recovery id above 3 must be refused here: libsecp256k1 treats it as API misuse and aborts.
  const uint8_t recovery_id = signature[kCompactSignatureSize];
  if (recovery_id > 3) {
    return false;
  }
  // parse_compact refuses r or s not below the group order.
  secp256k1_ecdsa_recoverable_signature recoverable;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(Context(), &recoverable, signature.data(),
                                                          recovery_id) != 1) {
    return false;
  }
  secp256k1_pubkey recovered;
  if (secp256k1_ecdsa_recover(Context(), &recovered, &recoverable, digest.data()) != 1) {
    return false;
  }
  const EcdsaPublic recovered_bytes = SerializeCompressed(recovered);
  return std::memcmp(recovered_bytes.data(), public_key.data(), kEcdsaPublicSize) == 0;
}

bool EcdsaVerify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                 std::span<const uint8_t> signature) {
  return EcdsaVerifyPrehashed(public_key, base::Blake2b256(message), signature);
}

}  // namespace keymgr
