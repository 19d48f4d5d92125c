// PKCS#11 module loading (dlopen, one instance per path), the session pool and attribute helpers.
#include "pkcs11_module.h"

#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <iterator>
#include <map>
#include <utility>

namespace keymgr::pkcs11 {
namespace {

// How long Acquire waits for a busy pool before failing closed rather than queueing signing
// requests forever.
constexpr std::chrono::seconds kAcquireTimeout{5};

struct RvNameEntry {
  CK_RV rv;
  const char* name;
};

constexpr RvNameEntry kRvNames[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_UNWRAPPING_KEY_HANDLE_INVALID, "CKR_UNWRAPPING_KEY_HANDLE_INVALID"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID"},
    {CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE"},
    {CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
    {CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
};

// The process-wide registry of loaded modules: a module's C_Initialize/C_Finalize state is per
// process, so two custodies on one module must share it, and the last one to go finalises it.
struct ModuleRegistry {
  base::Mutex mutex;
  std::map<std::string, std::weak_ptr<Module>> modules GUARDED_BY(mutex);
};
// Never destroyed, so a module released during static destruction still finds it.
ModuleRegistry& Registry() {
  static auto* registry = new ModuleRegistry();
  return *registry;
}

std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string RvName(CK_RV rv) {
  char hex[24];
  std::snprintf(hex, sizeof(hex), "0x%lx", static_cast<unsigned long>(rv));
  for (const RvNameEntry& entry : kRvNames) {
    if (entry.rv == rv) return std::string(entry.name) + " (" + hex + ")";
  }
  return std::string("CKR_? (") + hex + ")";
}

base::Status RvToStatus(CK_RV rv, std::string_view what) {
  std::string message = std::string(what) + ": " + RvName(rv);
  switch (rv) {
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_COUNT:
    case CKR_SLOT_ID_INVALID:
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LEN_RANGE:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_HOST_MEMORY:
    case CKR_RANDOM_NO_RNG:
      return base::Status::Unavailable(std::move(message));
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
      return base::Status::NotFound(std::move(message));
    case CKR_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
      return base::Status::InvalidArgument(std::move(message));
    default:
      return base::Status::Internal(std::move(message));
  }
}

bool RvBreaksSession(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
    case CKR_ATTRIBUTE_SENSITIVE:
    case CKR_ATTRIBUTE_TYPE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_KEY_UNEXTRACTABLE:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_ATTRIBUTE_VALUE_INVALID:
      return false;
    default:
      // Anything else may leave an operation active or the session dead; a fresh session is cheap.
      return true;
  }
}

base::Result<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  ModuleRegistry& registry = Registry();
  base::MutexLock lock(registry.mutex);
  if (auto it = registry.modules.find(path); it != registry.modules.end()) {
    if (std::shared_ptr<Module> existing = it->second.lock()) return existing;
    registry.modules.erase(it);
  }
  // RTLD_NODELETE: modules (SoftHSM among them) register library destructors and atexit handlers
  // that crash when the code is unmapped before process exit, so the mapping stays; C_Finalize
  // still releases the state.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    const char* error = dlerror();
    return base::Status::Unavailable("cannot load PKCS#11 module " + path + ": " +
                                     (error ? error : "unknown error"));
  }
  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* functions = nullptr;
  if (get_function_list == nullptr || get_function_list(&functions) != CKR_OK ||
      functions == nullptr) {
    dlclose(handle);
    return base::Status::Unavailable("not a PKCS#11 module (no C_GetFunctionList): " + path);
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;  // we call from many threads; let the module use OS mutexes
  const CK_RV rv = functions->C_Initialize(&args);
  bool finalize_on_close = true;
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    // Another component of this process owns the module's lifetime; we must not finalise it under
    // them.
    finalize_on_close = false;
  } else if (rv != CKR_OK) {
    dlclose(handle);
    return base::Status::Unavailable("C_Initialize of " + path + ": " + RvName(rv));
  }
  std::shared_ptr<Module> module(new Module(handle, functions, finalize_on_close));
  registry.modules[path] = module;
  return module;
}

Module::~Module() {
  if (finalize_on_close_) {
    // Ignored result: a module that already went away reports CKR_CRYPTOKI_NOT_INITIALIZED, which
    // is fine.
    (void)functions_->C_Finalize(nullptr);
  }
  dlclose(handle_);
}

base::Result<CK_SLOT_ID> Module::FindSlotByTokenLabel(std::string_view label) const {
  CK_ULONG count = 0;
  CK_RV rv = functions_->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return base::Status::Unavailable("C_GetSlotList: " + RvName(rv));
  std::vector<CK_SLOT_ID> slots(count);
  rv = functions_->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return base::Status::Unavailable("C_GetSlotList: " + RvName(rv));
  slots.resize(count);
  const std::string_view wanted = TrimBlanks(label);
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (functions_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    const std::string_view token_label(reinterpret_cast<const char*>(info.label),
                                       sizeof(info.label));
    if (TrimBlanks(token_label) == wanted) return slot;
  }
  return base::Status::NotFound("no PKCS#11 token labelled \"" + std::string(wanted) + "\"");
}

Session::Session(Session&& other) noexcept
    : pool_(other.pool_), handle_(other.handle_), broken_(other.broken_) {
  other.pool_ = nullptr;
}

Session::~Session() {
  if (pool_ != nullptr) pool_->Release(handle_, broken_);
}

CK_FUNCTION_LIST* Session::fn() const { return pool_->fn(); }

base::SharedMutex& TokenObjectsMutex() {
  static base::SharedMutex mutex;
  return mutex;
}

base::Status Session::Check(CK_RV rv, std::string_view what) {
  if (rv == CKR_OK) return base::Status::Ok();
  if (RvBreaksSession(rv)) broken_ = true;
  return RvToStatus(rv, what);
}

base::Result<std::unique_ptr<SessionPool>> SessionPool::Open(std::shared_ptr<Module> module,
                                                             CK_SLOT_ID slot, base::SecretBytes pin,
                                                             size_t max_sessions) {
  std::unique_ptr<SessionPool> pool(new SessionPool(std::move(module), slot, std::move(pin),
                                                    max_sessions == 0 ? 1 : max_sessions));
  base::Result<CK_SESSION_HANDLE> first = pool->OpenLoggedIn();
  if (!first.ok()) return first.status();
  {
    // No other thread can see the pool yet; the lock is for the analysis and costs nothing.
    base::MutexLock lock(pool->mutex_);
    pool->idle_.push_back(*first);
    pool->open_count_ = 1;
  }
  return pool;
}

SessionPool::~SessionPool() {
  base::MutexLock lock(mutex_);
  for (CK_SESSION_HANDLE handle : idle_) (void)fn()->C_CloseSession(handle);
  // Closing the last session logs the user out of the token (PKCS#11 login state is per
  // application).
}

base::Result<CK_SESSION_HANDLE> SessionPool::OpenLoggedIn() {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv =
      fn()->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &handle);
  if (rv != CKR_OK) {
    base::Status status = RvToStatus(rv, "C_OpenSession");
    return status.code() == base::StatusCode::kUnavailable
               ? status
               : base::Status::Unavailable(status.message());
  }
  rv = fn()->C_Login(handle, CKU_USER, pin_.data(), static_cast<CK_ULONG>(pin_.size()));
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    (void)fn()->C_CloseSession(handle);
    return base::Status::Unavailable("C_Login: " + RvName(rv));
  }
  return handle;
}

