// Disable markers on the token: finding, reading, writing and removing them.
#include "pkcs11_disable_markers.h"

#include <iterator>
#include <string>
#include <utility>

#include "pkcs11_labels.h"
#include "pkcs11_objects.h"

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
  const std::string value = std::to_string(now);
  return CreateDataObject(session, DisabledApplicationBytes(), DisabledLabel(id),
                          {reinterpret_cast<const uint8_t*>(value.data()), value.size()},
                          "disable marker");
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
