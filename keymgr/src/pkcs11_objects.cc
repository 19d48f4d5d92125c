// Token object helpers the PKCS#11 custody parts share.
#include "pkcs11_objects.h"

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

}  // namespace keymgr::pkcs11
