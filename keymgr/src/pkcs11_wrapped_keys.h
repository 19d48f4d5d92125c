// sr25519 secrets stored HSM-wrapped on the token: the wrapping key, wrap, unwrap, store and find.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "base/substrate_types.h"
#include "base/thread_annotations.h"
#include "keymgr/custody.h"
#include "keymgr/sr25519.h"
#include "pkcs11_labels.h"
#include "pkcs11_module.h"

namespace keymgr::pkcs11 {

// WrappedObject is a token data object holding a wrapped sr25519 secret, and what its label says.
// `found_at` is when the search or listing that found it began: its disable markers must be read
// no earlier than that (DisabledKeyCache::CheckEnabledSince); unknown, it asks for a read begun
// after its use.
struct WrappedObject {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  ParsedLabel label;
  std::chrono::steady_clock::time_point found_at = std::chrono::steady_clock::time_point::max();
};

// ListWrapped returns every sr25519 data object of ours whose label parses.
base::Result<std::vector<WrappedObject>> ListWrapped(Session& session);

// WrappedObjectStillNames reads the class, application and label of `object` in one attribute
// call: true only if it is still our wrapped secret of `id`; false if it is gone or now something
// else (the module may reuse the number). Other module errors (session lost, token removed) fail.
base::Result<bool> WrappedObjectStillNames(Session& session, CK_OBJECT_HANDLE object,
                                           const KeyId& id);

// FindWrappingKey returns the AES key that wraps every sr25519 secret; kNotFound before the first
// sr25519 key is stored.
base::Result<CK_OBJECT_HANDLE> FindWrappingKey(Session& session);

// EnsureWrappingKey finds the AES-256 wrapping key or creates it: a token key that can wrap and
// unwrap but never be read, exported, or used to encrypt arbitrary data. The caller serialises
// calls, so the key is created at most once.
base::Result<CK_OBJECT_HANDLE> EnsureWrappingKey(Session& session);

// WrapSecret returns the CKM_AES_KEY_WRAP_PAD wrapping of `secret` under `wrapping_key`. The secret
// enters the HSM only as a sensitive session object that is destroyed before returning; it is never
// written to the token.
base::Result<std::vector<uint8_t>> WrapSecret(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                              std::span<const uint8_t> secret);

// UnwrapSecret recovers what WrapSecret wrapped, straight into SecretBytes (at most `max_size`
// bytes; a longer secret fails with kInternal). AES key wrap authenticates, so a wrong key or
// altered bytes fail.
base::Result<base::SecretBytes> UnwrapSecret(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                             std::span<const uint8_t> wrapped, size_t max_size);

// UnwrapWith recovers the 64-byte secret of `object` with `wrapping_key` straight into SecretBytes
// and checks it against the identity the object claims; a mismatch (swapped or corrupted object)
// fails closed.
base::Result<Sr25519Keypair> UnwrapWith(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                        const WrappedObject& object);

// WrappedKeys stores and finds wrapped sr25519 secrets, remembering where it last saw each object
// and the wrapping key. Thread-safe.
class WrappedKeys {
 public:
  // WrappedKeys stamps stored keys with `clock` (seconds since the epoch).
  explicit WrappedKeys(int64_t (*clock)()) : clock_(clock) {}
  WrappedKeys(const WrappedKeys&) = delete;
  WrappedKeys& operator=(const WrappedKeys&) = delete;

  // Scan lists every wrapped object (ListWrapped) and remembers where each one is.
  base::Result<std::vector<WrappedObject>> Scan(Session& session) EXCLUDES(hint_mutex_);
  // RememberListed replaces what is remembered of where wrapped objects are with `objects`, the
  // wrapped objects a complete listing of the token found (what Scan remembers).
  void RememberListed(const std::vector<WrappedObject>& objects) EXCLUDES(hint_mutex_);
  // RememberWrappingKey makes `handle`, the one wrapping key a listing found, the first handle
  // Unwrap tries. Only a hint, like the one Unwrap keeps itself: a wrong key cannot unwrap.
  void RememberWrappingKey(CK_OBJECT_HANDLE handle) EXCLUDES(wrapping_key_mutex_);
  // Find finds the wrapped object of `id`: where it was last seen if the object there still is
  // ours and still names `id`, otherwise by scanning every wrapped object (which also finds
  // duplicates, an error). Fails with kNotFound if the token holds no wrapped secret of `id`.
  base::Result<WrappedObject> Find(Session& session, const KeyId& id) EXCLUDES(hint_mutex_);
  // Unwrap is UnwrapWith with the wrapping key looked up (where it was last found, if it still
  // unwraps `object`).
  base::Result<Sr25519Keypair> Unwrap(Session& session, const WrappedObject& object)
      EXCLUDES(wrapping_key_mutex_);
  // Store wraps `pair` and writes the data object, then unwraps it again to prove the stored form
  // works before reporting success. With `disabled`, the disable marker is written first, so no
  // reader ever sees the key enabled. The caller has checked that the key is absent and serialises
  // writes.
  base::Result<KeyInfo> Store(Session& session, CK_OBJECT_HANDLE wrapping_key,
                              const base::KeyTypeId& key_type, const Sr25519Keypair& pair,
                              bool generated, bool disabled);

 private:
  void Remember(const KeyId& id, CK_OBJECT_HANDLE handle) EXCLUDES(hint_mutex_);

  int64_t (*const clock_)();
  // Where each wrapped object was last seen. Only a hint: a hit is checked against the token, a
  // miss scans it. It makes finding one key cost a few attribute reads instead of one per key held.
  base::Mutex hint_mutex_;
  struct Hint {
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    std::chrono::steady_clock::time_point found_at;
  };
  std::map<KeyId, Hint> hints_ GUARDED_BY(hint_mutex_);
  base::Mutex wrapping_key_mutex_;
  CK_OBJECT_HANDLE wrapping_key_hint_ GUARDED_BY(wrapping_key_mutex_) = CK_INVALID_HANDLE;
};

}  // namespace keymgr::pkcs11
