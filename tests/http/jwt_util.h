// Compact HS256 JWTs for tests and fuzz targets, built by hand (base64url of the header and
// claims as given, HMAC-SHA256 under the secret), so that a test can sign anything: wrong types,
// odd headers, any algorithm name.
#ifndef KEFU_TESTS_HTTP_JWT_UTIL_H_
#define KEFU_TESTS_HTTP_JWT_UTIL_H_

#include <ctime>
#include <string>
#include <string_view>

#include "engine/auth.h"

namespace kefu::testing {

inline std::string Base64Url(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

// The raw HMAC-SHA256 of `message` under `key`.
inline std::string HmacSha256(std::string_view key, std::string_view message) {
  const std::string hex = HmacSha256Hex(key, message);
  std::string raw;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return raw;
}

// header.claims.signature, signed with HMAC-SHA256 under `secret` whatever `header` says.
inline std::string SignJwt(std::string_view header, std::string_view claims, std::string_view secret) {
  const std::string signing_input = Base64Url(header) + "." + Base64Url(claims);
  return signing_input + "." + Base64Url(HmacSha256(secret, signing_input));
}

inline int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

// A valid identity JWT for `sub`, expiring in `ttl` seconds, with `extra` claims (",\"name\":...").
inline std::string IdentityJwt(std::string_view secret, std::string_view sub, int64_t ttl = 600,
                               std::string_view extra = "") {
  const int64_t now = UnixNow();
  const std::string claims = "{\"sub\":\"" + std::string(sub) + "\",\"iat\":" + std::to_string(now) +
                             ",\"exp\":" + std::to_string(now + ttl) + std::string(extra) + "}";
  return SignJwt(R"({"alg":"HS256","typ":"JWT"})", claims, secret);
}

}  // namespace kefu::testing

#endif  // KEFU_TESTS_HTTP_JWT_UTIL_H_
