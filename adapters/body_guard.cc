#include "adapters/body_guard.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

namespace kefu {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

BodyPlan RefuseNow(int status, std::string code, std::string message) {
  BodyPlan p;
  p.action = BodyPlan::Action::kRefuseNow;
  p.status = status;
  p.code = std::move(code);
  p.message = std::move(message);
  return p;
}

// Read the body, throw it away, then refuse (or, unrouted, let the router answer 404/405).
BodyPlan DiscardThen(int status, std::string code, std::string message) {
  BodyPlan p;
  p.action = BodyPlan::Action::kRead;
  p.keep = 0;
  p.status = status;
  p.code = std::move(code);
  p.message = std::move(message);
  return p;
}

// Every Content-Encoding header names identity (or there is none).
bool PlainEncoding(const httplib::Request& req) {
  const size_t n = req.get_header_value_count("Content-Encoding");
  for (size_t i = 0; i < n; ++i) {
    if (!EqualsNoCase(Trim(req.get_header_value("Content-Encoding", i)), "identity")) return false;
  }
  return true;
}

std::string TooLarge(size_t limit) {
  return "the request body is larger than " + std::to_string(limit) + " bytes";
}

}  // namespace

BodyPlan PlanBody(const httplib::Request& req, bool routed, size_t route_limit, size_t discard_limit) {
  const size_t lengths = req.get_header_value_count("Content-Length");
  const size_t codings = req.get_header_value_count("Transfer-Encoding");
  if (codings > 0) {
    if (codings > 1 || !EqualsNoCase(Trim(req.get_header_value("Transfer-Encoding")), "chunked")) {
      return RefuseNow(501, "not_implemented", "Transfer-Encoding: only chunked is accepted");
    }
    if (lengths > 0) {
      return RefuseNow(400, "invalid_argument", "a request may not carry both Content-Length and Transfer-Encoding");
    }
  }
  uint64_t length = 0;
  if (lengths > 0) {
    // get_header_value returns a copy: keep it alive while `text` views it.
    const std::string header = req.get_header_value("Content-Length");
    const std::string_view text = Trim(header);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
    if (lengths > 1 || text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      return RefuseNow(400, "invalid_argument", "malformed Content-Length");
    }
    if (length == 0) return BodyPlan{};
  } else if (codings == 0) {
    return BodyPlan{};  // no body (RFC 9112, 6.3)
  }
  const bool chunked = codings > 0;
  if (!chunked && length > discard_limit) {
    return RefuseNow(413, "payload_too_large", TooLarge(routed ? route_limit : 0));
  }
  if (!PlainEncoding(req)) {
    return DiscardThen(415, "unsupported_media_type", "Content-Encoding is not accepted: send the body uncompressed");
  }
  if (StartsWithNoCase(Trim(req.get_header_value("Content-Type")), "multipart/")) {
    return DiscardThen(415, "unsupported_media_type", "multipart bodies are not accepted: send JSON");
  }
  if (!routed) return DiscardThen(0, "", "");
  if (!chunked && length > route_limit) return DiscardThen(413, "payload_too_large", TooLarge(route_limit));
  BodyPlan p;
  p.action = BodyPlan::Action::kRead;
  p.keep = route_limit;
  return p;
}

void DisarmRefusedBody(httplib::Request& req) {
  req.headers.erase("Content-Encoding");
  if (StartsWithNoCase(Trim(req.get_header_value("Content-Type")), "multipart/")) {
    req.headers.erase("Content-Type");
    req.headers.emplace("Content-Type", "application/octet-stream");
  }
}

BodyRead ReadBody(const httplib::ContentReader& reader, size_t keep, size_t discard_limit, std::string* body) {
  BodyRead result;
  size_t seen = 0;
  result.complete = reader([&](const char* data, size_t n) {
    seen += n;
    if (!result.over && body->size() + n <= keep) {
      body->append(data, n);
      return true;
    }
    if (!result.over) {
      result.over = true;
      std::string().swap(*body);  // give the memory back at once
    }
    return seen <= discard_limit;
  });
  return result;
}

}  // namespace kefu
