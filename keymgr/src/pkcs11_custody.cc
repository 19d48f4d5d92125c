// Pkcs11Custody: opening the token; listing, storing, deleting, disabling and signing with keys.
#include "keymgr/pkcs11_custody.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "pkcs11_custody_impl.h"
#include "pkcs11_disable_markers.h"
#include "pkcs11_labels.h"
#include "pkcs11_token_scan.h"

namespace keymgr {
namespace {

using pkcs11::AttrBytes;
using pkcs11::AttrOf;
using pkcs11::Session;
using pkcs11::WrappedObject;

int64_t SystemClock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Pkcs11Custody::Impl::Impl(std::unique_ptr<pkcs11::SessionPool> pool_in, int64_t (*clock_in)(),
                          std::chrono::milliseconds disabled_refresh)
    : pool(std::move(pool_in)),
      clock(clock_in),
      native_signer(*pool,
                    [this](Session& session, const KeyId& id,
                           std::chrono::steady_clock::time_point found_at) {
                      return disabled.CheckEnabledSince(session, id, found_at);
                    }),
      native_keys(native_signer, clock,
                  [this](Session& session, const KeyId& id) { return EnsureAbsent(session, id); }),
      wrapped_keys(clock),
      unwrapped(*pool, wrapped_keys,
                [this](Session& session, const KeyId& id,
                       std::chrono::steady_clock::time_point found_at) {
                  return disabled.CheckEnabledSince(session, id, found_at);
                }),
      disabled(*pool, disabled_refresh, [this](const KeyId& id) { Forget(id); }) {}

base::Status Pkcs11Custody::Impl::CheckKeyTypeAndScheme(const base::KeyTypeId& key_type,
                                                        base::Scheme scheme) {
  // A key stored under a type its label cannot be read back with would be missing from every
  // listing, backup and delete, while its secret stayed on the token.
  if (!base::MakeKeyTypeId(base::KeyTypeName(key_type)).ok()) {
    return base::Status::InvalidArgument(
        "key type must be 4 printable ASCII characters other than ':'");
  }
  std::optional<base::Scheme> required = base::RequiredSchemeForKeyType(key_type);
  if (required.has_value() && *required != scheme) {
    return base::Status::InvalidArgument("key type " + base::KeyTypeName(key_type) + " requires " +
                                         std::string(base::SchemeName(*required)));
  }
  return base::Status::Ok();
}

base::Status Pkcs11Custody::Impl::EnsureAbsent(Session& session, const KeyId& id) {
  const std::vector<uint8_t> id_bytes = pkcs11::IdBytes(id);
  CK_ATTRIBUTE templ[] = {AttrBytes(CKA_ID, id_bytes)};
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> keys,
                          pkcs11::FindObjects(session, templ));
  if (!keys.empty()) return base::Status::InvalidArgument("key already stored");
  base::Result<WrappedObject> wrapped = wrapped_keys.Find(session, id);
  if (wrapped.ok()) return base::Status::InvalidArgument("key already stored");
  if (wrapped.status().code() != base::StatusCode::kNotFound) return wrapped.status();
  return base::Status::Ok();
}

base::Result<bool> Pkcs11Custody::Impl::HoldsKey(Session& session, const KeyId& id) {
  const std::vector<uint8_t> id_bytes = pkcs11::IdBytes(id);
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_ID, id_bytes)};
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> keys,
                          pkcs11::FindObjects(session, templ));
  if (!keys.empty()) return true;
  if (id.public_key.size() != kSr25519PublicSize) return false;
  base::Result<WrappedObject> wrapped = wrapped_keys.Find(session, id);
  if (wrapped.ok()) return true;
  if (wrapped.status().code() == base::StatusCode::kNotFound) return false;
  return wrapped.status();
}

