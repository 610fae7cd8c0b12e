// Issue 17, item 2, over real sockets: agents are listed (never a hash), changed (name, teams,
// capacity, role, a password reset that ends their sessions at once) and removed (their token is
// 401 on the next call, and what they served goes back to the line and on to a free seat).
#include <doctest/doctest.h>

#include <string>

#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

httplib::Result Patch(httplib::Client& c, const std::string& path, const std::string& body, const std::string& token) {
  return c.Patch(path.c_str(), Bearer(token), body, "application/json");
}

const rapidjson::Value* Find(const rapidjson::Document& doc, const std::string& username) {
  for (const auto& a : doc["agents"].GetArray()) {
    if (username == a["username"].GetString()) return &a;
  }
  return nullptr;
}

TEST_CASE("agents are listed without hashes, changed, and a password reset ends their sessions") {
  TestServer server;
  auto c = server.Client();
  const std::string token = AgentToken(*c, "shop", "omar");
  AgentToken(*c, "shop", "pia");
  auto listed = c->Get("/v1/admin/desks/shop/agents", Bearer(kAdminToken));
  REQUIRE(listed);
  REQUIRE_MESSAGE(listed->status == 200, listed->body);
  CHECK(listed->body.find("argon2") == std::string::npos);
  CHECK(listed->body.find("password") == std::string::npos);
  auto doc = Json(listed);
  REQUIRE(Find(doc, "omar") != nullptr);
  REQUIRE(Find(doc, "pia") != nullptr);
  CHECK(std::string((*Find(doc, "omar"))["presence"].GetString()) == "offline");

  auto changed = Patch(*c, "/v1/admin/desks/shop/agents/omar",
                       R"({"name":"Omar K.","teams":["billing"],"capacity":5,"role":"desk_admin"})", kAdminToken);
  REQUIRE(changed);
  REQUIRE_MESSAGE(changed->status == 200, changed->body);
  const rapidjson::Document changed_doc = Json(changed);
  const auto& agent = changed_doc["agent"];
  CHECK(std::string(agent["name"].GetString()) == "Omar K.");
  CHECK(agent["capacity"].GetInt() == 5);
  CHECK(std::string(agent["role"].GetString()) == "desk_admin");
  CHECK(std::string(agent["teams"][0].GetString()) == "billing");
  // Still logged in after a change that is not a password...
  CHECK(c->Get("/v1/agent/conversations", Bearer(token))->status == 200);
  // ... and logged out at once by a reset; the new password works, the old one does not.
  auto reset = Patch(*c, "/v1/admin/desks/shop/agents/omar", R"({"password":"a-brand-new-password"})", kAdminToken);
  REQUIRE(reset);
  REQUIRE(reset->status == 200);
  CHECK(c->Get("/v1/agent/conversations", Bearer(token))->status == 401);
  auto old_login = PostJson(*c, "/v1/agent/login", R"({"desk":"shop","username":"omar","password":"password-omar"})");
  REQUIRE(old_login);
  CHECK(old_login->status == 401);
  auto new_login = PostJson(*c, "/v1/agent/login",
                            R"({"desk":"shop","username":"omar","password":"a-brand-new-password"})");
  REQUIRE(new_login);
  CHECK(new_login->status == 200);

  // Bad input names the field and changes nothing; unknown agents and other kinds of token fail.
  auto bad = Patch(*c, "/v1/admin/desks/shop/agents/pia", R"({"capacity":0})", kAdminToken);
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("capacity") != std::string::npos);
  auto unknown = Patch(*c, "/v1/admin/desks/shop/agents/nobody", R"({"capacity":2})", kAdminToken);
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(c->Get("/v1/admin/desks/shop/agents", Bearer(token))->status == 401);
}

TEST_CASE("a removed agent's token is 401 at once and their conversation goes to another agent") {
  TestServer server;
  auto c = server.Client();
  const std::string leaving = AgentToken(*c, "shop", "quinn");
  GoOnline(*c, leaving);
  Customer who = StartConversation(*c);
  auto asked = Say(*c, who, "I want to talk to a human");
  REQUIRE(asked);
  REQUIRE(std::string(Json(asked)["conversation"]["assignee"].GetString()) == "quinn");
  const std::string staying = AgentToken(*c, "shop", "rosa");
  GoOnline(*c, staying);

  auto removed = c->Delete("/v1/admin/desks/shop/agents/quinn", Bearer(kAdminToken));
  REQUIRE(removed);
  REQUIRE_MESSAGE(removed->status == 200, removed->body);
  CHECK(c->Get("/v1/agent/conversations", Bearer(leaving))->status == 401);
  auto view = c->Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token));
  REQUIRE(view);
  auto conv = Json(view);
  CHECK(std::string(conv["conversation"]["state"].GetString()) == "agent");
  CHECK(std::string(conv["conversation"]["assignee"].GetString()) == "rosa");
  auto listed = Json(c->Get("/v1/admin/desks/shop/agents", Bearer(kAdminToken)));
  CHECK(Find(listed, "quinn") == nullptr);
  REQUIRE(Find(listed, "rosa") != nullptr);
  CHECK((*Find(listed, "rosa"))["serving"].GetInt() == 1);
  // Gone for good: a second removal is 404, and a new account of the same name does not revive
  // the old session.
  auto again = c->Delete("/v1/admin/desks/shop/agents/quinn", Bearer(kAdminToken));
  REQUIRE(again);
  CHECK(again->status == 404);
  AgentToken(*c, "shop", "quinn");
  CHECK(c->Get("/v1/agent/conversations", Bearer(leaving))->status == 401);
}

}  // namespace
}  // namespace kefu::testing
