// SecretBytes: the one type that holds secret key material, in guarded, locked, wiped memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace base {

// SecretBytes owns a fixed-size buffer allocated with libsodium's sodium_malloc: guard pages around
// it, mlock'ed so it is never swapped, and zeroed with sodium_memzero before it is freed.
// Move-only; it has no stream operator and no conversion to string, so it cannot be printed or
// logged. Allocation failure (for example RLIMIT_MEMLOCK exhausted) aborts: a signer that cannot
// protect a secret must not continue with an unprotected copy. Thread-compatible.
class SecretBytes {
 public:
  SecretBytes() = default;
  // SecretBytes(size) allocates `size` zeroed bytes.
  explicit SecretBytes(size_t size);
  // SecretBytes::CopyFrom copies `bytes` into a new guarded buffer. The caller wipes its own copy.
  static SecretBytes CopyFrom(std::span<const uint8_t> bytes);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

  // SecretBytes::Equals compares in constant time for equal sizes.
  bool Equals(std::span<const uint8_t> other) const;

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Wipe zeroes `bytes` in a way the compiler cannot elide (sodium_memzero). Use it on stack
// temporaries.
void Wipe(std::span<uint8_t> bytes);

}  // namespace base
