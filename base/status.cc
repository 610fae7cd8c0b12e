#include "base/status.h"

namespace kefu {

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not_found";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kConflict: return "conflict";
    case Code::kResourceExhausted: return "resource_exhausted";
    case Code::kUnavailable: return "unavailable";
    case Code::kIOError: return "io_error";
    case Code::kCorruption: return "corruption";
    case Code::kInternal: return "internal";
    case Code::kAborted: return "aborted";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  for (char& c : s) if (c == '_') c = ' ';
  return s + ": " + message_;
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  std::string msg(prefix);
  msg += ": ";
  msg += message_;
  Status out(code_, msg);
  out.reason_ = reason_;
  return out;
}

Status Status::WithReason(std::string_view reason) const {
  Status out = *this;
  if (!ok()) out.reason_ = std::string(reason);
  return out;
}

}  // namespace kefu
