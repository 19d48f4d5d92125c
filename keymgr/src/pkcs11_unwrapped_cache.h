// The unwrapped sr25519 secrets held in memory, each trusted only while its wrapped object lasts.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "keymgr/custody.h"
#include "keymgr/sr25519.h"
#include "pkcs11_disabled_cache.h"
#include "pkcs11_module.h"
#include "pkcs11_wrapped_keys.h"

namespace keymgr::pkcs11 {

// UnwrappedKeyCache keeps each sr25519 key unwrapped after its first use, with the token object it
// was unwrapped from. The plaintext is a copy of a key another process may delete at any time
// (`signerctl keys delete` beside signerd), so an entry is trusted only while that object still is
// the key: every use re-reads it, as an HSM-native key's remembered handle is re-read. Thread-safe.
class UnwrappedKeyCache {
 public:
  // UnwrappedKeyCache finds and unwraps keys through `wrapped` in sessions from `pool`, and hands
  // a key out for signing only once `check_enabled` passed for the object it came from.
  UnwrappedKeyCache(SessionPool& pool, WrappedKeys& wrapped, EnabledCheck check_enabled)
      : pool_(pool), wrapped_(wrapped), check_enabled_(std::move(check_enabled)) {}
  UnwrappedKeyCache(const UnwrappedKeyCache&) = delete;
  UnwrappedKeyCache& operator=(const UnwrappedKeyCache&) = delete;

  // Load returns the unwrapped key `id`. A remembered one is used only after one attribute read
  // shows its wrapped object still on the token (WrappedObjectStillNames); otherwise the token is
  // searched and the key unwrapped again, or kNotFound is returned and the stale secret wiped. This
  // is what makes a delete by another process stop sr25519 signing at the next call. For
  // kToSign, the disable markers are checked for the object found before it is unwrapped (a
  // disabled key fails with kNotFound); a backup (kToBackUp) takes disabled keys too.
  enum class Purpose { kToSign, kToBackUp };
  base::Result<std::shared_ptr<const Sr25519Keypair>> Load(const KeyId& id, Purpose purpose)
      EXCLUDES(mutex_);
  // Forget drops the secret of `id`, if loaded.
  void Forget(const KeyId& id) EXCLUDES(mutex_);
  // Clear drops every secret.
  void Clear() EXCLUDES(mutex_);
  // Count returns how many secrets are loaded.
  size_t Count() const EXCLUDES(mutex_);

 private:
  // Entry is an unwrapped key and the token object it was unwrapped from.
  struct Entry {
    // shared_ptr so Clear never frees a key under a signer: the secret is wiped when its last user
    // finishes.
    std::shared_ptr<const Sr25519Keypair> pair;
    CK_OBJECT_HANDLE wrapped_object = CK_INVALID_HANDLE;
    // When the search or listing that found `wrapped_object` began (WrappedObject::found_at).
    std::chrono::steady_clock::time_point found_at;
  };

  // ForgetIfStill drops the secret of `id` if it is still `pair` (a concurrent call may already
  // have put a fresh one in its place).
  void ForgetIfStill(const KeyId& id, const std::shared_ptr<const Sr25519Keypair>& pair)
      EXCLUDES(mutex_);

  SessionPool& pool_;
  WrappedKeys& wrapped_;
  const EnabledCheck check_enabled_;
  mutable base::Mutex mutex_;
  std::map<KeyId, Entry> loaded_ GUARDED_BY(mutex_);
};

}  // namespace keymgr::pkcs11
