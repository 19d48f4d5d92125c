// Token object helpers the PKCS#11 custody parts share.
#include "pkcs11_objects.h"

#include <iterator>
#include <string>
#include <vector>

namespace keymgr::pkcs11 {

base::Result<CK_OBJECT_HANDLE> FindOne(Session& session, std::span<CK_ATTRIBUTE> templ,
                                       std::string_view what) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> found, FindObjects(session, templ));
  if (found.empty()) return base::Status::NotFound(std::string(what) + " not found on the token");
  if (found.size() > 1)
    return base::Status::Internal(std::string(what) + " is ambiguous: several objects match");
  return found.front();
}

base::Result<CK_OBJECT_HANDLE> CreateDataObject(Session& session,
                                                std::span<const uint8_t> application,
                                                std::string_view label,
                                                std::span<const uint8_t> value,
                                                std::string_view what) {
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE templ[] = {
      AttrOf(CKA_CLASS, klass),
      AttrOf(CKA_TOKEN, kTrue),
      AttrOf(CKA_PRIVATE, kTrue),
      AttrOf(CKA_MODIFIABLE, kFalse),
      AttrBytes(CKA_APPLICATION, application),
      Attr(CKA_LABEL, label.data(), label.size()),
      AttrBytes(CKA_VALUE, value),
  };
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  const CK_RV created = session.ChangeTokenObjects([&] {
    return session.fn()->C_CreateObject(session.handle(), templ, std::size(templ), &object);
  });
  SIGNER_RETURN_IF_ERROR(session.Check(created, "C_CreateObject (" + std::string(what) + ")"));
  return object;
}

}  // namespace keymgr::pkcs11
