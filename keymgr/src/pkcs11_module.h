// PKCS#11 plumbing: a dlopen'ed module shared per process, pooled RAII sessions, attribute helpers.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "base/thread_annotations.h"

namespace keymgr::pkcs11 {

// RvName returns "CKR_NAME (0x..)" for logs and Status messages.
std::string RvName(CK_RV rv);
// RvToStatus maps a failed return value to a Status whose message starts with `what`: lost module,
// device or session and a rejected PIN become kUnavailable, a missing object kNotFound, bad input
// kInvalidArgument, and everything else kInternal.
base::Status RvToStatus(CK_RV rv, std::string_view what);
// RvBreaksSession is true for return values after which the session must not be reused.
bool RvBreaksSession(CK_RV rv);

// Module is one loaded PKCS#11 module. A module is process-global state (C_Initialize may run once
// per process), so Module::Load hands out one shared instance per path; the last owner calls
// C_Finalize. Thread-safe: the module is initialised with CKF_OS_LOCKING_OK.
class Module {
 public:
  // Load dlopens `path`, fetches its function list and calls C_Initialize. Fails with kUnavailable
  // if the file cannot be loaded, is not a PKCS#11 module, or refuses to initialise.
  static base::Result<std::shared_ptr<Module>> Load(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* fn() const { return functions_; }
  // FindSlotByTokenLabel returns the slot whose token label (blank-padded to 32) equals `label`.
  // Fails with kNotFound if no present token has it, kUnavailable if the slot list cannot be read.
  base::Result<CK_SLOT_ID> FindSlotByTokenLabel(std::string_view label) const;

 private:
  Module(void* handle, CK_FUNCTION_LIST* functions, bool finalize_on_close)
      : handle_(handle), functions_(functions), finalize_on_close_(finalize_on_close) {}

  void* handle_;
  CK_FUNCTION_LIST* functions_;
  bool finalize_on_close_;  // false if someone else in this process had already initialised the
                            // module
};

class SessionPool;

// TokenObjectsMutex is the process-wide lock that token searches hold shared (FindObjects) and
// changes to token objects hold exclusively (Session::ChangeTokenObjects). SoftHSM 2.6.1 (Debian
// 12's) lets a search in one session read a token object's file while another session of the same
// process is still writing it, and fails the write with CKR_GENERAL_ERROR (SoftHSMv2 issue 573,
// fixed after 2.6.1). keymgr searches the token in the background (the disable-marker refresher)
// while imports and marker changes create objects. It is one lock for the whole process, not one
// per session pool: a module is initialised once per process and its sessions all share its state,
// so two custody instances on one token (a signer and an operator command in one test, or two
// pools) race exactly as two sessions of one pool do. Other modules lose nothing but a little
// concurrency between searches and key changes, which are rare. It guards the module's state, not
// ours, so no field is GUARDED_BY it.
base::SharedMutex& TokenObjectsMutex();

// Session is a leased PKCS#11 session: exclusive to its holder until destroyed, then returned to
// the pool (or closed, if MarkBroken was called). Move-only.
class Session {
 public:
  Session(Session&& other) noexcept;
  Session& operator=(Session&&) = delete;
  Session(const Session&) = delete;
  ~Session();

  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_FUNCTION_LIST* fn() const;
  // Check returns Ok for CKR_OK; otherwise marks the session broken when `rv` requires it and maps
  // `rv`.
  base::Status Check(CK_RV rv, std::string_view what);
  // MarkBroken makes the destructor close the session instead of returning it to the pool.
  void MarkBroken() { broken_ = true; }
  // ChangeTokenObjects runs `call` (one PKCS#11 call that creates, destroys or modifies an object)
  // alone with respect to token searches (FindObjects), holding TokenObjectsMutex exclusively. The
  // lock covers the one call: it is not recursive, so a search inside it would deadlock.
  template <typename Call>
  CK_RV ChangeTokenObjects(Call&& call) EXCLUDES(TokenObjectsMutex()) {
    base::WriterMutexLock lock(TokenObjectsMutex());
    return std::forward<Call>(call)();
  }

 private:
  friend class SessionPool;
  Session(SessionPool* pool, CK_SESSION_HANDLE handle) : pool_(pool), handle_(handle) {}

