// Key custody: where validator keys live and the only way the signer reaches them.
//
// Every key is named by its KeyId, (4-byte key type, public key). A custody backend is the single
// source of truth for which keys exist: callers list keys through it and never keep their own key
// files. Thread safety: every KeyCustody method may be called from any number of threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/substrate_types.h"
#include "keymgr/ecdsa.h"
#include "keymgr/keypair.h"
#include "keymgr/sr25519.h"

namespace keymgr {

// KeyId names one key: its key type and its public key (32 bytes, or 33 for ecdsa).
struct KeyId {
  base::KeyTypeId key_type{};
  std::vector<uint8_t> public_key;

  friend bool operator==(const KeyId&, const KeyId&) = default;
  friend auto operator<=>(const KeyId&, const KeyId&) = default;
};

// KeyProtection says what stands between a key's secret and the signer process.
enum class KeyProtection {
  kHsmNonExtractable,  // the secret never leaves the HSM; it signs inside (ed25519, ecdsa over
                       // PKCS#11)
  kHsmWrapped,       // only an HSM-wrapped form is stored; plaintext exists in signer memory while
                     // loaded
  kSoftwareMemory,   // plain process memory (the test double in tests/support)
  kThresholdShares,  // t-of-n FROST shares held by key agents; no process ever holds the key
};

// KeyInfo is what a custody backend reports about one key; it never contains secret material.
struct KeyInfo {
  KeyId id;
  base::Scheme scheme = base::Scheme::kSr25519;
  KeyProtection protection = KeyProtection::kSoftwareMemory;
  // generated_in_custody is true when the secret was created inside the backend (HSM key generation
  // or HSM random generator), false when it was imported from outside.
  bool generated_in_custody = false;
  int64_t created_at_unix = 0;  // seconds since the epoch, UTC, as recorded when the key was stored
  // disabled is true for a key that is held but refuses to sign (`signerctl keys disable`).
  // KeyCustody::List never returns such keys, so it is only ever true in a backend's own
  // operator listing (Pkcs11Custody::ListAll).
  bool disabled = false;
};

// KeyCustody is the abstract key store the signing pipeline talks to.
// Every method is thread-safe. A key that is not held yields kNotFound (Substrate's Ok(None)); a
// backend that cannot be reached yields kUnavailable; no method ever returns a signature it could
// not check.
class KeyCustody {
 public:
  virtual ~KeyCustody() = default;

  // List returns every key the backend holds and will sign with, in no particular order: keys an
  // operator disabled are left out, so validators are never offered them.
  virtual base::Result<std::vector<KeyInfo>> List() = 0;
  // Generate creates a new key of `scheme` under `key_type` inside the backend and returns its
  // description. Fails with kInvalidArgument if `scheme` is not allowed for `key_type`.
  virtual base::Result<KeyInfo> Generate(const base::KeyTypeId& key_type, base::Scheme scheme) = 0;
  // Import stores a copy of `pair` under `key_type`. Fails with kInvalidArgument on a scheme not
  // allowed for `key_type` or a key that is already stored. The caller still owns and wipes `pair`.
  virtual base::Result<KeyInfo> Import(const base::KeyTypeId& key_type, const Keypair& pair) = 0;
  // Delete destroys every stored object of `id`. Fails with kNotFound if there is none.
  virtual base::Status Delete(const KeyId& id) = 0;
  // Holds is true when the backend stores key `id`, enabled or disabled (a disabled key keeps its
  // role), including keys stored by another process since this one started: protection asks it
  // which roles a public key holds, so a stale answer could leave a role unprotected. Fails with
  // kUnavailable when the backend cannot be reached.
  virtual base::Result<bool> Holds(const KeyId& id) = 0;

  // Sign signs `message` the way Substrate's Pair::sign does for `scheme` (ecdsa: over blake2_256
  // of it). Fails with kNotFound if `id` is not held as a `scheme` key (Substrate's sign_with with
  // a crypto id) or is disabled; every signing method below refuses a disabled key the same way.
  virtual base::Result<std::vector<uint8_t>> Sign(const KeyId& id, base::Scheme scheme,
                                                  std::span<const uint8_t> message) = 0;
  // SignBound is Sign for a request that may carry the preimage of `message` (the bytes it is the
  // hash of, such as a BABE header). Backends whose signers keep their own slashing protection (the
  // threshold backend: every key agent decides on the decoded payload itself) pass it on; backends
  // that sign in one place have no use for it, and the default is Sign.
  virtual base::Result<std::vector<uint8_t>> SignBound(
      const KeyId& id, base::Scheme scheme, std::span<const uint8_t> message,
      std::optional<std::span<const uint8_t>> preimage) {
    (void)preimage;
    return Sign(id, scheme, message);
  }
  // EcdsaSignPrehashed signs a 32-byte digest as given. Fails with kInvalidArgument on any other
  // length.
  virtual base::Result<EcdsaSignature> EcdsaSignPrehashed(const KeyId& id,
                                                          std::span<const uint8_t> digest) = 0;
  // VrfSign makes an sr25519 VRF signature of the input transcript `input` with the optional
  // `extra` transcript.
  virtual base::Result<Sr25519VrfSignature> VrfSign(
      const KeyId& id, const VrfTranscriptData& input,
      const std::optional<VrfTranscriptData>& extra) = 0;
  // VrfPreOutput returns the sr25519 VRF pre-output of `input` without a proof.
  virtual base::Result<Sr25519VrfPreOutput> VrfPreOutput(const KeyId& id,
                                                         const VrfTranscriptData& input) = 0;
};

}  // namespace keymgr
