// A key agent's FROST shares on the token, wrapped by the custody's AES key (Pkcs11Custody).
#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "keymgr/pkcs11_custody.h"
#include "pkcs11_custody_impl.h"
#include "pkcs11_labels.h"
#include "pkcs11_objects.h"
#include "pkcs11_wrapped_keys.h"

namespace keymgr {
namespace {

using pkcs11::AttrBytes;
using pkcs11::AttrOf;
using pkcs11::Session;

// A key package is fixed-size; the public package that follows it grows by 64 bytes per agent.
constexpr size_t kKeyPackageSize = 131;
constexpr size_t kMaxShareRecordSize = kKeyPackageSize + 37 + 64 * size_t{frost::kMaxParticipants};

std::vector<uint8_t> ShareApplication() {
  return {pkcs11::kFrostShareApplication.begin(), pkcs11::kFrostShareApplication.end()};
}

struct ShareObject {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  pkcs11::ParsedLabel label;
};

base::Result<std::vector<ShareObject>> ListShareObjects(Session& session) {
  const std::vector<uint8_t> application = ShareApplication();
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_APPLICATION, application)};
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> found,
                          pkcs11::FindObjects(session, templ));
  std::vector<ShareObject> objects;
  for (CK_OBJECT_HANDLE handle : found) {
    SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> label,
                            pkcs11::GetBytes(session, handle, CKA_LABEL));
    std::optional<pkcs11::ParsedLabel> parsed = pkcs11::ParseLabel(label);
    if (!parsed.has_value()) {
      return base::Status::Internal("a FROST share object on the token has an unreadable label");
    }
    objects.push_back(ShareObject{handle, std::move(*parsed)});
  }
  return objects;
}

// UnwrapShare recovers and parses one share and checks it against its label.
base::Result<FrostShare> UnwrapShare(Session& session, CK_OBJECT_HANDLE wrapping_key,
                                     const ShareObject& object) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> wrapped,
                          pkcs11::GetBytes(session, object.handle, CKA_VALUE));
  SIGNER_ASSIGN_OR_RETURN(
      base::SecretBytes record,
      pkcs11::UnwrapSecret(session, wrapping_key, wrapped, kMaxShareRecordSize));
  const std::string who = pkcs11::DisabledLabel(object.label.id);
  if (record.size() < kKeyPackageSize) {
    return base::Status::Internal("FROST share " + who + " is too short");
  }
  base::Result<frost::KeyPackage> key_package =
      frost::KeyPackage::Parse(record.span().first(kKeyPackageSize));
  base::Result<frost::PublicKeyPackage> public_package =
      frost::PublicKeyPackage::Parse(record.span().subspan(kKeyPackageSize));
  if (!key_package.ok() || !public_package.ok()) {
    return base::Status::Internal("FROST share " + who + " does not parse");
  }
  const std::vector<uint8_t>& labelled_key = object.label.id.public_key;
  if (!std::equal(labelled_key.begin(), labelled_key.end(), key_package->group_public_key.begin(),
                  key_package->group_public_key.end())) {
    return base::Status::Internal("FROST share " + who + " holds another group key than its label");
  }
  base::Status consistent =
      CheckFrostShare(object.label.id.key_type, *key_package, *public_package);
  if (!consistent.ok()) {
    return base::Status::Internal("FROST share " + who + ": " + consistent.message());
  }
  FrostShare share;
  share.id = object.label.id;
  share.key_package = std::move(key_package).value();
  share.public_package = std::move(public_package).value();
  share.created_at_unix = object.label.created_at;
  share.generated = object.label.generated;
  return share;
}

}  // namespace

