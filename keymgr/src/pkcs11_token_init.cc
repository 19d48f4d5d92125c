// Initialises a PKCS#11 token and its user PIN (C_InitToken, C_InitPIN) for development and tests.
#include "keymgr/pkcs11_token_init.h"

#include <algorithm>
#include <array>
#include <vector>

#include "pkcs11_module.h"

namespace keymgr {
namespace {

using pkcs11::Module;
using pkcs11::RvToStatus;

// PKCS#11 takes PINs as non-const pointers but does not write through them.
CK_UTF8CHAR* Utf8(const base::SecretBytes& pin) { return const_cast<CK_UTF8CHAR*>(pin.data()); }

base::Result<CK_SLOT_ID> FirstUninitialisedSlot(CK_FUNCTION_LIST* fn) {
  CK_ULONG count = 0;
  if (fn->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK) {
    return base::Status::Unavailable("C_GetSlotList failed");
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (fn->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK) {
    return base::Status::Unavailable("C_GetSlotList failed");
  }
  slots.resize(count);
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (fn->C_GetTokenInfo(slot, &info) == CKR_OK && (info.flags & CKF_TOKEN_INITIALIZED) == 0) {
      return slot;
    }
  }
  return base::Status::Unavailable("no uninitialised token slot");
}

}  // namespace

base::Status InitializeToken(const std::string& module_path, std::string_view label,
                             const base::SecretBytes& so_pin, const base::SecretBytes& user_pin) {
  SIGNER_ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(module_path));
  CK_FUNCTION_LIST* fn = module->fn();
  SIGNER_ASSIGN_OR_RETURN(const CK_SLOT_ID fresh, FirstUninitialisedSlot(fn));
  std::array<CK_UTF8CHAR, 32> padded_label;
  padded_label.fill(' ');
  std::copy_n(label.begin(), std::min(label.size(), padded_label.size()), padded_label.begin());
  CK_RV rv = fn->C_InitToken(fresh, Utf8(so_pin), so_pin.size(), padded_label.data());
  if (rv != CKR_OK) return RvToStatus(rv, "C_InitToken");
  // SoftHSM gives an initialised token a new slot id, so look it up again by its label.
  auto slot = module->FindSlotByTokenLabel(label);
  if (!slot.ok()) return base::Status::Unavailable("the new token is not listed");
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  rv = fn->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
  if (rv != CKR_OK) return RvToStatus(rv, "C_OpenSession");
  rv = fn->C_Login(session, CKU_SO, Utf8(so_pin), so_pin.size());
  if (rv == CKR_OK) {
    rv = fn->C_InitPIN(session, Utf8(user_pin), user_pin.size());
    (void)fn->C_Logout(session);
  }
  (void)fn->C_CloseSession(session);
  if (rv != CKR_OK) return RvToStatus(rv, "setting the user PIN");
  return base::Status::Ok();
}

}  // namespace keymgr
