// Status and Result<T>: how kefu reports expected failures. Errors are values inside the engine;
// exceptions never cross a module boundary. The HTTP and CLI edges turn a Status into a message.
#ifndef KEFU_BASE_STATUS_H_
#define KEFU_BASE_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kefu {

class Status {
 public:
  // The small set of failure kinds; adapters map each to one HTTP status in one place.
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,
    kUnauthenticated,
    kPermissionDenied,
    kConflict,
    kResourceExhausted,
    kUnavailable,
    kIOError,
    kCorruption,
    kInternal,
    // A transaction lost a lock conflict or a deadlock; running the operation again may succeed.
    kAborted,
  };

  // An OK status carries no message and costs no allocation.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, msg); }
  static Status Unauthenticated(std::string_view msg) { return Status(Code::kUnauthenticated, msg); }
  static Status PermissionDenied(std::string_view msg) { return Status(Code::kPermissionDenied, msg); }
  static Status Conflict(std::string_view msg) { return Status(Code::kConflict, msg); }
  static Status ResourceExhausted(std::string_view msg) { return Status(Code::kResourceExhausted, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status Internal(std::string_view msg) { return Status(Code::kInternal, msg); }
  static Status Aborted(std::string_view msg) { return Status(Code::kAborted, msg); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid argument: <message>", or "OK".
  std::string ToString() const;

  // The code as a stable snake_case word ("not_found"), used in JSON error bodies.
  static std::string_view CodeName(Code code);

  // A copy of this status with `prefix: ` put before the message (for adding context such as a
  // file name). OK stays OK.
  Status WithContext(std::string_view prefix) const;

  // A copy of this status carrying `reason`: a stable snake_case word a client can act on where
  // one code has several causes (a 409 claim: "taken", "offline", "full"). OK stays OK.
  Status WithReason(std::string_view reason) const;
  // The reason, "" when none was given.
  const std::string& reason() const { return reason_; }

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}

  Code code_ = Code::kOk;
  std::string message_;
  std::string reason_;
};

// Either a value or a non-OK Status. Accessing value() of an error is a programmer error.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace kefu

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define KEFU_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::kefu::Status kefu_status_ = (expr);     \
    if (!kefu_status_.ok()) return kefu_status_; \
  } while (0)

#endif  // KEFU_BASE_STATUS_H_
