// SoftHsm: softhsm2.conf written here, tokens initialised over PKCS#11 in a short-lived session.
#include "support/softhsm.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "support/environment.h"
#include "support/files.h"

namespace support {
namespace {

// PKCS#11 token labels are 32 bytes, blank-padded.
constexpr size_t kLabelSize = 32;

std::string RvText(CK_RV rv) {
  char text[32];
  std::snprintf(text, sizeof(text), "CKR 0x%lx", static_cast<unsigned long>(rv));
  return text;
}

base::Status Check(CK_RV rv, const char* what) {
  if (rv == CKR_OK) return base::Status::Ok();
  return base::Status::Unavailable(std::string(what) + " failed: " + RvText(rv));
}

CK_UTF8CHAR_PTR Utf8(std::string_view text) {
  return reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(text.data()));
}

base::Result<std::vector<CK_SLOT_ID>> Slots(CK_FUNCTION_LIST* functions) {
  CK_ULONG count = 0;
  SIGNER_RETURN_IF_ERROR(
      Check(functions->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList"));
  std::vector<CK_SLOT_ID> slots(count);
  SIGNER_RETURN_IF_ERROR(
      Check(functions->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList"));
  slots.resize(count);
  return slots;
}

// FindSlot returns the first slot whose token is initialised (or not) and, for an initialised one,
// carries `padded_label`.
base::Result<CK_SLOT_ID> FindSlot(CK_FUNCTION_LIST* functions, bool initialised,
                                  const std::string& padded_label) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_SLOT_ID> slots, Slots(functions));
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (functions->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    const bool is_initialised = (info.flags & CKF_TOKEN_INITIALIZED) != 0;
    if (is_initialised != initialised) continue;
    if (!initialised || std::equal(padded_label.begin(), padded_label.end(), info.label)) {
      return slot;
    }
  }
  return base::Status::Unavailable(initialised ? "the new token is not listed"
                                               : "SoftHSM2 offers no free slot");
}

// InitTokenAndPin runs the administrator's steps on an initialised module.
base::Status InitTokenAndPin(CK_FUNCTION_LIST* functions, const std::string& padded_label,
                             std::string_view user_pin, std::string_view so_pin) {
  SIGNER_ASSIGN_OR_RETURN(const CK_SLOT_ID free_slot, FindSlot(functions, false, padded_label));
  SIGNER_RETURN_IF_ERROR(
      Check(functions->C_InitToken(free_slot, Utf8(so_pin), so_pin.size(), Utf8(padded_label)),
            "C_InitToken"));
  // SoftHSM2 gives an initialised token a new slot id, so it is looked up again by label.
  SIGNER_ASSIGN_OR_RETURN(const CK_SLOT_ID slot, FindSlot(functions, true, padded_label));
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  SIGNER_RETURN_IF_ERROR(Check(functions->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                                        nullptr, nullptr, &session),
                               "C_OpenSession"));
  base::Status status =
      Check(functions->C_Login(session, CKU_SO, Utf8(so_pin), so_pin.size()), "C_Login as SO");
  if (status.ok()) {
    status = Check(functions->C_InitPIN(session, Utf8(user_pin), user_pin.size()), "C_InitPIN");
    (void)functions->C_Logout(session);
  }
  (void)functions->C_CloseSession(session);
  return status;
}

}  // namespace

base::Result<SoftHsm> SoftHsm::Create(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory / "tokens", error);
  if (error) {
    return base::Status::IoError("cannot create " + (directory / "tokens").string() + ": " +
                                 error.message());
  }
  SoftHsm hsm(directory / "softhsm2.conf");
  SIGNER_RETURN_IF_ERROR(WriteFile(hsm.config_path_,
                                   "directories.tokendir = " + (directory / "tokens").string() +
                                       "\nobjectstore.backend = file\nlog.level = ERROR\n",
                                   0600));
  return hsm;
}

base::Status SoftHsm::InitToken(std::string_view label, std::string_view user_pin,
                                std::string_view so_pin) const {
  if (label.empty() || label.size() > kLabelSize) {
    return base::Status::InvalidArgument("a token label has 1 to 32 characters");
  }
  std::string padded_label(label);
  padded_label.resize(kLabelSize, ' ');
  const ScopedEnvironmentVariable config("SOFTHSM2_CONF", config_path_.string());
  // RTLD_NODELETE, as keymgr loads modules: SoftHSM2's exit handlers must find their code mapped.
  void* module = ::dlopen(SIGNER_SOFTHSM2_MODULE, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (module == nullptr) {
    return base::Status::Unavailable(std::string("cannot load SoftHSM2: ") + ::dlerror());
  }
  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(::dlsym(module, "C_GetFunctionList"));
  CK_FUNCTION_LIST* functions = nullptr;
  if (get_function_list == nullptr || get_function_list(&functions) != CKR_OK) {
    ::dlclose(module);
    return base::Status::Unavailable("SoftHSM2 has no PKCS#11 function list");
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  const CK_RV initialised = functions->C_Initialize(&args);
  base::Status status;
  if (initialised == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    status = base::Status::FailedPrecondition(
        "SoftHSM2 is already initialised in this process with the configuration it had then; "
        "close every custody before making a token");
  } else if (initialised != CKR_OK) {
    status = Check(initialised, "C_Initialize");
  } else {
    status = InitTokenAndPin(functions, padded_label, user_pin, so_pin);
    (void)functions->C_Finalize(nullptr);
  }
  ::dlclose(module);
  return status;
}

}  // namespace support
