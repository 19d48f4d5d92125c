// Pkcs11Custody's backup and restore paths: exporting sr25519 secrets and importing keys in bulk.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "keymgr/pkcs11_custody.h"
#include "pkcs11_custody_impl.h"
#include "pkcs11_labels.h"

namespace keymgr {
namespace {

using pkcs11::AttrOf;
using pkcs11::Session;
using pkcs11::WrappedObject;

std::string AsString(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

struct Pkcs11Custody::BulkImport::State {
  Impl* impl = nullptr;
  // Impl::write_mutex, held from BeginBulkImport until the import is destroyed. The analysis
  // follows locks only within one function, so this holds the underlying std::mutex; Import calls
  // nothing that REQUIRES(write_mutex).
  std::unique_lock<std::mutex> write_lock;
  std::optional<Session> session;
  // CKA_ID values (key type || public key) of every key object and wrapped secret on the token, as
  // strings: GCC 12 misreads the memcmp bound of a set of byte vectors (-Wstringop-overread).
  std::set<std::string> present;
  CK_OBJECT_HANDLE wrapping_key = CK_INVALID_HANDLE;
};

Pkcs11Custody::BulkImport::BulkImport(std::unique_ptr<State> state) : state_(std::move(state)) {}

Pkcs11Custody::BulkImport::~BulkImport() {
  if (state_ == nullptr) return;
  state_->session.reset();  // back to the pool before the write lock is released
}

base::Result<std::unique_ptr<Pkcs11Custody::BulkImport>> Pkcs11Custody::BeginBulkImport() {
  auto state = std::make_unique<BulkImport::State>();
  state->impl = impl_.get();
  state->write_lock = std::unique_lock(impl_->write_mutex.native());
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  state->session.emplace(std::move(session));
  Session& s = *state->session;
  for (CK_OBJECT_CLASS klass : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass)};
    SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> objects,
                            pkcs11::FindObjects(s, templ));
    for (CK_OBJECT_HANDLE object : objects) {
      SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> id_bytes,
                              pkcs11::GetBytes(s, object, CKA_ID));
      state->present.insert(AsString(id_bytes));
    }
  }
  SIGNER_ASSIGN_OR_RETURN(const std::vector<WrappedObject> wrapped, impl_->wrapped_keys.Scan(s));
  for (const WrappedObject& object : wrapped)
    state->present.insert(AsString(pkcs11::IdBytes(object.label.id)));
  return std::unique_ptr<BulkImport>(new BulkImport(std::move(state)));
}

base::Result<KeyInfo> Pkcs11Custody::BulkImport::Import(const base::KeyTypeId& key_type,
                                                        const Keypair& pair, bool disabled) {
  SIGNER_RETURN_IF_ERROR(Impl::CheckKeyTypeAndScheme(key_type, pair.scheme()));
  State& state = *state_;
  Session& session = *state.session;
  const std::string id_bytes = AsString(pkcs11::IdBytes(KeyId{key_type, pair.public_key()}));
  if (state.present.contains(id_bytes)) return base::Status::InvalidArgument("key already stored");
  base::Result<KeyInfo> stored = base::Status::Internal("unset");
  if (const Sr25519Keypair* sr = pair.sr25519()) {
    if (state.wrapping_key == CK_INVALID_HANDLE) {
      SIGNER_ASSIGN_OR_RETURN(state.wrapping_key, pkcs11::EnsureWrappingKey(session));
    }
    stored = state.impl->wrapped_keys.Store(session, state.wrapping_key, key_type, *sr,
                                            /*generated=*/false, disabled);
  } else if (const Ed25519Keypair* ed = pair.ed25519()) {
    stored = state.impl->native_keys.Import(session, key_type, base::Scheme::kEd25519, ed->seed(),
                                            ed->public_key(), /*check_absent=*/false, disabled);
  } else {
    const EcdsaKeypair* ecdsa = pair.ecdsa();
    stored = state.impl->native_keys.Import(session, key_type, base::Scheme::kEcdsa, ecdsa->seed(),
                                            ecdsa->public_key(),
                                            /*check_absent=*/false, disabled);
  }
  SIGNER_RETURN_IF_ERROR(stored);
  state.present.insert(id_bytes);
  if (disabled) state.impl->disabled.MarkersChanged(stored->id);
  return stored;
}

base::Result<base::SecretBytes> Pkcs11Custody::ExportSr25519SecretForBackup(const KeyId& id) {
  SIGNER_ASSIGN_OR_RETURN(const std::shared_ptr<const Sr25519Keypair> pair,
                          impl_->unwrapped.Load(id, pkcs11::UnwrappedKeyCache::Purpose::kToBackUp));
  return base::SecretBytes::CopyFrom(pair->secret());
}

base::Result<std::vector<std::pair<KeyId, base::SecretBytes>>>
Pkcs11Custody::ExportAllSr25519SecretsForBackup() {
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  SIGNER_ASSIGN_OR_RETURN(const std::vector<WrappedObject> objects,
                          impl_->wrapped_keys.Scan(session));
  std::vector<std::pair<KeyId, base::SecretBytes>> secrets;
  if (objects.empty()) return secrets;
  SIGNER_ASSIGN_OR_RETURN(const CK_OBJECT_HANDLE wrapping_key, pkcs11::FindWrappingKey(session));
  for (const WrappedObject& object : objects) {
    SIGNER_ASSIGN_OR_RETURN(const Sr25519Keypair pair,
                            pkcs11::UnwrapWith(session, wrapping_key, object));
    secrets.emplace_back(object.label.id, base::SecretBytes::CopyFrom(pair.secret()));
  }
  return secrets;
}

}  // namespace keymgr