base::Status Pkcs11Custody::StoreFrostShare(const base::KeyTypeId& key_type,
                                            const frost::KeyPackage& key_package,
                                            const frost::PublicKeyPackage& public_package,
                                            bool generated) {
  SIGNER_RETURN_IF_ERROR(CheckFrostShare(key_type, key_package, public_package));
  const KeyId id{key_type, std::vector<uint8_t>(key_package.group_public_key.begin(),
                                                key_package.group_public_key.end())};
  base::MutexLock lock(impl_->write_mutex);
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  SIGNER_ASSIGN_OR_RETURN(const std::vector<ShareObject> existing, ListShareObjects(session));
  for (const ShareObject& object : existing) {
    if (object.label.id == id) {
      return base::Status::InvalidArgument("a share of " + pkcs11::DisabledLabel(id) +
                                           " is already stored");
    }
  }
  SIGNER_ASSIGN_OR_RETURN(const CK_OBJECT_HANDLE wrapping_key, pkcs11::EnsureWrappingKey(session));
  // The record is secret (it starts with the share), so it is built in guarded memory.
  const base::SecretBytes package_bytes = key_package.Serialize();
  const std::vector<uint8_t> public_bytes = public_package.Serialize();
  base::SecretBytes record(package_bytes.size() + public_bytes.size());
  std::copy(package_bytes.span().begin(), package_bytes.span().end(), record.data());
  std::copy(public_bytes.begin(), public_bytes.end(), record.data() + package_bytes.size());
  SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> wrapped,
                          pkcs11::WrapSecret(session, wrapping_key, record.span()));
  const int64_t created_at = impl_->clock();
  const std::string label = pkcs11::MakeLabel(
      id, created_at, generated ? pkcs11::kOriginGenerated : pkcs11::kOriginImported);
  SIGNER_ASSIGN_OR_RETURN(
      const CK_OBJECT_HANDLE object,
      pkcs11::CreateDataObject(session, ShareApplication(), label, wrapped, "wrapped FROST share"));
  pkcs11::ObjectGuard guard(session, object);
  SIGNER_RETURN_IF_ERROR(
      UnwrapShare(session, wrapping_key,
                  ShareObject{object, pkcs11::ParsedLabel{id, created_at, generated}})
          .status());
  guard.Release();
  return base::Status::Ok();
}

base::Result<std::vector<FrostShare>> Pkcs11Custody::LoadFrostShares() {
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  SIGNER_ASSIGN_OR_RETURN(const std::vector<ShareObject> objects, ListShareObjects(session));
  std::vector<FrostShare> shares;
  if (objects.empty()) return shares;
  SIGNER_ASSIGN_OR_RETURN(const CK_OBJECT_HANDLE wrapping_key, pkcs11::FindWrappingKey(session));
  for (const ShareObject& object : objects) {
    SIGNER_ASSIGN_OR_RETURN(FrostShare share, UnwrapShare(session, wrapping_key, object));
    for (const FrostShare& earlier : shares) {
      if (earlier.id == share.id) {
        return base::Status::Internal("the token holds two shares of " +
                                      pkcs11::DisabledLabel(share.id));
      }
    }
    shares.push_back(std::move(share));
  }
  return shares;
}

base::Status Pkcs11Custody::DeleteFrostShare(const KeyId& id) {
  base::MutexLock lock(impl_->write_mutex);
  SIGNER_ASSIGN_OR_RETURN(Session session, impl_->pool->Acquire());
  SIGNER_ASSIGN_OR_RETURN(const std::vector<ShareObject> objects, ListShareObjects(session));
  bool found = false;
  for (const ShareObject& object : objects) {
    if (object.label.id != id) continue;
    found = true;
    const CK_RV destroyed = session.ChangeTokenObjects(
        [&] { return session.fn()->C_DestroyObject(session.handle(), object.handle); });
    SIGNER_RETURN_IF_ERROR(session.Check(destroyed, "C_DestroyObject (FROST share)"));
  }
  if (!found) return base::Status::NotFound("no share of " + pkcs11::DisabledLabel(id));
  return base::Status::Ok();
}

}  // namespace keymgr
