// The unwrapped sr25519 secrets held in memory, each trusted only while its wrapped object lasts.
#include "pkcs11_unwrapped_cache.h"

#include <optional>
#include <utility>

namespace keymgr::pkcs11 {

base::Result<std::shared_ptr<const Sr25519Keypair>> UnwrappedKeyCache::Load(const KeyId& id,
                                                                            Purpose purpose) {
  if (id.public_key.size() != kSr25519PublicSize)
    return base::Status::NotFound("sr25519 key not held");
  std::optional<Entry> remembered;
  {
    base::MutexLock lock(mutex_);
    if (auto it = loaded_.find(id); it != loaded_.end()) remembered = it->second;
  }
  SIGNER_ASSIGN_OR_RETURN(Session session, pool_.Acquire());
  if (remembered.has_value()) {
    SIGNER_ASSIGN_OR_RETURN(const bool still,
                            WrappedObjectStillNames(session, remembered->wrapped_object, id));
    if (still) {
      if (purpose == Purpose::kToSign) {
        SIGNER_RETURN_IF_ERROR(check_enabled_(session, id, remembered->found_at));
      }
      return remembered->pair;
    }
    ForgetIfStill(id, remembered->pair);
  }
  SIGNER_ASSIGN_OR_RETURN(const WrappedObject object, wrapped_.Find(session, id));
  if (purpose == Purpose::kToSign)
    SIGNER_RETURN_IF_ERROR(check_enabled_(session, id, object.found_at));
  SIGNER_ASSIGN_OR_RETURN(Sr25519Keypair pair, wrapped_.Unwrap(session, object));
  auto shared = std::make_shared<const Sr25519Keypair>(std::move(pair));
  base::MutexLock lock(mutex_);
  loaded_[id] = Entry{shared, object.handle, object.found_at};
  return shared;
}

void UnwrappedKeyCache::ForgetIfStill(const KeyId& id,
                                      const std::shared_ptr<const Sr25519Keypair>& pair) {
  base::MutexLock lock(mutex_);
  if (auto it = loaded_.find(id); it != loaded_.end() && it->second.pair == pair) loaded_.erase(it);
}

void UnwrappedKeyCache::Forget(const KeyId& id) {
  base::MutexLock lock(mutex_);
  loaded_.erase(id);
}

void UnwrappedKeyCache::Clear() {
  base::MutexLock lock(mutex_);
  loaded_.clear();
}

size_t UnwrappedKeyCache::Count() const {
  base::MutexLock lock(mutex_);
  return loaded_.size();
}

}  // namespace keymgr::pkcs11