  SessionPool* pool_;
  CK_SESSION_HANDLE handle_;
  bool broken_ = false;
};

// SessionPool keeps up to `max_sessions` read-write user sessions on one token. Acquire hands each
// caller its own session, so no two threads run operations on one session (SoftHSM answers
// CKR_OPERATION_ACTIVE). The PIN is kept in SecretBytes to log in again after the module dropped
// every session. Thread-safe.
class SessionPool {
 public:
  // Open opens the first session on `slot` and logs in, so a wrong PIN fails here rather than at
  // first use.
  static base::Result<std::unique_ptr<SessionPool>> Open(std::shared_ptr<Module> module,
                                                         CK_SLOT_ID slot, base::SecretBytes pin,
                                                         size_t max_sessions);
  ~SessionPool();

  // Acquire returns an idle session, opens a new one, or waits (bounded) for one to be returned.
  // Fails with kUnavailable if the module cannot open a session or none is returned in time.
  base::Result<Session> Acquire() EXCLUDES(mutex_);
  CK_FUNCTION_LIST* fn() const { return module_->fn(); }
  const std::shared_ptr<Module>& module() const { return module_; }

 private:
  friend class Session;
  SessionPool(std::shared_ptr<Module> module, CK_SLOT_ID slot, base::SecretBytes pin,
              size_t max_sessions)
      : module_(std::move(module)),
        slot_(slot),
        pin_(std::move(pin)),
        max_sessions_(max_sessions) {}

  // OpenLoggedIn opens a session and logs in; called without the lock, as login can be slow.
  base::Result<CK_SESSION_HANDLE> OpenLoggedIn() EXCLUDES(mutex_);
  void Release(CK_SESSION_HANDLE handle, bool broken) EXCLUDES(mutex_);

  std::shared_ptr<Module> module_;
  CK_SLOT_ID slot_;
  base::SecretBytes pin_;
  size_t max_sessions_;
  base::Mutex mutex_;
  base::CondVar returned_;  // signalled when a session goes back to idle_ or a slot frees up
  std::vector<CK_SESSION_HANDLE> idle_ GUARDED_BY(mutex_);
  // Sessions open, leased or idle, plus ones being opened.
  size_t open_count_ GUARDED_BY(mutex_) = 0;
};

// Attribute helpers. `GetBytes` reads a variable-length attribute; `GetBool`/`GetUlong` a fixed
// one.
base::Result<std::vector<uint8_t>> GetBytes(Session& session, CK_OBJECT_HANDLE object,
                                            CK_ATTRIBUTE_TYPE type);
base::Result<bool> GetBool(Session& session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
base::Result<CK_ULONG> GetUlong(Session& session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
// kMaxFoundObjects bounds one search: far above any validator fleet's key count (tens of
// thousands), low enough that a runaway module cannot exhaust memory.
inline constexpr size_t kMaxFoundObjects = size_t{1} << 20;
// FindObjects returns every object matching `templ`. Fails with kInternal if more than `limit`
// match, rather than return a silently truncated list.
base::Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(Session& session,
                                                        std::span<CK_ATTRIBUTE> templ,
                                                        size_t limit = kMaxFoundObjects);

// Attr builds a CK_ATTRIBUTE pointing at caller-owned storage (PKCS#11 takes non-const pointers).
inline CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, const void* value, size_t size) {
  return CK_ATTRIBUTE{type, const_cast<void*>(value), static_cast<CK_ULONG>(size)};
}
template <typename T>
CK_ATTRIBUTE AttrOf(CK_ATTRIBUTE_TYPE type, const T& value) {
  return Attr(type, &value, sizeof(T));
}
// A temporary would dangle before the module reads the template.
template <typename T>
CK_ATTRIBUTE AttrOf(CK_ATTRIBUTE_TYPE type, const T&& value) = delete;
inline CK_ATTRIBUTE AttrBytes(CK_ATTRIBUTE_TYPE type, std::span<const uint8_t> bytes) {
  return Attr(type, bytes.data(), bytes.size());
}

inline constexpr CK_BBOOL kTrue = CK_TRUE;
inline constexpr CK_BBOOL kFalse = CK_FALSE;

}  // namespace keymgr::pkcs11
