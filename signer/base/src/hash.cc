// BLAKE2b and SHA-512 via libsodium, PBKDF2-HMAC-SHA512 via OpenSSL (Keccak256 is in keccak.cc).
#include "base/hash.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>

namespace base {
namespace {

// GenericHash is unkeyed BLAKE2b with the output length taken from `out`. crypto_generichash only
// fails for lengths outside 16..64, which the fixed-size callers below can never pass.
void GenericHash(std::span<uint8_t> out, std::span<const uint8_t> data) {
  static_assert(crypto_generichash_BYTES_MIN <= 32 && crypto_generichash_BYTES_MAX >= 64);
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
}

}  // namespace

Hash256 Blake2b256(std::span<const uint8_t> data) {
  Hash256 out{};
  GenericHash(out, data);
  return out;
}

Hash512 Blake2b512(std::span<const uint8_t> data) {
  Hash512 out{};
  GenericHash(out, data);
  return out;
}

Hash512 Sha512(std::span<const uint8_t> data) {
  static_assert(crypto_hash_sha512_BYTES == std::tuple_size_v<Hash512>);
  Hash512 out{};
  crypto_hash_sha512(out.data(), data.data(), data.size());
  return out;
}

Result<SecretBytes> Pbkdf2HmacSha512(std::span<const uint8_t> password,
                                     std::span<const uint8_t> salt, uint32_t iterations,
                                     size_t out_len) {
  // OpenSSL takes every length as int; refuse what would not fit rather than truncate silently.
  if (password.size() > INT_MAX || salt.size() > INT_MAX || out_len > INT_MAX) {
    return Status::InvalidArgument("PBKDF2 input or output is too long");
  }
  if (iterations == 0 || iterations > INT_MAX) {
    return Status::InvalidArgument("PBKDF2 iteration count is out of range");
  }
  if (out_len == 0) {
    return Status::InvalidArgument("PBKDF2 output length is zero");
  }
  SecretBytes out(out_len);
  const int ok = PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()),
                                   static_cast<int>(password.size()), salt.data(),
                                   static_cast<int>(salt.size()), static_cast<int>(iterations),
                                   EVP_sha512(), static_cast<int>(out_len), out.data());
  if (ok != 1) {
    return Status::Internal("PBKDF2-HMAC-SHA512 failed in OpenSSL");
  }
  return out;
}

}  // namespace base