base::Result<KeyInfo> Pkcs11Custody::Impl::StoreWrapped(Session& session,
                                                        const base::KeyTypeId& key_type,
                                                        const Sr25519Keypair& pair,
                                                        bool generated) {
  const KeyId id{key_type,
                 std::vector<uint8_t>(pair.public_key().begin(), pair.public_key().end())};
  SIGNER_RETURN_IF_ERROR(EnsureAbsent(session, id));
  SIGNER_ASSIGN_OR_RETURN(const CK_OBJECT_HANDLE wrapping_key, pkcs11::EnsureWrappingKey(session));
  return wrapped_keys.Store(session, wrapping_key, key_type, pair, generated, /*disabled=*/false);
}

void Pkcs11Custody::Impl::Forget(const KeyId& id) {
  unwrapped.Forget(id);
  native_signer.Forget(id);
}

Pkcs11Custody::Pkcs11Custody(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pkcs11Custody::~Pkcs11Custody() = default;

base::Result<std::unique_ptr<Pkcs11Custody>> Pkcs11Custody::Open(Pkcs11Config config) {
  if (config.pin.empty()) return base::Status::InvalidArgument("PKCS#11 user PIN is empty");
  SIGNER_ASSIGN_OR_RETURN(std::shared_ptr<pkcs11::Module> module,
                          pkcs11::Module::Load(config.module_path));
  base::Result<CK_SLOT_ID> slot = module->FindSlotByTokenLabel(config.token_label);
  if (!slot.ok()) return base::Status::Unavailable(slot.status().message());
  SIGNER_ASSIGN_OR_RETURN(
      std::unique_ptr<pkcs11::SessionPool> pool,
      pkcs11::SessionPool::Open(module, *slot, std::move(config.pin), config.max_sessions));
  if (config.disabled_refresh.count() < 0) {
    return base::Status::InvalidArgument("disabled_refresh must not be negative");
  }
  auto impl =
      std::make_unique<Impl>(std::move(pool), config.clock != nullptr ? config.clock : &SystemClock,
                             config.disabled_refresh);
  impl->disabled.StartRefresher();
  return std::unique_ptr<Pkcs11Custody>(new Pkcs11Custody(std::move(impl)));
}

base::Result<std::vector<KeyInfo>> Pkcs11Custody::List() {
  SIGNER_ASSIGN_OR_RETURN(std::vector<KeyInfo> all, ListAll());
  std::erase_if(all, [](const KeyInfo& info) { return info.disabled; });
  return all;
}

base::Result<std::vector<KeyInfo>> Pkcs11Custody::ListAll() {
  const pkcs11::DisabledKeyCache::ListingScope listing(impl_->disabled);
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  const uint64_t generation = impl_->disabled.Generation();
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  // One pass reads the markers with the keys. Each object is read after the search has fixed the
  // set of objects, so a key disabled by a restore (marker first, then key) is never seen without
  // its marker; a marker written later is covered by the freshness bound, which counts from
  // `started`.
  SIGNER_ASSIGN_OR_RETURN(pkcs11::TokenScan scan, pkcs11::ScanToken(session));
  std::set<KeyId> disabled = std::move(scan.disabled);
  std::vector<KeyInfo> infos = std::move(scan.native_keys);
  infos.reserve(infos.size() + scan.wrapped.size());
  // Where each key is, so a first signature with it needs no search of the token: only hints,
  // each checked against the token before use.
  // Found by this listing, so vouched for by the markers it read (installed below from `started`).
  for (WrappedObject& object : scan.wrapped) object.found_at = started;
  impl_->native_signer.RememberListed(scan.native_handles, started);
  impl_->wrapped_keys.RememberListed(scan.wrapped);
  if (scan.wrapping_key.has_value()) impl_->wrapped_keys.RememberWrappingKey(*scan.wrapping_key);
  for (WrappedObject& object : scan.wrapped) {
    KeyInfo info;
    info.id = std::move(object.label.id);
    info.scheme = base::Scheme::kSr25519;
    info.protection = KeyProtection::kHsmWrapped;
    info.generated_in_custody = object.label.generated;
    info.created_at_unix = object.label.created_at;
    infos.push_back(std::move(info));
  }
  for (KeyInfo& info : infos) info.disabled = disabled.contains(info.id);
  // Validators list keys often, so this keeps the signing path's view fresh at no extra cost.
  (void)impl_->disabled.Apply(std::move(disabled), started, generation);
  return infos;
}

base::Result<KeyInfo> Pkcs11Custody::Generate(const base::KeyTypeId& key_type,
                                              base::Scheme scheme) {
  SIGNER_RETURN_IF_ERROR(Impl::CheckKeyTypeAndScheme(key_type, scheme));
  base::MutexLock lock(impl_->write_mutex);
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  if (scheme != base::Scheme::kSr25519) {
    return impl_->native_keys.Generate(session, key_type, scheme);
  }
  // The mini-secret comes from the HSM's generator, so a weak host RNG cannot weaken sr25519 keys.
  base::SecretBytes mini_secret(kSr25519MiniSecretSize);
  SIGNER_RETURN_IF_ERROR(session.Check(
      session.fn()->C_GenerateRandom(session.handle(), mini_secret.data(), mini_secret.size()),
      "C_GenerateRandom"));
  SIGNER_ASSIGN_OR_RETURN(const Sr25519Keypair pair,
                          Sr25519Keypair::FromMiniSecret(mini_secret.span()));
  return impl_->StoreWrapped(session, key_type, pair, /*generated=*/true);
}

base::Result<KeyInfo> Pkcs11Custody::Import(const base::KeyTypeId& key_type, const Keypair& pair) {
  SIGNER_RETURN_IF_ERROR(Impl::CheckKeyTypeAndScheme(key_type, pair.scheme()));
  base::MutexLock lock(impl_->write_mutex);
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  if (const Sr25519Keypair* sr = pair.sr25519()) {
    return impl_->StoreWrapped(session, key_type, *sr, /*generated=*/false);
  }
  if (const Ed25519Keypair* ed = pair.ed25519()) {
    return impl_->native_keys.Import(session, key_type, base::Scheme::kEd25519, ed->seed(),
                                     ed->public_key(), /*check_absent=*/true, /*disabled=*/false);
  }
  const EcdsaKeypair* ecdsa = pair.ecdsa();
  return impl_->native_keys.Import(session, key_type, base::Scheme::kEcdsa, ecdsa->seed(),
                                   ecdsa->public_key(), /*check_absent=*/true, /*disabled=*/false);
}

base::Status Pkcs11Custody::Delete(const KeyId& id) {
  base::MutexLock lock(impl_->write_mutex);
  impl_->Forget(id);
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  const std::vector<uint8_t> id_bytes = pkcs11::IdBytes(id);
  CK_ATTRIBUTE templ[] = {AttrBytes(CKA_ID, id_bytes)};
  SIGNER_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> objects,
                          pkcs11::FindObjects(session, templ));
  SIGNER_ASSIGN_OR_RETURN(const std::vector<WrappedObject> wrapped, pkcs11::ListWrapped(session));
  for (const WrappedObject& object : wrapped) {
    if (object.label.id == id) objects.push_back(object.handle);
  }
  if (objects.empty()) return base::Status::NotFound("key not held");
  // The marker goes last, so a failure part-way never leaves the key enabled.
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> markers,
                          pkcs11::FindMarkers(session, id));
  objects.insert(objects.end(), markers.begin(), markers.end());
  for (CK_OBJECT_HANDLE object : objects) {
    const CK_RV destroyed = session.ChangeTokenObjects(
        [&] { return session.fn()->C_DestroyObject(session.handle(), object); });
    SIGNER_RETURN_IF_ERROR(session.Check(destroyed, "C_DestroyObject"));
  }
  // Again after the objects are gone, in case a concurrent signer unwrapped the key in between.
  impl_->disabled.MarkersChanged(id);
  return base::Status::Ok();
}

