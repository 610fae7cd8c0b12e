// Who a customer is when an app or an intranet vouches for them (docs/channels.md): the "customer"
// object of POST /v1/desks/{desk}/conversations.
//
//   {"jwt": "<HS256 JWT>"}                    an HS256 JWT signed with the desk's app_secret: `sub`
//                                              (the user id) and `exp` required; `iat` and `nbf`
//                                              honoured; `name`, `email`, `department` optional
//   {"id": "...", "signature": "<hex>"}       legacy: a bare HMAC-SHA256 of the id, which never
//                                              expires; only on desks with "legacy_hmac": true
//   either of them may add "link_token"       the anonymous web conversation to bring along
//
// The JWT goes through libjwt (Debian's libjwt 1.10.2, whose HMAC check is constant time since
// CVE-2024-25189's fix): base64url, the header, the signature; the algorithm must be HS256 (none,
// other HMACs and public-key algorithms are refused whatever the header says) and no `crit`
// header is understood. The claims are then read through kefu's checked JSON reader. Every
// failure is Unauthenticated with a message for the app's developer, never the expected value.
// Thread-safe: pure functions of their arguments.
#ifndef KEFU_ADAPTERS_CUSTOMER_IDENTITY_H_
#define KEFU_ADAPTERS_CUSTOMER_IDENTITY_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"

namespace kefu {

// What the adapter knows about a verified customer. The engine keeps `user_id` (as StartRequest's
// verified_user); the profile is the adapter's until the engine stores it on the conversation.
struct CustomerIdentity {
  std::string user_id;     // the JWT's `sub`, or the legacy signed id
  std::string name;        // profile claims of the JWT, "" when absent
  std::string email;
  std::string department;
  int64_t expires_at = 0;  // the JWT's `exp` (Unix seconds); 0 for a legacy signature
  bool legacy = false;     // verified by the bare HMAC
};

// How a desk accepts signed identities.
struct DeskIdentity {
  std::string secret;        // the desk's app_secret; "" accepts no signed identity
  bool legacy_hmac = false;  // also the bare HMAC of the id (legacy)
};

struct IdentityRules {
  // Clock skew allowed on exp, nbf and iat, seconds. Default 60.
  int64_t clock_skew_seconds = 60;
  // A JWT whose exp is further ahead is refused: a leaked token must stop working soon. Default
  // 24 hours (apps mint one when the user opens the chat).
  int64_t max_lifetime_seconds = 24 * 3600;
  // Longest JWT accepted, bytes. Default 4,096.
  size_t max_token_bytes = 4096;
};

// Verifies an HS256 JWT signed with `secret` at `now_seconds` (Unix time).
Result<CustomerIdentity> VerifyIdentityJwt(std::string_view token, std::string_view secret, int64_t now_seconds,
                                           const IdentityRules& rules = {});

// Signs `who` (sub = user_id; name, email and department when not empty) as an HS256 JWT under
// `secret`, issued at `now_seconds` and expiring `lifetime_seconds` later: what an app's backend
// mints (docs/channels.md), here for the demo intranet page (adapters/web_assets.h), and what
// VerifyIdentityJwt accepts. InvalidArgument for an empty secret or user id, or a lifetime
// outside 1..IdentityRules' default max_lifetime_seconds.
Result<std::string> SignIdentityJwt(const CustomerIdentity& who, std::string_view secret, int64_t now_seconds,
                                    int64_t lifetime_seconds);

// Reads and verifies the start route's "customer" object against `desk`. `*link_token` receives
// its link_token (""). InvalidArgument for a malformed object (naming the field), Unauthenticated
// for an identity that does not verify.
Result<CustomerIdentity> ReadCustomerIdentity(const JsonObject& customer, const DeskIdentity& desk, int64_t now_seconds,
                                              const IdentityRules& rules, std::string* link_token);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_CUSTOMER_IDENTITY_H_
