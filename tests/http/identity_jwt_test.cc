// Issue 15, item 5: signed identities expire. An app (or an intranet) vouches for its user with an
// HS256 JWT signed with the desk's app_secret: `sub` and `exp` required, `iat` and `nbf` honoured
// with a small clock skew, `name`, `email`, `department` optional. Expired, early, too long-lived,
// wrongly signed, other algorithms, mistyped claims: 401, and nothing is started. The bare HMAC
// of the id (it never expires) works only where a desk enables "legacy_hmac". The profile claims
// reach the agents' view of the conversation. Over real sockets.
#include <doctest/doctest.h>
#include <jwt.h>

#include <cstdlib>

#include "tests/http/http_fixture.h"
#include "tests/http/jwt_util.h"

namespace kefu::testing {
namespace {

std::string StartBody(const std::string& jwt) { return R"({"channel":"app","customer":{"jwt":")" + jwt + "\"}}"; }

size_t Conversations(TestServer& server) {
  auto stats = server.engine->Stats("shop");
  REQUIRE(stats.ok());
  return static_cast<size_t>(stats->conversations);
}

// A genuine JWT of another algorithm, made by libjwt itself.
std::string LibjwtToken(jwt_alg_t alg, const std::string& key) {
  jwt_t* jwt = nullptr;
  REQUIRE(jwt_new(&jwt) == 0);
  jwt_add_grant(jwt, "sub", "user-42");
  jwt_add_grant_int(jwt, "exp", UnixNow() + 600);
  REQUIRE(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size())) == 0);
  char* text = jwt_encode_str(jwt);
  REQUIRE(text != nullptr);
  std::string out(text);
  std::free(text);
  jwt_free(jwt);
  return out;
}

TEST_CASE("a JWT signed with the desk's secret starts, then resumes, the user's one conversation") {
  TestServer server;
  auto c = server.Client();
  const std::string jwt = IdentityJwt(kAppSecret, "user-42", 600,
                                      R"(,"name":"王芳","email":"wang.fang@example.com","department":"Payroll","aud":"kefu")");
  auto first = PostJson(*c, "/v1/desks/shop/conversations", StartBody(jwt));
  REQUIRE(first);
  REQUIRE_MESSAGE(first->status == 201, first->body);
  const std::string id = Json(first)["conversation_id"].GetString();
  auto view = server.engine->GetConversation(id);
  REQUIRE(view.ok());
  CHECK(view->customer == "app:user-42");
  // Another device, another fresh token of the same user: the same conversation.
  auto second = PostJson(*c, "/v1/desks/shop/conversations", StartBody(IdentityJwt(kAppSecret, "user-42", 60)));
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(std::string(Json(second)["conversation_id"].GetString()) == id);
  CHECK(Json(second)["resumed"].GetBool());
  // Agents see who it is: the profile claims of the identity (kept when a later JWT has none).
  const std::string agent = AgentToken(*c, "shop", "ola");
  auto seen = c->Get(("/v1/agent/conversations/" + id).c_str(), Bearer(agent));
  REQUIRE(seen);
  REQUIRE_MESSAGE(seen->status == 200, seen->body);
  auto doc = Json(seen);
  REQUIRE(doc["conversation"].HasMember("customer_profile"));
  const auto& profile = doc["conversation"]["customer_profile"];
  CHECK(std::string(profile["name"].GetString()) == "王芳");
  CHECK(std::string(profile["email"].GetString()) == "wang.fang@example.com");
  CHECK(std::string(profile["department"].GetString()) == "Payroll");
  // ... and never the customer, whose own view carries no profile.
  auto own = c->Get(("/v1/conversations/" + id).c_str(), Bearer(Json(second)["customer_token"].GetString()));
  REQUIRE(own);
  CHECK(own->body.find("customer_profile") == std::string::npos);
}

