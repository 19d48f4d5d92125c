// PKCS#11 custody: ed25519/ecdsa keys never leave the HSM; sr25519 secrets are stored HSM-wrapped.
//
// Custody model (docs/custody.md has the full description):
//  - ed25519 (`gran`) and ecdsa secp256k1 (`beef`): private keys are token objects with
//    CKA_SENSITIVE true and CKA_EXTRACTABLE false; they are generated in the HSM (or imported
//    once) and sign inside it.
//  - sr25519 (every other key type): no HSM implements schnorrkel, so the 64-byte secret is
//    wrapped with a non-extractable AES-256 token key (CKM_AES_KEY_WRAP_PAD) and only the wrapped
//    form is stored, as a CKO_DATA token object. It is unwrapped into SecretBytes when first used,
//    re-checked against its wrapped object on every use, and wiped when that object is gone or
//    names another key (deleted here or by another process), when the key is disabled, on
//    UnloadSecrets and on destruction.
//  - Every object carries its identity: CKA_ID = key type (4 bytes) || public key on key objects,
//    and CKA_LABEL = "<key type>:<public key hex>:<created-at unix seconds>" on all of them.
//  - A disabled key has a second CKO_DATA token object, its disable marker, labelled
//    "<key type>:<public key hex>"; the token stays the only record of which keys may sign.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/custody.h"
#include "keymgr/frost.h"
#include "keymgr/threshold.h"

namespace keymgr {

// ReadPinFromFile reads a token PIN from `path`: a regular file (symlinks refused) readable by
// nobody but its owner (mode 0600, 0400 or stricter). A single trailing newline is dropped. Fails
// with kInvalidArgument if the file is group- or world-accessible or empty, kNotFound if it does
// not exist. PINs never come from argv.
base::Result<base::SecretBytes> ReadPinFromFile(const std::string& path);
// ReadPinFromEnv reads a token PIN from the environment variable `name`. Fails with kNotFound if it
// is unset or empty. The caller should unset the variable afterwards so child processes do not
// inherit it.
base::Result<base::SecretBytes> ReadPinFromEnv(const std::string& name);

// Pkcs11Config says which module, token and user PIN to use. Move-only because of the PIN.
struct Pkcs11Config {
  std::string module_path;  // shared object implementing PKCS#11, loaded with dlopen
  std::string token_label;  // CK_TOKEN_INFO label (trailing blanks ignored)
  base::SecretBytes pin;    // user PIN; see ReadPinFromFile / ReadPinFromEnv
  size_t max_sessions = 4;  // upper bound on concurrently open sessions (one per signing thread)
  int64_t (*clock)() =
      nullptr;  // seconds since the epoch for created-at; nullptr means the system clock
  // disabled_refresh bounds how long a sign call may rely on an earlier read of the token's disable
  // markers: a key disabled by another process (`signerctl keys disable` beside a running signerd)
  // stops signing here at most this long after the marker was written. Reading the markers costs
  // one PKCS#11 search, so refreshing them on every call would slow every signature down. Zero
  // re-reads them on every sign call.
  std::chrono::milliseconds disabled_refresh = std::chrono::seconds(2);
};

// Pkcs11Custody implements KeyCustody over a PKCS#11 token. Thread-safe: each call borrows its own
// session from a pool, because a PKCS#11 session runs one operation at a time. Module errors map to
// kUnavailable (module missing or gone, token absent, PIN rejected, session lost), kNotFound (key
// not on the token), kInvalidArgument (bad input) and kInternal (anything a conforming module
// should not do, or a signature that fails to verify).
class Pkcs11Custody final : public KeyCustody, public FrostShareStore {
 public:
  // Open loads the module, finds the token by label, opens a session and logs in as the user.
  // Fails with kUnavailable on a module that cannot be loaded, an unknown token label, or a
  // rejected PIN.
  static base::Result<std::unique_ptr<Pkcs11Custody>> Open(Pkcs11Config config);
  ~Pkcs11Custody() override;

  Pkcs11Custody(const Pkcs11Custody&) = delete;
  Pkcs11Custody& operator=(const Pkcs11Custody&) = delete;

  base::Result<std::vector<KeyInfo>> List() override;
  base::Result<KeyInfo> Generate(const base::KeyTypeId& key_type, base::Scheme scheme) override;
  base::Result<KeyInfo> Import(const base::KeyTypeId& key_type, const Keypair& pair) override;
  base::Status Delete(const KeyId& id) override;
  // Holds searches the token (one C_FindObjects pass, two for sr25519), so it sees keys that
  // another process stored or deleted; disabled keys count as held.
  base::Result<bool> Holds(const KeyId& id) override;
  base::Result<std::vector<uint8_t>> Sign(const KeyId& id, base::Scheme scheme,
                                          std::span<const uint8_t> message) override;
  base::Result<EcdsaSignature> EcdsaSignPrehashed(const KeyId& id,
                                                  std::span<const uint8_t> digest) override;
  base::Result<Sr25519VrfSignature> VrfSign(const KeyId& id, const VrfTranscriptData& input,
                                            const std::optional<VrfTranscriptData>& extra) override;
  base::Result<Sr25519VrfPreOutput> VrfPreOutput(const KeyId& id,
                                                 const VrfTranscriptData& input) override;

