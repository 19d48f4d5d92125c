// Token object helpers the PKCS#11 custody parts share: undo guard, single match, stale handles.
#pragma once

#include <p11-kit/pkcs11.h>

#include <span>
#include <string_view>

#include "base/status.h"
#include "pkcs11_module.h"

namespace keymgr::pkcs11 {

// ObjectGuard destroys a (session) object when it goes out of scope unless released: no half-made
// keys or transient plaintext key objects survive an error path.
class ObjectGuard {
 public:
  ObjectGuard(Session& session, CK_OBJECT_HANDLE object) : session_(session), object_(object) {}
  ~ObjectGuard() {
    if (object_ != CK_INVALID_HANDLE) {
      (void)session_.ChangeTokenObjects(
          [&] { return session_.fn()->C_DestroyObject(session_.handle(), object_); });
    }
  }
  ObjectGuard(const ObjectGuard&) = delete;
  ObjectGuard& operator=(const ObjectGuard&) = delete;
  // Release keeps the object: the operation that made it succeeded.
  void Release() { object_ = CK_INVALID_HANDLE; }

 private:
  Session& session_;
  CK_OBJECT_HANDLE object_;
};

// FindOne returns the single object matching `templ`: kNotFound if none, kInternal if several
// (ambiguous identities must never pick a key at random).
base::Result<CK_OBJECT_HANDLE> FindOne(Session& session, std::span<CK_ATTRIBUTE> templ,
                                       std::string_view what);

// CreateDataObject writes one private, unmodifiable CKO_DATA token object of ours: `application`
// names what kind it is, `label` which key it belongs to, `value` its content. `what` names it in
// errors. The caller undoes it (ObjectGuard) if a later step fails.
base::Result<CK_OBJECT_HANDLE> CreateDataObject(Session& session,
                                                std::span<const uint8_t> application,
                                                std::string_view label,
                                                std::span<const uint8_t> value,
                                                std::string_view what);

// HandleGone is true for return values saying the object behind a handle no longer exists.
inline bool HandleGone(CK_RV rv) {
  return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID;
}

// HandleNamesAnotherObject is true when a one-call attribute read of a remembered handle shows the
// object gone or a different one there: too small a buffer or a missing attribute means the
// number was reused.
inline bool HandleNamesAnotherObject(CK_RV rv) {
  return HandleGone(rv) || rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

}  // namespace keymgr::pkcs11
