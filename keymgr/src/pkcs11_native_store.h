// Storing ed25519 and ecdsa keys in the HSM: importing a secret once, or generating on the token.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <functional>
#include <span>
#include <utility>

#include "base/status.h"
#include "base/substrate_types.h"
#include "keymgr/custody.h"
#include "pkcs11_module.h"
#include "pkcs11_native_signer.h"

namespace keymgr::pkcs11 {

// NativeKeyStore creates HSM-native key pairs: token objects with CKA_SENSITIVE true and
// CKA_EXTRACTABLE false, named by their identity (pkcs11_labels.h), proven by a probe signature
// before they are reported stored. The caller serialises calls, so "is this identity already
// stored?" and the write that follows are atomic.
class NativeKeyStore {
 public:
  // EnsureAbsent fails with kInvalidArgument if the token already holds a key (of any scheme)
  // with the identity given.
  using EnsureAbsent = std::function<base::Status(Session&, const KeyId&)>;

  // NativeKeyStore probes new keys with `signer`, stamps them with `clock` (seconds since the
  // epoch) and checks identities with `ensure_absent`.
  NativeKeyStore(NativeSigner& signer, int64_t (*clock)(), EnsureAbsent ensure_absent)
      : signer_(signer), clock_(clock), ensure_absent_(std::move(ensure_absent)) {}

  // Import creates the private and public key objects for an ed25519 or ecdsa secret, then signs a
  // probe to prove the HSM interpreted the key material as intended. `check_absent` false means the
  // caller already knows the key is absent; `disabled` writes the disable marker first.
  base::Result<KeyInfo> Import(Session& session, const base::KeyTypeId& key_type,
                               base::Scheme scheme, std::span<const uint8_t> secret,
                               std::span<const uint8_t> public_key, bool check_absent,
                               bool disabled);
  // Generate generates the pair inside the HSM under a pending CKA_ID, reads the public key, then
  // relabels both objects with their identity.
  base::Result<KeyInfo> Generate(Session& session, const base::KeyTypeId& key_type,
                                 base::Scheme scheme);

 private:
  NativeSigner& signer_;
  int64_t (*const clock_)();
  const EnsureAbsent ensure_absent_;
};

}  // namespace keymgr::pkcs11