base::Result<bool> Pkcs11Custody::Holds(const KeyId& id) {
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  return impl_->HoldsKey(session, id);
}

base::Status Pkcs11Custody::Disable(const KeyId& id) {
  base::MutexLock lock(impl_->write_mutex);
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  SIGNER_ASSIGN_OR_RETURN(const bool held, impl_->HoldsKey(session, id));
  if (!held) return base::Status::NotFound("key not held");
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> markers,
                          pkcs11::FindMarkers(session, id));
  if (markers.empty()) {
    SIGNER_RETURN_IF_ERROR(pkcs11::WriteMarker(session, id, impl_->clock()));
  }
  impl_->disabled.MarkersChanged(id);
  return base::Status::Ok();
}

base::Status Pkcs11Custody::Enable(const KeyId& id) {
  base::MutexLock lock(impl_->write_mutex);
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  SIGNER_ASSIGN_OR_RETURN(const bool held, impl_->HoldsKey(session, id));
  if (!held) return base::Status::NotFound("key not held");
  SIGNER_RETURN_IF_ERROR(pkcs11::RemoveMarkers(session, id));
  impl_->disabled.MarkersChanged(id);
  return base::Status::Ok();
}

// The signing paths below check the disable markers inside the stores, once they have found the
// object they will sign with (DisabledKeyCache::CheckEnabledSince says why then).
base::Result<std::vector<uint8_t>> Pkcs11Custody::Sign(const KeyId& id, base::Scheme scheme,
                                                       std::span<const uint8_t> message) {
  switch (scheme) {
    case base::Scheme::kEd25519: {
      SIGNER_ASSIGN_OR_RETURN(const Ed25519Signature signature,
                              impl_->native_signer.SignEd25519(id, message));
      return std::vector<uint8_t>(signature.begin(), signature.end());
    }
    case base::Scheme::kEcdsa: {
      const base::Hash256 digest = base::Blake2b256(message);
      SIGNER_ASSIGN_OR_RETURN(const EcdsaSignature signature,
                              impl_->native_signer.SignEcdsaDigest(id, digest));
      return std::vector<uint8_t>(signature.begin(), signature.end());
    }
    case base::Scheme::kSr25519: {
      SIGNER_ASSIGN_OR_RETURN(
          const std::shared_ptr<const Sr25519Keypair> pair,
          impl_->unwrapped.Load(id, pkcs11::UnwrappedKeyCache::Purpose::kToSign));
      const Sr25519Signature signature = pair->Sign(message);
      return std::vector<uint8_t>(signature.begin(), signature.end());
    }
  }
  return base::Status::InvalidArgument("unknown scheme");
}

