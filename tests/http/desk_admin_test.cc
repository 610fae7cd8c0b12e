// Issue 15, item 7: admin power. An agent with the desk_admin role manages its own desk (KB,
// drafts and publishing, agents, stats) with its own session, so a team lead no longer needs the
// admin token that rules every desk; another desk's admin routes are 404 to it, and plain agents
// and customers stay 401. The admin token itself must be at least 32 characters. Over real sockets.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "adapters/knowledge_routes.h"
#include "knowledge/knowledge_loop.h"
#include "engine/model.h"
#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Creates `username` on `desk` with `role` (admin token) and logs in.
std::string LoginAs(httplib::Client& c, const std::string& desk, const std::string& username, const std::string& role) {
  auto created = PostJson(c, "/v1/admin/desks/" + desk + "/agents",
                          R"({"username":")" + username + R"(","password":"password-)" + username + R"(","role":")" + role +
                              "\"}",
                          kAdminToken);
  REQUIRE(created);
  REQUIRE_MESSAGE(created->status == 201, created->body);
  CHECK(std::string(Json(created)["agent"]["role"].GetString()) == role);
  auto login = PostJson(c, "/v1/agent/login",
                        R"({"desk":")" + desk + R"(","username":")" + username + R"(","password":"password-)" + username + "\"}");
  REQUIRE(login);
  REQUIRE(login->status == 200);
  return Json(login)["token"].GetString();
}

int Status(const httplib::Result& r) {
  REQUIRE(r);
  return r->status;
}

TEST_CASE("a desk admin manages its own desk's KB, drafts, agents and stats, and nothing of another desk") {
  std::unique_ptr<KnowledgeLoop> loop;  // outlives the server (declared first)
  TestServer::Setup setup;
  setup.extra_routes = [&loop](HttpApi& api, Engine& engine, Clock& clock) {
    loop = std::make_unique<KnowledgeLoop>(&engine, &clock);
    AddKnowledgeRoutes(&api, loop.get(), &engine);
  };
  TestServer server(setup);
  auto c = server.Client();
  const std::string lead = LoginAs(*c, "shop", "lead", "desk_admin");
  const std::string ana = LoginAs(*c, "shop", "ana", "agent");
  const std::string kb = ReadFile(std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json");

  // Its own desk: every admin route.
  CHECK(Status(c->Get("/v1/admin/desks/shop/stats", Bearer(lead))) == 200);
  CHECK(Status(c->Put("/v1/admin/desks/shop/kb", Bearer(lead), kb, "application/json")) == 200);
  CHECK(Status(PostJson(*c, "/v1/admin/desks/shop/agents", R"({"username":"new.one","password":"password-new"})", lead)) == 201);
  CHECK(Status(c->Get("/v1/admin/desks/shop/drafts", Bearer(lead))) == 200);
  CHECK(Status(c->Get("/v1/admin/desks/shop/gaps", Bearer(lead))) == 200);
  CHECK(Status(c->Get("/v1/admin/desks/shop/kb/versions", Bearer(lead))) == 200);
  CHECK(Status(c->Get("/v1/admin/desks/shop/stats/versions", Bearer(lead))) == 200);
  Customer asker = StartConversation(*c);
  auto draft = PostJson(*c, "/v1/agent/conversations/" + asker.id + "/drafts",
                        R"({"title":"Shipping to Mars","question":"Do you ship to Mars?","answer":"Not yet."})", lead);
  REQUIRE(draft);
  REQUIRE_MESSAGE(draft->status == 201, draft->body);
  auto published = PostJson(*c, "/v1/admin/desks/shop/kb/publish", "{}", lead);
  REQUIRE(published);
  REQUIRE_MESSAGE(published->status == 201, published->body);
  CHECK(std::string(Json(published)["version"]["author"].GetString()) == "lead");
  // And still an agent of its desk.
  CHECK(Status(c->Get("/v1/agent/queue", Bearer(lead))) == 200);

  // Another desk's admin routes: as if the desk did not exist.
  for (const std::string path : {"/v1/admin/desks/hr/stats", "/v1/admin/desks/hr/drafts", "/v1/admin/desks/hr/gaps"}) {
    auto r = c->Get(path.c_str(), Bearer(lead));
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 404, path);
  }
  CHECK(Status(c->Put("/v1/admin/desks/hr/kb", Bearer(lead), kb, "application/json")) == 404);
  CHECK(Status(PostJson(*c, "/v1/admin/desks/hr/agents", R"({"username":"mole","password":"password-mole"})", lead)) == 404);

  // A plain agent and a customer: 401, as before; the admin token: everything.
  CHECK(Status(c->Get("/v1/admin/desks/shop/stats", Bearer(ana))) == 401);
  Customer who = StartConversation(*c);
  CHECK(Status(c->Get("/v1/admin/desks/shop/stats", Bearer(who.token))) == 401);
  CHECK(Status(c->Get("/v1/admin/desks/hr/stats", Bearer(kAdminToken))) == 200);

  // A logged-out desk admin is nobody.
  REQUIRE(Status(PostJson(*c, "/v1/agent/logout", "", lead)) == 200);
  CHECK(Status(c->Get("/v1/admin/desks/shop/stats", Bearer(lead))) == 401);
}

TEST_CASE("the role is checked, and kept with the agent's record") {
  TestServer server;
  auto c = server.Client();
  auto bad = PostJson(*c, "/v1/admin/desks/shop/agents", R"({"username":"x","password":"password-x","role":"root"})",
                      kAdminToken);
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("role") != std::string::npos);
  auto plain = PostJson(*c, "/v1/admin/desks/shop/agents", R"({"username":"y","password":"password-y"})", kAdminToken);
  CHECK(std::string(Json(plain)["agent"]["role"].GetString()) == "agent");
  Agent a;
  a.desk = "shop";
  a.username = "lead";
  a.desk_admin = true;
  auto decoded = DecodeAgent(EncodeAgent(a));
  REQUIRE(decoded.ok());
  CHECK(decoded->desk_admin);
  a.desk_admin = false;
  CHECK(EncodeAgent(a).find("desk_admin") == std::string::npos);  // records of plain agents are unchanged
  CHECK_FALSE(DecodeAgent(EncodeAgent(a))->desk_admin);
}

TEST_CASE("an admin token shorter than 32 characters opens nothing") {
  TestServer::Setup setup;
  setup.options.admin_token = std::string(kAdminToken).substr(0, kMinAdminTokenChars - 1);
  TestServer server(setup);
  auto c = server.Client();
  CHECK(Status(c->Get("/v1/admin/desks/shop/stats", Bearer(setup.options.admin_token))) == 401);
}

}  // namespace
}  // namespace kefu::testing
