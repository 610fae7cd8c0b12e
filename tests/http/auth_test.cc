// Every authorisation rule, each with a test that tries to break it: a wrong or missing token is a
// 401, a right token on someone else's object a 404 (its existence is not revealed).
#include <doctest/doctest.h>

#include "engine/auth.h"
#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

struct Call {
  std::string method;
  std::string path;
  std::string body;
};

httplib::Result Send(httplib::Client& c, const Call& call, const httplib::Headers& headers) {
  if (call.method == "GET") return c.Get(call.path.c_str(), headers);
  if (call.method == "PUT") return c.Put(call.path.c_str(), headers, call.body, "application/json");
  if (call.method == "PATCH") return c.Patch(call.path.c_str(), headers, call.body, "application/json");
  return c.Post(call.path.c_str(), headers, call.body, "application/json");
}

// Every customer route of conversation `id` (bodies valid, so only authorisation can refuse).
std::vector<Call> CustomerCalls(const std::string& id) {
  const std::string base = "/v1/conversations/" + id;
  return {
      {"GET", base, ""},
      {"POST", base + "/messages", "{\"text\":\"How do I place an order?\"}"},
      {"GET", base + "/messages?after=0", ""},
      {"GET", base + "/events", ""},
      {"GET", base + "/poll?after=0&timeout=0", ""},
      {"POST", base + "/feedback", "{\"message_seq\":1,\"helpful\":true}"},
      {"POST", base + "/handoff", "{}"},
      {"POST", base + "/csat", "{\"rating\":5}"},
      {"GET", base + "/tickets", ""},
  };
}

// Every agent route on conversation `id` and ticket `ticket`.
std::vector<Call> AgentConversationCalls(const std::string& id, const std::string& ticket) {
  const std::string base = "/v1/agent/conversations/" + id;
  return {
      {"GET", base, ""},
      {"GET", base + "/messages?after=0", ""},
      {"POST", base + "/claim", "{}"},
      {"POST", base + "/reply", "{\"text\":\"hello\"}"},
      {"POST", base + "/note", "{\"text\":\"hello\"}"},
      {"POST", base + "/transfer", "{\"to_team\":\"billing\"}"},
      {"POST", base + "/resolve", "{}"},
      {"GET", base + "/suggestions", ""},
      {"POST", base + "/tickets", "{\"subject\":\"follow up\"}"},
      {"PATCH", "/v1/agent/tickets/" + ticket, "{\"priority\":1}"},
  };
}

std::vector<Call> AgentDeskCalls() {
  return {
      {"GET", "/v1/agent/queue", ""},        {"GET", "/v1/agent/conversations", ""},
      {"GET", "/v1/agent/tickets", ""},      {"PUT", "/v1/agent/presence", "{\"status\":\"online\"}"},
      {"GET", "/v1/agent/events", ""},       {"GET", "/v1/agent/poll?timeout=0", ""},
      {"POST", "/v1/agent/logout", ""},
  };
}

std::vector<Call> AdminCalls() {
  return {
      {"POST", "/v1/admin/desks/shop/agents", "{\"username\":\"eve\",\"password\":\"password-eve\"}"},
      {"PUT", "/v1/admin/desks/shop/kb", "{}"},
      {"GET", "/v1/admin/desks/shop/stats", ""},
  };
}

void ExpectStatus(httplib::Client& c, const std::vector<Call>& calls, const httplib::Headers& headers, int status,
                  const std::string& why) {
  for (const Call& call : calls) {
    auto r = Send(c, call, headers);
    REQUIRE_MESSAGE(r, (call.method + " " + call.path));
    CHECK_MESSAGE(r->status == status, (why + ": " + call.method + " " + call.path + " -> " + std::to_string(r->status) + " " + r->body));
    ErrorCode(r);
    if (status == 401) CHECK(r->get_header_value("WWW-Authenticate") == "Bearer");
  }
}

