// secp256k1 glue for HSM-held ecdsa keys: point encodings and Substrate's form of a signature.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/status.h"
#include "keymgr/ecdsa.h"

namespace keymgr::pkcs11 {

// kSecp256k1UncompressedSize is the size of an uncompressed point: 0x04 || x || y.
inline constexpr size_t kSecp256k1UncompressedSize = 65;
// kEcdsaCompactSize is the size of a raw r || s signature, as CKM_ECDSA returns it.
inline constexpr size_t kEcdsaCompactSize = 64;

// CompressSecp256k1 returns the compressed form of a point the HSM returned. Fails with kInternal
// if it is not a valid secp256k1 point.
base::Result<EcdsaPublic> CompressSecp256k1(std::span<const uint8_t> point);

// UncompressSecp256k1 returns the uncompressed form of a public key, as CKA_EC_POINT wants it.
// Fails with kInvalidArgument if it is not a valid secp256k1 public key.
base::Result<std::array<uint8_t, kSecp256k1UncompressedSize>> UncompressSecp256k1(
    std::span<const uint8_t> point);

// FinishEcdsa turns the HSM's raw r || s into Substrate's form: low-S, then the recovery id that
// recovers `public_key`. Fails closed (kInternal) when no recovery id does, i.e. the HSM signed
// with another key.
base::Result<EcdsaSignature> FinishEcdsa(std::span<const uint8_t, kEcdsaCompactSize> raw,
                                         std::span<const uint8_t> digest,
                                         std::span<const uint8_t> public_key);

}  // namespace keymgr::pkcs11
