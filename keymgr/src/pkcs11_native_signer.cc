// Signing with the ed25519 and ecdsa keys that live inside the HSM, by remembered key handles.
#include "pkcs11_native_signer.h"

#include <array>
#include <optional>
#include <vector>

#include "base/hash.h"
#include "pkcs11_labels.h"
#include "pkcs11_objects.h"
#include "pkcs11_secp256k1.h"

namespace keymgr::pkcs11 {
namespace {

// A fixed message signed after import: proves the HSM took the key material the way we meant it.
constexpr uint8_t kImportProbe[] = {'k', 'e', 'y', 'm', 'g', 'r', ' ',
                                    'i', 'm', 'p', 'o', 'r', 't'};

base::Result<CK_OBJECT_HANDLE> FindPrivateKey(Session& session, const KeyId& id,
                                              CK_KEY_TYPE key_type) {
  const std::vector<uint8_t> id_bytes = IdBytes(id);
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrOf(CKA_KEY_TYPE, key_type),
                          AttrBytes(CKA_ID, id_bytes)};
  return FindOne(session, templ, "private key");
}

// HintStillNames reads the class, key type and CKA_ID of `handle` in one call: true only if it is
// still the private key of `id`; false if it is gone or now something else. Other module errors
// (session lost, token removed) fail.
base::Result<bool> HintStillNames(Session& session, CK_OBJECT_HANDLE handle, const KeyId& id,
                                  CK_KEY_TYPE key_type) {
  const std::vector<uint8_t> expected_id = IdBytes(id);
  std::vector<uint8_t> stored_id(expected_id.size());
  CK_OBJECT_CLASS klass = 0;
  CK_KEY_TYPE stored_type = 0;
  CK_ATTRIBUTE templ[] = {{CKA_CLASS, &klass, sizeof(klass)},
                          {CKA_KEY_TYPE, &stored_type, sizeof(stored_type)},
                          {CKA_ID, stored_id.data(), static_cast<CK_ULONG>(stored_id.size())}};
  const CK_RV rv = session.fn()->C_GetAttributeValue(session.handle(), handle, templ, 3);
  if (HandleNamesAnotherObject(rv)) return false;
  SIGNER_RETURN_IF_ERROR(session.Check(rv, "C_GetAttributeValue"));
  return klass == CKO_PRIVATE_KEY && stored_type == key_type &&
         templ[2].ulValueLen == expected_id.size() && stored_id == expected_id;
}

}  // namespace

CK_KEY_TYPE Pkcs11KeyType(base::Scheme scheme) {
  return scheme == base::Scheme::kEd25519 ? CKK_EC_EDWARDS : CKK_EC;
}

void NativeSigner::RememberListed(const std::vector<std::pair<KeyId, CK_OBJECT_HANDLE>>& keys,
                                  std::chrono::steady_clock::time_point listed_at) {
  base::MutexLock lock(hint_mutex_);
  for (const auto& [id, handle] : keys) hints_.try_emplace(id, FoundKey{handle, listed_at});
}

void NativeSigner::Forget(const KeyId& id) {
  base::MutexLock lock(hint_mutex_);
  hints_.erase(id);
}

base::Result<NativeSigner::FoundKey> NativeSigner::CachedPrivateKey(Session& session,
                                                                    const KeyId& id,
                                                                    CK_KEY_TYPE key_type,
                                                                    bool& from_cache) {
  std::optional<FoundKey> hint;
  {
    base::MutexLock lock(hint_mutex_);
    if (auto it = hints_.find(id); it != hints_.end()) hint = it->second;
  }
  if (hint.has_value()) {
    SIGNER_ASSIGN_OR_RETURN(const bool still, HintStillNames(session, hint->handle, id, key_type));
    if (still) {
      from_cache = true;
      return *hint;
    }
    Forget(id);
  }
  from_cache = false;
  const std::chrono::steady_clock::time_point searched_at = std::chrono::steady_clock::now();
  SIGNER_ASSIGN_OR_RETURN(const CK_OBJECT_HANDLE found, FindPrivateKey(session, id, key_type));
  base::MutexLock lock(hint_mutex_);
  hints_[id] = FoundKey{found, searched_at};
  return hints_[id];
}

base::Status NativeSigner::SignRaw(const KeyId& id, base::Scheme scheme,
                                   CK_MECHANISM_TYPE mechanism_type, std::span<const uint8_t> data,
                                   std::span<uint8_t, 64> out) {
  SIGNER_ASSIGN_OR_RETURN(Session session, pool_.Acquire());
  return SignRawIn(session, id, scheme, mechanism_type, data, out, /*check_enabled=*/true);
}