TEST_CASE("customer routes: a missing, malformed or garbage token is 401") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  ExpectStatus(*c, CustomerCalls(who.id), {}, 401, "no token");
  ExpectStatus(*c, CustomerCalls(who.id), Bearer("garbage"), 401, "garbage token");
  ExpectStatus(*c, CustomerCalls(who.id), {{"Authorization", "Basic " + who.token}}, 401, "not a bearer token");
  ExpectStatus(*c, CustomerCalls(who.id), {{"Authorization", "Bearer"}}, 401, "empty bearer");
  // The conversation is untouched by all of that.
  auto view = Json(c->Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token)));
  CHECK(view["conversation"]["last_seq"].GetUint64() == 1);
}

TEST_CASE("customer routes: customer A's token on conversation B is 404, as is an unknown conversation") {
  TestServer server;
  auto c = server.Client();
  Customer a = StartConversation(*c);
  Customer b = StartConversation(*c, "hr");
  ExpectStatus(*c, CustomerCalls(b.id), Bearer(a.token), 404, "A's token on B");
  ExpectStatus(*c, CustomerCalls("0123456789abcdef0123456789abcdef"), Bearer(a.token), 404, "unknown conversation");
  auto view = Json(c->Get(("/v1/conversations/" + b.id).c_str(), Bearer(b.token)));
  CHECK(view["conversation"]["last_seq"].GetUint64() == 1);
}

TEST_CASE("customer routes refuse agent and admin tokens; agent routes refuse customer and admin tokens") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  const std::string agent = AgentToken(*c, "shop", "ana");
  ExpectStatus(*c, CustomerCalls(who.id), Bearer(agent), 401, "agent token on a customer route");
  ExpectStatus(*c, CustomerCalls(who.id), Bearer(kAdminToken), 401, "admin token on a customer route");
  ExpectStatus(*c, AgentDeskCalls(), Bearer(who.token), 401, "customer token on an agent route");
  ExpectStatus(*c, AgentDeskCalls(), Bearer(kAdminToken), 401, "admin token on an agent route");
  ExpectStatus(*c, AgentConversationCalls(who.id, "SHOP-1001"), Bearer(who.token), 401, "customer token");
}

TEST_CASE("agent routes: a missing or garbage token is 401") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  ExpectStatus(*c, AgentDeskCalls(), {}, 401, "no token");
  ExpectStatus(*c, AgentDeskCalls(), Bearer("garbage"), 401, "garbage token");
  ExpectStatus(*c, AgentConversationCalls(who.id, "SHOP-1001"), {}, 401, "no token");
}

TEST_CASE("agent routes: an agent of desk X gets 404 on desk Y's conversations and tickets") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c, "shop");
  REQUIRE(PostJson(*c, "/v1/conversations/" + who.id + "/handoff", "", who.token)->status == 200);  // ticket SHOP-1001
  const std::string hr_agent = AgentToken(*c, "hr", "li");
  GoOnline(*c, hr_agent);
  ExpectStatus(*c, AgentConversationCalls(who.id, "SHOP-1001"), Bearer(hr_agent), 404, "hr agent on shop");
  // Their desk's lists do not show it either.
  for (const char* path : {"/v1/agent/queue", "/v1/agent/conversations", "/v1/agent/tickets"}) {
    auto r = c->Get(path, Bearer(hr_agent));
    REQUIRE(r->status == 200);
    CHECK(r->body.find(who.id) == std::string::npos);
    CHECK(r->body.find("SHOP-1001") == std::string::npos);
  }
  // The shop's agent sees it: the 404s above were about the desk, not the object.
  const std::string shop_agent = AgentToken(*c, "shop", "ana");
  CHECK(c->Get(("/v1/agent/conversations/" + who.id).c_str(), Bearer(shop_agent))->status == 200);
}

TEST_CASE("agent routes: an expired or logged-out agent token is 401") {
  TestServer server;
  auto c = server.Client();
  const std::string token = AgentToken(*c, "shop", "ana");
  REQUIRE(c->Get("/v1/agent/queue", Bearer(token))->status == 200);
  server.clock.Advance(13 * kMicrosPerHour);  // sessions last 12 hours
  ExpectStatus(*c, AgentDeskCalls(), Bearer(token), 401, "expired token");

  const std::string fresh = AgentToken(*c, "shop", "ana");
  REQUIRE(PostJson(*c, "/v1/agent/logout", "", fresh)->status == 200);
  ExpectStatus(*c, AgentDeskCalls(), Bearer(fresh), 401, "logged-out token");
}