TEST_CASE("expired, early, too long-lived, wrongly signed or mistyped JWTs are 401 and start nothing") {
  TestServer server;
  auto c = server.Client();
  const size_t before = Conversations(server);
  const int64_t now = UnixNow();
  const std::string h = R"({"alg":"HS256","typ":"JWT"})";
  auto claims = [&](const std::string& fields) { return "{\"sub\":\"user-42\"" + fields + "}"; };
  const std::string exp = ",\"exp\":" + std::to_string(now + 600);
  std::string tampered = IdentityJwt(kAppSecret, "user-42");
  tampered.replace(tampered.find('.') + 1, tampered.rfind('.') - tampered.find('.') - 1,
                   Base64Url(claims(exp).replace(8, 7, "admin-1")));
  const std::pair<std::string, std::string> refused[] = {
      {"expired", SignJwt(h, claims(",\"exp\":" + std::to_string(now - 120)), kAppSecret)},
      {"not valid yet", SignJwt(h, claims(exp + ",\"nbf\":" + std::to_string(now + 300)), kAppSecret)},
      {"issued in the future", SignJwt(h, claims(exp + ",\"iat\":" + std::to_string(now + 300)), kAppSecret)},
      {"lives too long", SignJwt(h, claims(",\"exp\":" + std::to_string(now + 2 * 86400)), kAppSecret)},
      {"another secret", IdentityJwt("another-secret", "user-42")},
      {"tampered claims", tampered},
      {"alg none", SignJwt(R"({"alg":"none"})", claims(exp), kAppSecret)},
      {"alg none, unsigned", Base64Url(R"({"alg":"none"})") + "." + Base64Url(claims(exp)) + "."},
      {"alg RS256 over an HMAC", SignJwt(R"({"alg":"RS256"})", claims(exp), kAppSecret)},
      {"genuine HS512", LibjwtToken(JWT_ALG_HS512, kAppSecret)},
      {"genuine HS384", LibjwtToken(JWT_ALG_HS384, kAppSecret)},
      {"crit header", SignJwt(R"({"alg":"HS256","crit":["exp"]})", claims(exp), kAppSecret)},
      {"typ not JWT", SignJwt(R"({"alg":"HS256","typ":"XYZ"})", claims(exp), kAppSecret)},
      {"no exp", SignJwt(h, claims(""), kAppSecret)},
      {"no sub", SignJwt(h, "{\"exp\":" + std::to_string(now + 600) + "}", kAppSecret)},
      {"sub a number", SignJwt(h, "{\"sub\":42" + exp + "}", kAppSecret)},
      {"empty sub", SignJwt(h, "{\"sub\":\"\"" + exp + "}", kAppSecret)},
      {"exp a string", SignJwt(h, claims(",\"exp\":\"" + std::to_string(now + 600) + "\""), kAppSecret)},
      {"exp a fraction", SignJwt(h, claims(",\"exp\":" + std::to_string(now + 600) + ".5"), kAppSecret)},
      {"name a number", SignJwt(h, claims(exp + ",\"name\":7"), kAppSecret)},
      {"claims an array", SignJwt(h, "[1,2]", kAppSecret)},
      {"claims not JSON", SignJwt(h, "{\"sub\":", kAppSecret)},
      {"not base64url", "a+b.c/d.e=f"},
      {"two parts", "abc.def"},
  };
  for (const auto& [why, jwt] : refused) {
    auto r = PostJson(*c, "/v1/desks/shop/conversations", StartBody(jwt));
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 401, why << ": " << r->status << " " << r->body);
    if (r->status == 401) CHECK(r->get_header_value("WWW-Authenticate") == "Bearer");
  }
  // Malformed requests rather than failed identities: 400.
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", StartBody(std::string(5000, 'a')))->status == 400);
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", StartBody(""))->status == 400);
  CHECK(PostJson(*c, "/v1/desks/shop/conversations",
                 R"({"customer":{"jwt":")" + IdentityJwt(kAppSecret, "u") + R"(","id":"u","signature":"00"}})")
            ->status == 400);
  // A desk without an app_secret accepts no signed identity at all.
  CHECK(PostJson(*c, "/v1/desks/hr/conversations", StartBody(IdentityJwt(kAppSecret, "user-42")))->status == 401);
  CHECK(Conversations(server) == before);
  // The clock skew (60 s) is honoured on exp, nbf and iat.
  auto skewed = PostJson(*c, "/v1/desks/shop/conversations",
                         StartBody(SignJwt(h, claims(",\"exp\":" + std::to_string(now - 20) + ",\"nbf\":" +
                                                     std::to_string(now + 20) + ",\"iat\":" + std::to_string(now + 20)),
                                           kAppSecret)));
  CHECK(skewed->status == 201);
}

TEST_CASE("the bare HMAC of the id is accepted only where a desk enables legacy_hmac") {
  TestServer::Setup setup;
  setup.desks[0].legacy_hmac = false;
  TestServer server(setup);
  auto c = server.Client();
  const std::string hmac = R"({"channel":"app","customer":{"id":"user-42","signature":")" +
                           HmacSha256Hex(kAppSecret, "user-42") + "\"}}";
  auto off = PostJson(*c, "/v1/desks/shop/conversations", hmac);
  REQUIRE(off);
  CHECK(off->status == 401);
  CHECK(off->body.find("legacy_hmac") != std::string::npos);
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", StartBody(IdentityJwt(kAppSecret, "user-42")))->status == 201);

  TestServer legacy;  // the fixture's shop desk enables it
  auto l = legacy.Client();
  CHECK(PostJson(*l, "/v1/desks/shop/conversations", hmac)->status == 201);
}

TEST_CASE("kefu.json: legacy_hmac needs an app_secret; the webhook needs a secret of its own") {
  auto parse = [](const std::string& desk_extra) {
    return ParseConfig(R"({"desks":[{"id":"shop","knowledge_bases":["x.json"])" + desk_extra + "}]}", "kefu.json", "");
  };
  auto legacy = parse(R"(,"app_secret":"s","legacy_hmac":true)");
  REQUIRE(legacy.ok());
  CHECK(legacy->desks[0].legacy_hmac);
  CHECK_FALSE(parse(R"(,"app_secret":"s")")->desks[0].legacy_hmac);  // off unless asked for
  CHECK_FALSE(parse(R"(,"legacy_hmac":true)").ok());
  CHECK_FALSE(parse(R"(,"app_secret":"s","legacy_hmac":"yes")").ok());
  auto hook = parse(R"(,"app_secret":"s","app_webhook":{"url":"https://app.example.com/kefu"})");
  REQUIRE_FALSE(hook.ok());
  CHECK(hook.status().message().find("its own 'secret'") != std::string::npos);
  CHECK(parse(R"(,"app_secret":"s","app_webhook":{"url":"https://app.example.com/kefu","secret":"h"})").ok());
}

}  // namespace
}  // namespace kefu::testing
