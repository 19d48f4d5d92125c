// SecretBytes: guarded allocation, constant-time comparison and wiping through libsodium.
#include "base/secret_bytes.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace base {
namespace {

// EnsureSodium initialises libsodium once; sodium_init is thread-safe and idempotent.
void EnsureSodium() {
  if (sodium_init() < 0) {
    std::fputs("signer: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

}  // namespace

SecretBytes::SecretBytes(size_t size) {
  if (size == 0) {
    return;
  }
  EnsureSodium();
  void* memory = sodium_malloc(size);
  if (memory == nullptr) {
    // Without guarded, locked memory there is no safe place for the secret; stopping is the only
    // fail-closed option.
    std::fputs("signer: sodium_malloc failed (check RLIMIT_MEMLOCK)\n", stderr);
    std::abort();
  }
  data_ = static_cast<uint8_t*>(memory);
  size_ = size;
  sodium_memzero(data_, size_);
}

SecretBytes SecretBytes::CopyFrom(std::span<const uint8_t> bytes) {
  SecretBytes secret(bytes.size());
  if (!bytes.empty()) {
    std::memcpy(secret.data_, bytes.data(), bytes.size());
  }
  return secret;
}

SecretBytes::~SecretBytes() { Release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

bool SecretBytes::Equals(std::span<const uint8_t> other) const {
  if (other.size() != size_) {
    return false;
  }
  if (size_ == 0) {
    return true;
  }
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

void SecretBytes::Release() {
  if (data_ != nullptr) {
    // sodium_free zeroes the region before unmapping it.
    sodium_free(data_);
    data_ = nullptr;
    size_ = 0;
  }
}

void Wipe(std::span<uint8_t> bytes) {
  if (!bytes.empty()) {
    sodium_memzero(bytes.data(), bytes.size());
  }
}

}  // namespace base
