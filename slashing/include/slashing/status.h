// Status and Result<T>: how every fallible slashing call reports failure without exceptions.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace slashing {

// StatusCode is the closed set of failure kinds slashing reports; callers branch on it, never on
// text. A protection refusal is NOT a failure: it is a Verdict (see types.h). A failed Status means
// "no decision could be made durably", which the sign path must treat as "do not sign".
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // malformed input: bad encoding, bad interchange file, bad option
  kCorruption,          // a stored record does not decode: the store cannot be trusted
  kIoError,             // the disk or the database failed (write, sync, read)
  kBusy,                // the data directory is locked by another signer
  kFailedPrecondition,  // the request contradicts the store (another genesis hash, missing store)
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

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

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

}  // namespace slashing