TEST_CASE("agent login: a wrong desk, user or password is 401 with one message") {
  TestServer server;
  auto c = server.Client();
  AgentToken(*c, "shop", "ana");
  std::set<std::string> messages;
  for (const char* body : {R"({"desk":"shop","username":"ana","password":"wrong-password"})",
                           R"({"desk":"shop","username":"nobody","password":"password-ana"})",
                           R"({"desk":"hr","username":"ana","password":"password-ana"})"}) {
    auto r = PostJson(*c, "/v1/agent/login", body);
    CHECK(r->status == 401);
    CHECK(ErrorCode(r) == "unauthenticated");
    messages.insert(Json(r)["error"]["message"].GetString());
  }
  CHECK(messages.size() == 1);
}

TEST_CASE("admin routes: no token, a wrong token, or another kind of token is 401") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  const std::string agent = AgentToken(*c, "shop", "ana");
  ExpectStatus(*c, AdminCalls(), {}, 401, "no token");
  ExpectStatus(*c, AdminCalls(), Bearer("test-admin-token-0123456789abcdefghix"), 401, "wrong token, same length");
  ExpectStatus(*c, AdminCalls(), Bearer("x"), 401, "wrong token, short");
  ExpectStatus(*c, AdminCalls(), Bearer(agent), 401, "agent token");
  ExpectStatus(*c, AdminCalls(), Bearer(who.token), 401, "customer token");
  auto stats = c->Get("/v1/admin/desks/shop/stats", Bearer(kAdminToken));
  CHECK(stats->status == 200);
  CHECK(c->Get("/v1/admin/desks/nope/stats", Bearer(kAdminToken))->status == 404);
}

TEST_CASE("admin routes are off without an admin token") {
  TestServer::Setup setup;
  setup.options.admin_token = "";
  TestServer server(setup);
  auto c = server.Client();
  ExpectStatus(*c, AdminCalls(), {}, 401, "no token");
  ExpectStatus(*c, AdminCalls(), Bearer(""), 401, "empty token");
  ExpectStatus(*c, AdminCalls(), Bearer(kAdminToken), 401, "old token");
}

TEST_CASE("starting a conversation: an unsigned or wrongly signed customer id is 401") {
  TestServer server;
  auto c = server.Client();
  auto unsigned_id = PostJson(*c, "/v1/desks/shop/conversations", R"({"channel":"app","customer":{"id":"user-42"}})");
  CHECK(unsigned_id->status == 401);
  const std::string wrong = HmacSha256Hex("another-secret", "user-42");
  auto forged = PostJson(*c, "/v1/desks/shop/conversations",
                         R"({"channel":"app","customer":{"id":"user-42","signature":")" + wrong + "\"}}");
  CHECK(forged->status == 401);
  const std::string other_user = HmacSha256Hex(kAppSecret, "user-43");
  auto swapped = PostJson(*c, "/v1/desks/shop/conversations",
                          R"({"channel":"app","customer":{"id":"user-42","signature":")" + other_user + "\"}}");
  CHECK(swapped->status == 401);
  // The HR desk has no app secret: it accepts no signed ids at all.
  const std::string right = HmacSha256Hex(kAppSecret, "user-42");
  auto no_secret = PostJson(*c, "/v1/desks/hr/conversations",
                            R"({"channel":"app","customer":{"id":"user-42","signature":")" + right + "\"}}");
  CHECK(no_secret->status == 401);
  CHECK(PostJson(*c, "/v1/desks/nope/conversations", "{}")->status == 404);
  auto ok = PostJson(*c, "/v1/desks/shop/conversations",
                     R"({"channel":"app","customer":{"id":"user-42","signature":")" + right + "\"}}");
  CHECK(ok->status == 201);
}

TEST_CASE("an agent stream ends when its session does") {
  TestServer server;
  auto c = server.Client();
  const std::string token = AgentToken(*c, "shop", "ana");
  SseReader live(server.port, "/v1/agent/events", Bearer(token));
  REQUIRE(live.WaitForType("ready"));
  REQUIRE(PostJson(*c, "/v1/agent/logout", "", token)->status == 200);
  CHECK(live.WaitForType("logout"));
  CHECK(live.WaitEnded());
}

}  // namespace
}  // namespace kefu::testing
