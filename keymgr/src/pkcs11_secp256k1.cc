// secp256k1 glue for HSM-held ecdsa keys, over libsecp256k1.
#include "pkcs11_secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>

namespace keymgr::pkcs11 {
namespace {

const secp256k1_context* Secp256k1() {
  static secp256k1_context* context = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  return context;
}

}  // namespace

base::Result<EcdsaPublic> CompressSecp256k1(std::span<const uint8_t> point) {
  secp256k1_pubkey parsed;
  if (secp256k1_ec_pubkey_parse(Secp256k1(), &parsed, point.data(), point.size()) != 1) {
    return base::Status::Internal("HSM returned an invalid secp256k1 point");
  }
  EcdsaPublic compressed{};
  size_t size = compressed.size();
  (void)secp256k1_ec_pubkey_serialize(Secp256k1(), compressed.data(), &size, &parsed,
                                      SECP256K1_EC_COMPRESSED);
  return compressed;
}

base::Result<std::array<uint8_t, kSecp256k1UncompressedSize>> UncompressSecp256k1(
    std::span<const uint8_t> point) {
  secp256k1_pubkey parsed;
  if (secp256k1_ec_pubkey_parse(Secp256k1(), &parsed, point.data(), point.size()) != 1) {
    return base::Status::InvalidArgument("invalid secp256k1 public key");
  }
  std::array<uint8_t, kSecp256k1UncompressedSize> uncompressed{};
  size_t size = uncompressed.size();
  (void)secp256k1_ec_pubkey_serialize(Secp256k1(), uncompressed.data(), &size, &parsed,
                                      SECP256K1_EC_UNCOMPRESSED);
  return uncompressed;
}

base::Result<EcdsaSignature> FinishEcdsa(std::span<const uint8_t, kEcdsaCompactSize> raw,
                                         std::span<const uint8_t> digest,
                                         std::span<const uint8_t> public_key) {
  secp256k1_ecdsa_signature signature;
  if (secp256k1_ecdsa_signature_parse_compact(Secp256k1(), &signature, raw.data()) != 1) {
    return base::Status::Internal("HSM returned an unparsable ECDSA signature");
  }
  (void)secp256k1_ecdsa_signature_normalize(Secp256k1(), &signature, &signature);
  EcdsaSignature out{};
  (void)secp256k1_ecdsa_signature_serialize_compact(Secp256k1(), out.data(), &signature);
  for (int recovery_id = 0; recovery_id < 4; ++recovery_id) {
    secp256k1_ecdsa_recoverable_signature recoverable;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(Secp256k1(), &recoverable, out.data(),
                                                            recovery_id) != 1) {
      continue;
    }
    secp256k1_pubkey recovered;
    if (secp256k1_ecdsa_recover(Secp256k1(), &recovered, &recoverable, digest.data()) != 1)
      continue;
    EcdsaPublic compressed{};
    size_t size = compressed.size();
    (void)secp256k1_ec_pubkey_serialize(Secp256k1(), compressed.data(), &size, &recovered,
                                        SECP256K1_EC_COMPRESSED);
    if (std::equal(compressed.begin(), compressed.end(), public_key.begin(), public_key.end())) {
      out[kEcdsaSignatureSize - 1] = static_cast<uint8_t>(recovery_id);
      return out;
    }
  }
  return base::Status::Internal("HSM ECDSA signature does not recover the key's public key");
}

}  // namespace keymgr::pkcs11
