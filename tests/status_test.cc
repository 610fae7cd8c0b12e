#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "base/status.h"

namespace kefu {
namespace {

Status FailIfNegative(int x) {
  if (x < 0) return Status::InvalidArgument("negative");
  return Status::OK();
}

Status Chain(int x) {
  KEFU_RETURN_IF_ERROR(FailIfNegative(x));
  return Status::NotFound("reached the end");
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

TEST_CASE("a default Status is OK with no message") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == Status::Code::kOk);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "OK");
  CHECK(Status::OK().ok());
}

TEST_CASE("each factory sets its code and keeps the message") {
  const struct {
    Status status;
    Status::Code code;
    const char* name;
  } cases[] = {
      {Status::NotFound("m"), Status::Code::kNotFound, "not_found"},
      {Status::InvalidArgument("m"), Status::Code::kInvalidArgument, "invalid_argument"},
      {Status::Unauthenticated("m"), Status::Code::kUnauthenticated, "unauthenticated"},
      {Status::PermissionDenied("m"), Status::Code::kPermissionDenied, "permission_denied"},
      {Status::Conflict("m"), Status::Code::kConflict, "conflict"},
      {Status::ResourceExhausted("m"), Status::Code::kResourceExhausted, "resource_exhausted"},
      {Status::Unavailable("m"), Status::Code::kUnavailable, "unavailable"},
      {Status::IOError("m"), Status::Code::kIOError, "io_error"},
      {Status::Corruption("m"), Status::Code::kCorruption, "corruption"},
      {Status::Internal("m"), Status::Code::kInternal, "internal"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.name));
    CHECK_FALSE(c.status.ok());
    CHECK(c.status.code() == c.code);
    CHECK(c.status.message() == "m");
    CHECK(Status::CodeName(c.code) == c.name);
  }
}

TEST_CASE("CodeName gives stable snake_case words") {
  CHECK(Status::CodeName(Status::Code::kOk) == "ok");
  CHECK(Status::CodeName(Status::Code::kNotFound) == "not_found");
  CHECK(Status::CodeName(Status::Code::kIOError) == "io_error");
}

TEST_CASE("ToString spells the code with spaces before the message") {
  CHECK(Status::InvalidArgument("bad id").ToString() == "invalid argument: bad id");
  CHECK(Status::NotFound("no such KB").ToString() == "not found: no such KB");
  CHECK(Status::IOError("disk").ToString() == "io error: disk");
}

TEST_CASE("WithContext prefixes the message and keeps the code; OK stays OK") {
  const Status s = Status::NotFound("entry x").WithContext("kb.json");
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.message() == "kb.json: entry x");
  const Status twice = s.WithContext("load");
  CHECK(twice.message() == "load: kb.json: entry x");
  const Status ok = Status::OK().WithContext("kb.json");
  CHECK(ok.ok());
  CHECK(ok.message().empty());
}

TEST_CASE("KEFU_RETURN_IF_ERROR returns the first error and continues on OK") {
  const Status early = Chain(-1);
  CHECK(early.code() == Status::Code::kInvalidArgument);
  CHECK(early.message() == "negative");
  const Status late = Chain(1);
  CHECK(late.code() == Status::Code::kNotFound);
}

TEST_CASE("Result holds either a value or an error status") {
  Result<int> good = Half(8);
  REQUIRE(good.ok());
  CHECK(good.status().ok());
  CHECK(good.value() == 4);
  CHECK(*good == 4);

  Result<int> bad = Half(3);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  CHECK(bad.status().message() == "odd");
}

TEST_CASE("Result gives access through -> and moves out move-only values") {
  Result<std::string> s = std::string("hello");
  REQUIRE(s.ok());
  CHECK(s->size() == 5);
  Result<std::unique_ptr<int>> p = std::make_unique<int>(7);
  REQUIRE(p.ok());
  std::unique_ptr<int> owned = std::move(p).value();
  REQUIRE(owned != nullptr);
  CHECK(*owned == 7);
}

}  // namespace
}  // namespace kefu
