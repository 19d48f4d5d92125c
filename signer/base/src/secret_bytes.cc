// SecretBytes: guarded, locked allocation, constant-time comparison and wiping through libsodium.
#include "base/secret_bytes.h"

#include <sodium.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
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

// MemlockLimitText describes the soft RLIMIT_MEMLOCK for the abort message.
void MemlockLimitText(char* out, size_t out_size) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0) {
    std::snprintf(out, out_size, "unknown");
  } else if (limit.rlim_cur == RLIM_INFINITY) {
    std::snprintf(out, out_size, "unlimited");
  } else {
    std::snprintf(out, out_size, "%" PRIuMAX " bytes", static_cast<uintmax_t>(limit.rlim_cur));
  }
}

// LockOrAbort makes sure the pages holding the `size` bytes at `data` are locked in memory.
// sodium_malloc calls mlock but ignores its result, so once RLIMIT_MEMLOCK is used up it returns
// memory that can be swapped out, silently. Locking the same pages again tells the two cases
// apart: the kernel does not count pages that are already locked against the limit, so this
// succeeds exactly when they are locked. On failure the buffer is freed (it holds nothing yet) and
// the process stops with a message naming the limit: a swappable secret is worse than a stopped
// process, and the operator must see why it stopped.
void LockOrAbort(uint8_t* data, size_t size) {
  const auto page_size = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uint8_t* const first_page = data - (reinterpret_cast<uintptr_t>(data) & (page_size - 1));
  if (::mlock(first_page, static_cast<size_t>(data + size - first_page)) == 0) {
    return;
  }
  const int lock_errno = errno;
  sodium_free(data);
  char limit[48];
  MemlockLimitText(limit, sizeof limit);
  std::fprintf(
      stderr,
      "signer: cannot lock %zu bytes of secret memory (mlock: %s; RLIMIT_MEMLOCK is %s); "
      "stopping rather than keep a secret in swappable memory: raise the limit (ulimit -l, "
      "systemd LimitMEMLOCK=)\n",
      size, std::strerror(lock_errno), limit);
  std::abort();
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
  LockOrAbort(static_cast<uint8_t*>(memory), size);
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
