// Hash functions Substrate uses: blake2b-256/512, keccak-256, SHA-512, and PBKDF2-HMAC-SHA512.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "base/substrate_types.h"

namespace base {

// Blake2b256 is unkeyed BLAKE2b with a 32-byte output (Substrate's blake2_256). Thread-safe.
Hash256 Blake2b256(std::span<const uint8_t> data);
// Blake2b512 is unkeyed BLAKE2b with a 64-byte output. Thread-safe.
Hash512 Blake2b512(std::span<const uint8_t> data);
// Keccak256 is the original Keccak (padding 0x01), not SHA3-256, as Ethereum and BEEFY use.
// Thread-safe.
Hash256 Keccak256(std::span<const uint8_t> data);
// KeccakF1600 applies the 24-round Keccak-f[1600] permutation to `state` in place (the lanes as
// little-endian 64-bit words): the core of Keccak256 and of STROBE/Merlin.
void KeccakF1600(std::array<uint64_t, 25>& state);
// Sha512 is FIPS 180-4 SHA-512. Thread-safe.
Hash512 Sha512(std::span<const uint8_t> data);

// Pbkdf2HmacSha512 derives `out_len` bytes into guarded memory. Fails with kInternal if OpenSSL
// fails.
Result<SecretBytes> Pbkdf2HmacSha512(std::span<const uint8_t> password,
                                     std::span<const uint8_t> salt, uint32_t iterations,
                                     size_t out_len);

}  // namespace base