base::Result<Session> SessionPool::Acquire() {
  {
    base::MutexLock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + kAcquireTimeout;
    for (;;) {
      if (!idle_.empty()) {
        CK_SESSION_HANDLE handle = idle_.back();
        idle_.pop_back();
        return Session(this, handle);
      }
      if (open_count_ < max_sessions_) {
        ++open_count_;  // reserve the slot, then open outside the lock
        break;
      }
      if (!returned_.WaitUntil(mutex_, deadline) && idle_.empty() && open_count_ >= max_sessions_) {
        return base::Status::Unavailable("no PKCS#11 session became free in time");
      }
    }
  }
  // Login can be slow on real HSMs, so the session is opened without the lock.
  base::Result<CK_SESSION_HANDLE> opened = OpenLoggedIn();
  if (!opened.ok()) {
    base::MutexLock lock(mutex_);
    --open_count_;
    returned_.Signal();
    return opened.status();
  }
  return Session(this, *opened);
}

void SessionPool::Release(CK_SESSION_HANDLE handle, bool broken) {
  if (broken) (void)fn()->C_CloseSession(handle);
  base::MutexLock lock(mutex_);
  if (broken) {
    --open_count_;
  } else {
    idle_.push_back(handle);
  }
  returned_.Signal();
}

base::Result<std::vector<uint8_t>> GetBytes(Session& session, CK_OBJECT_HANDLE object,
                                            CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute{type, nullptr, 0};
  if (base::Status s =
          session.Check(session.fn()->C_GetAttributeValue(session.handle(), object, &attribute, 1),
                        "C_GetAttributeValue");
      !s.ok()) {
    return s;
  }
  std::vector<uint8_t> value(attribute.ulValueLen);
  attribute.pValue = value.data();
  if (base::Status s =
          session.Check(session.fn()->C_GetAttributeValue(session.handle(), object, &attribute, 1),
                        "C_GetAttributeValue");
      !s.ok()) {
    return s;
  }
  value.resize(attribute.ulValueLen);
  return value;
}