base::Status NativeSigner::SignRawIn(Session& session, const KeyId& id, base::Scheme scheme,
                                     CK_MECHANISM_TYPE mechanism_type,
                                     std::span<const uint8_t> data, std::span<uint8_t, 64> out,
                                     bool check_enabled) {
  const CK_KEY_TYPE key_type = Pkcs11KeyType(scheme);
  bool from_cache = false;
  SIGNER_ASSIGN_OR_RETURN(FoundKey key, CachedPrivateKey(session, id, key_type, from_cache));
  if (check_enabled) SIGNER_RETURN_IF_ERROR(check_enabled_(session, id, key.found_at));
  CK_MECHANISM mechanism{mechanism_type, nullptr, 0};
  CK_RV init_rv = session.fn()->C_SignInit(session.handle(), &mechanism, key.handle);
  if (from_cache && HandleGone(init_rv)) {
    // Deleted (or made invisible) between the check and the init: search once, retry once.
    Forget(id);
    SIGNER_ASSIGN_OR_RETURN(key, CachedPrivateKey(session, id, key_type, from_cache));
    if (check_enabled) SIGNER_RETURN_IF_ERROR(check_enabled_(session, id, key.found_at));
    init_rv = session.fn()->C_SignInit(session.handle(), &mechanism, key.handle);
  }
  SIGNER_RETURN_IF_ERROR(session.Check(init_rv, "C_SignInit"));
  CK_ULONG size = static_cast<CK_ULONG>(out.size());
  // Some modules reject a null data pointer even for an empty message (ed25519 signs those too).
  static const uint8_t kNothing = 0;
  CK_BYTE_PTR data_ptr = const_cast<uint8_t*>(data.empty() ? &kNothing : data.data());
  CK_RV rv = session.fn()->C_Sign(session.handle(), data_ptr, static_cast<CK_ULONG>(data.size()),
                                  out.data(), &size);
  if (rv == CKR_BUFFER_TOO_SMALL)
    session.MarkBroken();  // the operation stays active after this one
  SIGNER_RETURN_IF_ERROR(session.Check(rv, "C_Sign"));
  if (size != out.size()) return base::Status::Internal("HSM signature has unexpected length");
  return base::Status::Ok();
}

base::Result<Ed25519Signature> NativeSigner::SignEd25519(const KeyId& id,
                                                         std::span<const uint8_t> message) {
  if (id.public_key.size() != kEd25519PublicSize)
    return base::Status::NotFound("ed25519 key not held");
  Ed25519Signature signature{};
  SIGNER_RETURN_IF_ERROR(SignRaw(id, base::Scheme::kEd25519, CKM_EDDSA, message, signature));
  // Fail closed on a faulty HSM or a key object that does not match its label.
  if (!Ed25519Verify(id.public_key, message, signature)) {
    return base::Status::Internal("HSM ed25519 signature does not verify");
  }
  return signature;
}

base::Result<EcdsaSignature> NativeSigner::SignEcdsaDigest(const KeyId& id,
                                                           std::span<const uint8_t> digest) {
  if (digest.size() != kEcdsaPrehashSize)
    return base::Status::InvalidArgument("ecdsa prehash must be 32 bytes");
  if (id.public_key.size() != kEcdsaPublicSize) return base::Status::NotFound("ecdsa key not held");
  std::array<uint8_t, kEcdsaCompactSize> raw{};
  SIGNER_RETURN_IF_ERROR(SignRaw(id, base::Scheme::kEcdsa, CKM_ECDSA, digest, raw));
  return FinishEcdsa(raw, digest, id.public_key);
}

base::Status NativeSigner::ProbeNew(Session& session, const KeyId& id, base::Scheme scheme,
                                    CK_OBJECT_HANDLE private_key) {
  {
    base::MutexLock lock(hint_mutex_);
    // Made by this process, so no marker older than the object can concern it: markers written
    // later are covered by the refresh bound, as for any key already known.
    hints_[id] = FoundKey{private_key, std::chrono::steady_clock::time_point{}};
  }
  base::Status probe = ProbeSign(session, id, scheme);
  if (!probe.ok()) Forget(id);
  return probe;
}

base::Status NativeSigner::ProbeSign(Session& session, const KeyId& id, base::Scheme scheme) {
  std::array<uint8_t, 64> raw{};
  if (scheme == base::Scheme::kEd25519) {
    SIGNER_RETURN_IF_ERROR(
        SignRawIn(session, id, scheme, CKM_EDDSA, kImportProbe, raw, /*check_enabled=*/false));
    if (!Ed25519Verify(id.public_key, kImportProbe, raw)) {
      return base::Status::Internal("HSM does not sign with the stored ed25519 key as expected");
    }
    return base::Status::Ok();
  }
  const base::Hash256 digest = base::Blake2b256(kImportProbe);
  SIGNER_RETURN_IF_ERROR(
      SignRawIn(session, id, scheme, CKM_ECDSA, digest, raw, /*check_enabled=*/false));
  return FinishEcdsa(raw, digest, id.public_key).status();
}

}  // namespace keymgr::pkcs11