  // ListAll returns every key on the token, disabled ones included (KeyInfo::disabled true), for
  // operator tools; signing paths use List. Fails as List does.
  base::Result<std::vector<KeyInfo>> ListAll();
  // Disable writes the disable marker of `id`, so the key stays on the token (it can be enabled
  // again, backed up or deleted) but signs nothing: in this instance at once, in other processes
  // within their Pkcs11Config::disabled_refresh. Its unwrapped sr25519 secret, if loaded, is wiped.
  // Disabling a disabled key succeeds and changes nothing. Fails with kNotFound if the token holds
  // no key `id`.
  base::Status Disable(const KeyId& id);
  // Enable removes the disable marker of `id`; the key signs again (in other processes within their
  // disabled_refresh). Enabling an enabled key succeeds and changes nothing. Fails with kNotFound
  // if the token holds no key `id`.
  base::Status Enable(const KeyId& id);

  // BulkImport imports many keys with one scan of the token instead of one per key (a restore of n
  // keys would otherwise read O(n^2) object attributes). It holds this custody's write lock and one
  // session until destroyed, so the calling thread must not call Generate, Import, Delete, Disable
  // or Enable on the custody meanwhile (it would deadlock); other threads' calls wait. Keys stored
  // by another process after BeginBulkImport are not seen by its duplicate check. Not thread-safe.
  class BulkImport {
   public:
    ~BulkImport();
    BulkImport(const BulkImport&) = delete;
    BulkImport& operator=(const BulkImport&) = delete;
    // Import stores `pair` under `key_type` as Pkcs11Custody::Import does. With `disabled`, the
    // disable marker is written before the key, so no process ever sees the key able to sign.
    // Fails as Import does, including kInvalidArgument for a key already on the token.
    base::Result<KeyInfo> Import(const base::KeyTypeId& key_type, const Keypair& pair,
                                 bool disabled);

   private:
    friend class Pkcs11Custody;
    struct State;
    explicit BulkImport(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
  };
  // BeginBulkImport scans the token once for the keys already stored. Fails as List does.
  base::Result<std::unique_ptr<BulkImport>> BeginBulkImport();

  // ExportSr25519SecretForBackup unwraps the HSM-wrapped sr25519 key `id` and returns a copy of its
  // canonical 64-byte secret, for an encrypted backup (`signerctl keys backup`). This adds no
  // exposure: the same plaintext is what signing loads into this process. ed25519/ecdsa keys have
  // no counterpart, because their private keys are non-extractable. Fails with kNotFound if `id` is
  // not an sr25519 key on the token, and as signing would on a faulty or mismatching wrapped blob.
  // The caller owns and wipes the result.
  base::Result<base::SecretBytes> ExportSr25519SecretForBackup(const KeyId& id);
  // ExportAllSr25519SecretsForBackup does the same for every HSM-wrapped sr25519 key in one pass
  // over the token (a backup of many keys would otherwise search the token once per key). Fails,
  // returning nothing, if any wrapped blob cannot be unwrapped or does not match its label.
  base::Result<std::vector<std::pair<KeyId, base::SecretBytes>>> ExportAllSr25519SecretsForBackup();

  // Threshold shares, for a key agent (docs/threshold.md). Each is one data object holding the
  // agent's FROST key package and the group's public package, wrapped by the same non-extractable
  // AES key as sr25519 secrets and labelled "<key type>:<group key hex>:<created>:<origin>" under
  // its own CKA_APPLICATION, so List and the signing methods never see it.
  //
  // StoreFrostShare checks the share (CheckFrostShare), wraps and stores it, and unwraps it again
  // to prove the stored form works. `generated` records that distributed key generation made it.
  // Fails with kInvalidArgument on an inconsistent share or one already stored for the same key.
  base::Status StoreFrostShare(const base::KeyTypeId& key_type,
                               const frost::KeyPackage& key_package,
                               const frost::PublicKeyPackage& public_package,
                               bool generated) override;
  // LoadFrostShares unwraps every stored share. A share whose object does not unwrap, does not
  // parse or does not match its label fails the whole call with kInternal: an agent must not start
  // with part of its keys silently missing.
  base::Result<std::vector<FrostShare>> LoadFrostShares() override;
  // DeleteFrostShare destroys the share of `id`. Fails with kNotFound if there is none.
  base::Status DeleteFrostShare(const KeyId& id) override;

  // UnloadSecrets wipes every unwrapped sr25519 secret held in memory; the next use unwraps again.
  void UnloadSecrets();
  // LoadedSecretCount returns how many sr25519 secrets are currently unwrapped in memory.
  size_t LoadedSecretCount() const;

 private:
  struct Impl;
  explicit Pkcs11Custody(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keymgr