base::Result<bool> GetBool(Session& session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attribute = AttrOf(type, value);
  if (base::Status s =
          session.Check(session.fn()->C_GetAttributeValue(session.handle(), object, &attribute, 1),
                        "C_GetAttributeValue");
      !s.ok()) {
    return s;
  }
  return value == CK_TRUE;
}

base::Result<CK_ULONG> GetUlong(Session& session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attribute = AttrOf(type, value);
  if (base::Status s =
          session.Check(session.fn()->C_GetAttributeValue(session.handle(), object, &attribute, 1),
                        "C_GetAttributeValue");
      !s.ok()) {
    return s;
  }
  return value;
}

base::Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(Session& session,
                                                        std::span<CK_ATTRIBUTE> templ,
                                                        size_t limit) {
  CK_FUNCTION_LIST* fn = session.fn();
  // Shared with other searches, exclusive of object changes (TokenObjectsMutex).
  base::ReaderMutexLock search_lock(TokenObjectsMutex());
  SIGNER_RETURN_IF_ERROR(session.Check(
      fn->C_FindObjectsInit(session.handle(), templ.data(), static_cast<CK_ULONG>(templ.size())),
      "C_FindObjectsInit"));
  std::vector<CK_OBJECT_HANDLE> found;
  base::Status status = base::Status::Ok();
  for (;;) {
    CK_OBJECT_HANDLE batch[256];
    CK_ULONG count = 0;
    status = session.Check(fn->C_FindObjects(session.handle(), batch, std::size(batch), &count),
                           "C_FindObjects");
    if (!status.ok() || count == 0) break;
    found.insert(found.end(), batch, batch + count);
    if (found.size() > limit) {
      status = base::Status::Internal("too many PKCS#11 objects match");
      break;
    }
  }
  // Always end the search, or the session stays busy (CKR_OPERATION_ACTIVE) for its next user.
  if (base::Status end =
          session.Check(fn->C_FindObjectsFinal(session.handle()), "C_FindObjectsFinal");
      !end.ok()) {
    session.MarkBroken();
    if (status.ok()) status = end;
  }
  if (!status.ok()) return status;
  return found;
}

}  // namespace keymgr::pkcs11
