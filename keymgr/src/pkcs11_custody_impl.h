// Pkcs11Custody::Impl: the session pool, the key stores and the caches one custody is made of.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "base/status.h"
#include "base/substrate_types.h"
#include "base/thread_annotations.h"
#include "keymgr/custody.h"
#include "keymgr/pkcs11_custody.h"
#include "keymgr/sr25519.h"
#include "pkcs11_disabled_cache.h"
#include "pkcs11_module.h"
#include "pkcs11_native_signer.h"
#include "pkcs11_native_store.h"
#include "pkcs11_unwrapped_cache.h"
#include "pkcs11_wrapped_keys.h"

namespace keymgr {

struct Pkcs11Custody::Impl {
  // Impl works through `pool`, stamps stored keys with `clock` and trusts a read of the disable
  // markers for `disabled_refresh`.
  Impl(std::unique_ptr<pkcs11::SessionPool> pool, int64_t (*clock)(),
       std::chrono::milliseconds disabled_refresh);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // CheckKeyTypeAndScheme fails with kInvalidArgument if `key_type` is not one a label can carry
  // (the rule of base::MakeKeyTypeId, which reads labels back) or Substrate requires another
  // scheme for it.
  static base::Status CheckKeyTypeAndScheme(const base::KeyTypeId& key_type, base::Scheme scheme);

  // EnsureAbsent fails with kInvalidArgument if any object of ours already carries `id`.
  base::Status EnsureAbsent(pkcs11::Session& session, const KeyId& id);
  // HoldsKey is true if the token has a private key or a wrapped secret for `id`.
  base::Result<bool> HoldsKey(pkcs11::Session& session, const KeyId& id);
  // StoreWrapped checks that `pair` is not stored yet, then stores it.
  base::Result<KeyInfo> StoreWrapped(pkcs11::Session& session, const base::KeyTypeId& key_type,
                                     const Sr25519Keypair& pair, bool generated)
      REQUIRES(write_mutex);
  // Forget drops what this process remembers of `id`: its unwrapped secret and its key handle.
  void Forget(const KeyId& id);

  const std::unique_ptr<pkcs11::SessionPool> pool;
  int64_t (*const clock)();
  // Serialises Generate/Import/Delete in this process so "is this identity already stored?" and the
  // write that follows are atomic, and the wrapping key is created at most once. It guards the
  // token's contents, not fields of this struct, so nothing here is GUARDED_BY it.
  base::Mutex write_mutex;
  pkcs11::NativeSigner native_signer;
  pkcs11::NativeKeyStore native_keys;
  pkcs11::WrappedKeys wrapped_keys;
  pkcs11::UnwrappedKeyCache unwrapped;
  // Last, so it is destroyed first: its refresher thread uses the pool and calls Forget.
  pkcs11::DisabledKeyCache disabled;
};

}  // namespace keymgr
