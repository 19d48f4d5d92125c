// Disable markers on the token: finding, reading, writing and removing them.
#include "pkcs11_disable_markers.h"

#include <iterator>
#include <string>
#include <utility>

#include "pkcs11_labels.h"

namespace keymgr::pkcs11 {
namespace {

std::vector<uint8_t> DisabledApplicationBytes() {
  return std::vector<uint8_t>(kDisabledApplication.begin(), kDisabledApplication.end());
}

}  // namespace

base::Result<std::vector<CK_OBJECT_HANDLE>> FindMarkers(Session& session, const KeyId& id) {
  const std::vector<uint8_t> application = DisabledApplicationBytes();
  const std::string label = DisabledLabel(id);
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_APPLICATION, application),
                          Attr(CKA_LABEL, label.data(), label.size())};
  return FindObjects(session, templ);
}

base::Result<std::set<KeyId>> ReadDisabled(Session& session) {
  const std::vector<uint8_t> application = DisabledApplicationBytes();
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_APPLICATION, application)};
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> found, FindObjects(session, templ));
  std::set<KeyId> disabled;
  for (CK_OBJECT_HANDLE handle : found) {
    SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> label, GetBytes(session, handle, CKA_LABEL));
    // A marker we cannot read disables nothing we could name; it is not ours to judge.
    if (std::optional<KeyId> id = ParseDisabledLabel(label)) disabled.insert(std::move(*id));
  }
  return disabled;
}

base::Result<CK_OBJECT_HANDLE> WriteMarker(Session& session, const KeyId& id, int64_t now) {
  const std::vector<uint8_t> application = DisabledApplicationBytes();
  const std::string label = DisabledLabel(id);
  const std::string value = std::to_string(now);
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {
      AttrOf(CKA_CLASS, klass),
      AttrOf(CKA_TOKEN, kTrue),
      AttrOf(CKA_PRIVATE, kTrue),
      AttrOf(CKA_MODIFIABLE, kFalse),
      AttrBytes(CKA_APPLICATION, application),
      Attr(CKA_LABEL, label.data(), label.size()),
      Attr(CKA_VALUE, value.data(), value.size()),
  };
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  const CK_RV created = session.ChangeTokenObjects([&] {
    return session.fn()->C_CreateObject(session.handle(), templ, std::size(templ), &object);
  });
  SIGNER_RETURN_IF_ERROR(session.Check(created, "C_CreateObject (disable marker)"));
  return object;
}

base::Result<std::optional<CK_OBJECT_HANDLE>> WriteMarkerIfAbsent(Session& session, const KeyId& id,
                                                                  int64_t now) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> markers, FindMarkers(session, id));
  if (!markers.empty()) return std::optional<CK_OBJECT_HANDLE>();
  SIGNER_ASSIGN_OR_RETURN(const CK_OBJECT_HANDLE marker, WriteMarker(session, id, now));
  return std::optional<CK_OBJECT_HANDLE>(marker);
}

base::Status RemoveMarkers(Session& session, const KeyId& id) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> markers, FindMarkers(session, id));
  for (CK_OBJECT_HANDLE marker : markers) {
    const CK_RV destroyed = session.ChangeTokenObjects(
        [&] { return session.fn()->C_DestroyObject(session.handle(), marker); });
    SIGNER_RETURN_IF_ERROR(session.Check(destroyed, "C_DestroyObject (disable marker)"));
  }
  return base::Status::Ok();
}

}  // namespace keymgr::pkcs11
