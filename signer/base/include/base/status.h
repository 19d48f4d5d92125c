// Status and Result<T>: how every fallible call in the signer reports failure, without exceptions.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace base {

// StatusCode is the closed set of failure kinds; callers branch on it, never on text. A protection
// refusal is NOT a failure: it is a Verdict (slashing/types.h). A failed Status on the sign path
// means "no decision could be made durably" or "no key could be reached": do not sign.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // malformed input: bad hex, wrong length, bad encoding, bad file, bad option
  kNotFound,         // a key, object or file that was asked for does not exist
  kUnavailable,      // a backend (HSM, RNG, broker) could not be reached
  kCorruption,       // a stored record does not decode: the store cannot be trusted
  kIoError,          // the disk or the database failed (write, sync, read)
  kBusy,             // the data directory is locked by another process
  kFailedPrecondition,  // the request contradicts the stored state (another genesis, missing store)
  kInternal,            // a bug or a library failure that input cannot explain
};

// Status is a code plus a one-line human message. Copyable; thread-compatible.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }
  static Status NotFound(std::string message) {
    return Status(StatusCode::kNotFound, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(StatusCode::kUnavailable, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(StatusCode::kCorruption, std::move(message));
  }
  static Status IoError(std::string message) {
    return Status(StatusCode::kIoError, std::move(message));
  }
  static Status Busy(std::string message) { return Status(StatusCode::kBusy, std::move(message)); }
  static Status FailedPrecondition(std::string message) {
    return Status(StatusCode::kFailedPrecondition, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(StatusCode::kInternal, std::move(message));
  }
  // Status::FromCode builds a failed Status of a code chosen at run time (for example one that is
  // passed through from another call with more context added).
  static Status FromCode(StatusCode code, std::string message) {
    return Status(code, std::move(message));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // status() lets SIGNER_RETURN_IF_ERROR take a Status and a Result alike.
  const Status& status() const { return *this; }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds either a T or a failed Status. Accessing value() of a failed Result is a bug
// (asserted in debug builds); test ok() first. Thread-compatible.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace base

// SIGNER_RETURN_IF_ERROR(expr) evaluates a Status or Result once and returns its Status from the
// enclosing function when it failed.
#define SIGNER_RETURN_IF_ERROR(expr)                                 \
  do {                                                               \
    if (const auto& signer_status_ = (expr); !signer_status_.ok()) { \
      return signer_status_.status();                                \
    }                                                                \
  } while (false)

#define SIGNER_STATUS_CONCAT_INNER_(a, b) a##b
#define SIGNER_STATUS_CONCAT_(a, b) SIGNER_STATUS_CONCAT_INNER_(a, b)

// SIGNER_ASSIGN_OR_RETURN(lhs, expr) evaluates a Result once; on failure it returns the Status from
// the enclosing function, otherwise it moves the value into `lhs` (a declaration such as
// `auto key` or an existing variable).
#define SIGNER_ASSIGN_OR_RETURN(lhs, expr) \
  SIGNER_ASSIGN_OR_RETURN_IMPL_(SIGNER_STATUS_CONCAT_(signer_result_, __LINE__), lhs, expr)
#define SIGNER_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                  \
  if (!result.ok()) {                                    \
    return std::move(result).status();                   \
  }                                                      \
  lhs = std::move(result).value()