base::Result<EcdsaSignature> Pkcs11Custody::EcdsaSignPrehashed(const KeyId& id,
                                                               std::span<const uint8_t> digest) {
  return impl_->native_signer.SignEcdsaDigest(id, digest);
}

base::Result<Sr25519VrfSignature> Pkcs11Custody::VrfSign(
    const KeyId& id, const VrfTranscriptData& input,
    const std::optional<VrfTranscriptData>& extra) {
  SIGNER_ASSIGN_OR_RETURN(const std::shared_ptr<const Sr25519Keypair> pair,
                          impl_->unwrapped.Load(id, pkcs11::UnwrappedKeyCache::Purpose::kToSign));
  std::optional<MerlinTranscript> extra_transcript;
  if (extra.has_value()) extra_transcript.emplace(extra->Build());
  return pair->VrfSign(input.Build(), extra_transcript);
}

base::Result<Sr25519VrfPreOutput> Pkcs11Custody::VrfPreOutput(const KeyId& id,
                                                              const VrfTranscriptData& input) {
  SIGNER_ASSIGN_OR_RETURN(const std::shared_ptr<const Sr25519Keypair> pair,
                          impl_->unwrapped.Load(id, pkcs11::UnwrappedKeyCache::Purpose::kToSign));
  return pair->VrfPreOutput(input.Build());
}

void Pkcs11Custody::UnloadSecrets() { impl_->unwrapped.Clear(); }

size_t Pkcs11Custody::LoadedSecretCount() const { return impl_->unwrapped.Count(); }

}  // namespace keymgr
