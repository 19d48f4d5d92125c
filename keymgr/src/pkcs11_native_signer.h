// Signing with the ed25519 and ecdsa keys that live inside the HSM, by remembered key handles.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/substrate_types.h"
#include "base/thread_annotations.h"
#include "keymgr/custody.h"
#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "pkcs11_disabled_cache.h"
#include "pkcs11_module.h"

namespace keymgr::pkcs11 {

// Pkcs11KeyType returns the PKCS#11 key type of an HSM-native scheme (ed25519 or ecdsa).
CK_KEY_TYPE Pkcs11KeyType(base::Scheme scheme);

// NativeSigner signs with HSM-native private keys and remembers their handles, so a signature
// needs no C_FindObjects: SoftHSM2's file store re-reads its object directory on every search,
// which cost ~8% of signerd's CPU. PKCS#11 token-object handles are shared by every session of the
// application, so one map serves the pool. Only a hint: each use re-reads the handle's class, key
// type and CKA_ID (one attribute call, much cheaper than a search), because another process may
// delete the key and the module may reuse the number for a new object; a mismatch or an invalid
// handle falls back to a search. Thread-safe.
class NativeSigner {
 public:
  // NativeSigner signs in sessions from `pool`, each signature only once `check_enabled` passed
  // for the object it is made with.
  NativeSigner(SessionPool& pool, EnabledCheck check_enabled)
      : pool_(pool), check_enabled_(std::move(check_enabled)) {}
  NativeSigner(const NativeSigner&) = delete;
  NativeSigner& operator=(const NativeSigner&) = delete;

  // SignEd25519 signs `message` with the ed25519 key `id` and verifies the signature, failing
  // closed (kInternal) on a faulty HSM or a key object that does not match its label.
  base::Result<Ed25519Signature> SignEd25519(const KeyId& id, std::span<const uint8_t> message);
  // SignEcdsaDigest signs the 32-byte `digest` with the ecdsa key `id`, in Substrate's recoverable
  // form (FinishEcdsa).
  base::Result<EcdsaSignature> SignEcdsaDigest(const KeyId& id, std::span<const uint8_t> digest);
  // ProbeNew proves the private key just stored at `private_key` signs as `id`. Its handle is
  // remembered first (replacing any handle of an earlier key of this id), so the probe checks it
  // with one attribute read instead of searching the token, which walks every object and so made
  // storing n keys (a restore) cost O(n^2). On failure the handle is forgotten; the caller
  // destroys the objects.
  base::Status ProbeNew(Session& session, const KeyId& id, base::Scheme scheme,
                        CK_OBJECT_HANDLE private_key) EXCLUDES(hint_mutex_);
  // RememberListed remembers the private key handles a listing of the token begun at `listed_at`
  // found, for keys that have none remembered yet, so a first signature with a key does not search
  // the token. Only hints: each use checks the handle as it checks any other.
  void RememberListed(const std::vector<std::pair<KeyId, CK_OBJECT_HANDLE>>& keys,
                      std::chrono::steady_clock::time_point listed_at) EXCLUDES(hint_mutex_);
  // Forget drops the remembered handle of `id`. Delete, Disable, Enable, Import and Generate call
  // it for their key.
  void Forget(const KeyId& id) EXCLUDES(hint_mutex_);

 private:
  // FoundKey is a private key handle and when the search (or listing) that found it began.
  struct FoundKey {
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    std::chrono::steady_clock::time_point found_at;
  };

  // CachedPrivateKey returns the private key of `id`: the remembered handle if it still names the
  // key (`from_cache` true), otherwise by one search, whose result is remembered.
  base::Result<FoundKey> CachedPrivateKey(Session& session, const KeyId& id, CK_KEY_TYPE key_type,
                                          bool& from_cache) EXCLUDES(hint_mutex_);
  // SignRaw runs one single-part signature with the private key of `id` and `scheme` into `out`.
  base::Status SignRaw(const KeyId& id, base::Scheme scheme, CK_MECHANISM_TYPE mechanism_type,
                       std::span<const uint8_t> data, std::span<uint8_t, 64> out);
  // SignRawIn is SignRaw in the caller's session; without `check_enabled` (the probe of a key
  // being stored, which may be stored disabled) the disable markers are not consulted.
  base::Status SignRawIn(Session& session, const KeyId& id, base::Scheme scheme,
                         CK_MECHANISM_TYPE mechanism_type, std::span<const uint8_t> data,
                         std::span<uint8_t, 64> out, bool check_enabled);
  // ProbeSign signs a fixed probe with the stored key and verifies it against the key's identity.
  base::Status ProbeSign(Session& session, const KeyId& id, base::Scheme scheme);

  SessionPool& pool_;
  const EnabledCheck check_enabled_;
  base::Mutex hint_mutex_;
  std::map<KeyId, FoundKey> hints_ GUARDED_BY(hint_mutex_);
};

}  // namespace keymgr::pkcs11
