#include "adapters/customer_identity.h"

#include <jwt.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <utility>

#include "engine/auth.h"

namespace kefu {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
struct CharFree {
  void operator()(char* p) const { std::free(p); }
};

Status Refused(std::string_view why) { return Status::Unauthenticated("field 'customer.jwt': " + std::string(why)); }

// header.payload.signature, each non-empty base64url (no padding): what libjwt's splitter and
// base64 decoder will see, checked before they do.
bool IsCompactJws(std::string_view token) {
  if (std::count(token.begin(), token.end(), '.') != 2 || token.front() == '.' || token.back() == '.' ||
      token.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(token.begin(), token.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

// The claims (a JSON object) through kefu's reader.
Result<CustomerIdentity> ReadClaims(std::string_view claims_json, int64_t now, const IdentityRules& rules) {
  auto doc = ParseJson(claims_json);
  if (!doc.ok()) return Refused("the claims are not valid JSON");
  auto claims = JsonObject::From(**doc);
  if (!claims.ok()) return Refused("the claims must be a JSON object");
  CustomerIdentity who;
  int64_t exp = 0, nbf = 0, iat = 0;
  Status s = claims->GetString("sub", Presence::kRequired, &who.user_id, 128);
  if (s.ok()) s = claims->GetInt("exp", Presence::kRequired, 0, INT64_C(1) << 40, &exp);
  if (s.ok()) s = claims->GetInt("nbf", Presence::kOptional, 0, INT64_C(1) << 40, &nbf);
  if (s.ok()) s = claims->GetInt("iat", Presence::kOptional, 0, INT64_C(1) << 40, &iat);
  if (s.ok()) s = claims->GetString("name", Presence::kOptional, &who.name, 100, true);
  if (s.ok()) s = claims->GetString("email", Presence::kOptional, &who.email, 254, true);
  if (s.ok()) s = claims->GetString("department", Presence::kOptional, &who.department, 100, true);
  if (!s.ok()) {
    const std::string& m = s.message();  // "field 'x': ...": said of a claim here
    const size_t quote = m.find('\'');
    return Refused("claim " + (quote == std::string::npos ? m : m.substr(quote)));
  }
  const int64_t skew = rules.clock_skew_seconds;
  if (exp + skew <= now) return Refused("expired");
  if (nbf - skew > now) return Refused("not valid yet (nbf)");
  if (iat - skew > now) return Refused("issued in the future (iat)");
  if (exp - now > rules.max_lifetime_seconds) {
    return Refused("exp is more than " + std::to_string(rules.max_lifetime_seconds) + " seconds ahead");
  }
  who.expires_at = exp;
  return who;
}

Result<CustomerIdentity> VerifyLegacy(const JsonObject& customer, const DeskIdentity& desk) {
  CustomerIdentity who;
  std::string signature;
  Status s = customer.GetString("id", Presence::kRequired, &who.user_id, 128);
  if (s.ok()) s = customer.GetString("signature", Presence::kOptional, &signature, 128);
  if (!s.ok()) return s.WithContext("field 'customer'");
  if (signature.empty()) return Status::Unauthenticated("the customer id must be signed (field 'signature')");
  if (!desk.legacy_hmac) {
    return Status::Unauthenticated(
        "this desk does not accept bare HMAC signatures (legacy_hmac); send an HS256 JWT as customer.jwt");
  }
  std::transform(signature.begin(), signature.end(), signature.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (!ConstantTimeEquals(HmacSha256Hex(desk.secret, who.user_id), signature)) {
    return Status::Unauthenticated("the customer id's signature does not match");
  }
  who.legacy = true;
  return who;
}

}  // namespace

Result<CustomerIdentity> VerifyIdentityJwt(std::string_view token, std::string_view secret, int64_t now_seconds,
                                           const IdentityRules& rules) {
  if (secret.empty()) return Status::Unauthenticated("this desk does not accept signed identities");
  if (token.size() > rules.max_token_bytes) return Refused("too long");
  if (!IsCompactJws(token)) return Refused("not a compact JWT (header.payload.signature in base64url)");
  jwt_t* raw = nullptr;
  const std::string text(token);
  const int failed = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret.data()),
                                static_cast<int>(secret.size()));
  std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  if (failed != 0 || jwt == nullptr) return Refused("malformed, or the signature does not match");
  // Whatever the header claims, only HS256 with this secret counts.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return Refused("the algorithm must be HS256");
  if (std::unique_ptr<char, CharFree>(jwt_get_headers_json(jwt.get(), "crit")) != nullptr) {
    return Refused("no critical header extension is understood");
  }
  std::unique_ptr<char, CharFree> claims(jwt_get_grants_json(jwt.get(), nullptr));
  if (claims == nullptr) return Refused("no claims");
  return ReadClaims(claims.get(), now_seconds, rules);
}

Result<std::string> SignIdentityJwt(const CustomerIdentity& who, std::string_view secret, int64_t now_seconds,
                                    int64_t lifetime_seconds) {
  if (secret.empty()) return Status::InvalidArgument("no secret to sign with");
  if (who.user_id.empty()) return Status::InvalidArgument("no user id (sub) to sign");
  if (lifetime_seconds < 1 || lifetime_seconds > IdentityRules{}.max_lifetime_seconds) {
    return Status::InvalidArgument("the lifetime must be 1 second to " +
                                   std::to_string(IdentityRules{}.max_lifetime_seconds) + " seconds");
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status::ResourceExhausted("no memory for a JWT");
  std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  int failed = jwt_add_grant(jwt.get(), "sub", who.user_id.c_str());
  failed |= jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now_seconds));
  failed |= jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now_seconds + lifetime_seconds));
  const std::pair<const char*, const std::string*> profile[] = {
      {"name", &who.name}, {"email", &who.email}, {"department", &who.department}};
  for (const auto& [claim, value] : profile) {
    if (!value->empty()) failed |= jwt_add_grant(jwt.get(), claim, value->c_str());
  }
  failed |= jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size()));
  if (failed != 0) return Status::InvalidArgument("libjwt refused a claim or the key");
  std::unique_ptr<char, CharFree> text(jwt_encode_str(jwt.get()));
  if (text == nullptr) return Status::InvalidArgument("libjwt could not encode the JWT");
  return std::string(text.get());
}

Result<CustomerIdentity> ReadCustomerIdentity(const JsonObject& customer, const DeskIdentity& desk, int64_t now_seconds,
                                              const IdentityRules& rules, std::string* link_token) {
  Status s = customer.RejectUnknown({"jwt", "id", "signature", "link_token"});
  if (s.ok()) s = customer.GetString("link_token", Presence::kOptional, link_token, 128);
  if (!s.ok()) return s.WithContext("field 'customer'");
  if (desk.secret.empty()) return Status::Unauthenticated("this desk does not accept signed identities");
  if (!customer.Has("jwt")) return VerifyLegacy(customer, desk);
  if (customer.Has("id") || customer.Has("signature")) {
    return Status::InvalidArgument("field 'customer': either 'jwt' or 'id' and 'signature', not both");
  }
  std::string token;
  s = customer.GetString("jwt", Presence::kRequired, &token, rules.max_token_bytes);
  if (!s.ok()) return s.WithContext("field 'customer'");
  return VerifyIdentityJwt(token, desk.secret, now_seconds, rules);
}

}  // namespace kefu
