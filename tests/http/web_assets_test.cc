// The web channel's routes (adapters/web_assets.h) over real sockets: the pages and scripts are
// served from the binary with the right types, a CSP suited to each, ETag revalidation, and the two
// agent routes the console relies on (heartbeat, the desk's stats), and the demo intranet page's
// signed employee (issue 19).
#include <doctest/doctest.h>

#include <chrono>

#include "adapters/customer_identity.h"
#include "adapters/web_assets.h"
#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

TEST_CASE("every file the routes name is embedded in the binary") {
  for (const char* name : {"widget.js", "console.html", "console.js", "console.css", "demo-hr.html", "demo-hr-zh.html",
                           "demo-intranet.html", "demo-shop.html", "demo.css", "favicon.svg"}) {
    const WebAsset* asset = FindWebAsset(name);
    REQUIRE_MESSAGE(asset != nullptr, name);
    CHECK(!asset->content.empty());
    CHECK(asset->etag.size() > 2);
  }
  CHECK(FindWebAsset("nope.js") == nullptr);
}

TEST_CASE("pages are HTML with a CSP that allows only kefu's own scripts, styles and API") {
  TestServer server;
  auto c = server.Client();
  for (const char* path : {"/", "/zh", "/shop", "/console"}) {
    auto r = c->Get(path);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 200, path);
    CHECK(r->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(r->get_header_value("Content-Security-Policy") == kWebPageCsp);
    CHECK(r->get_header_value_count("Content-Security-Policy") == 1);  // replaced, not added
    CHECK(r->get_header_value("Content-Security-Policy").find("unsafe-inline") == std::string::npos);
    CHECK(r->get_header_value("X-Frame-Options") == "DENY");
    CHECK(r->body.find("<script>") == std::string::npos);  // no inline script
  }
  CHECK(c->Get("/")->body.find("<script src=\"/widget.js\" data-desk=\"hr\"></script>") != std::string::npos);
  CHECK(c->Get("/shop")->body.find("data-desk=\"shop\"") != std::string::npos);
  CHECK(c->Get("/zh")->body.find("lang=\"zh-CN\"") != std::string::npos);
}

TEST_CASE("scripts and styles keep the strict API CSP and can be loaded by other sites") {
  TestServer server;
  auto c = server.Client();
  auto js = c->Get("/widget.js");
  REQUIRE(js);
  CHECK(js->status == 200);
  CHECK(js->get_header_value("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(js->get_header_value("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'");
  CHECK(js->get_header_value("Cross-Origin-Resource-Policy") == "cross-origin");
  CHECK(js->body == FindWebAsset("widget.js")->content);
  CHECK(c->Get("/console.css")->get_header_value("Content-Type") == "text/css; charset=utf-8");
  CHECK(c->Get("/favicon.svg")->get_header_value("Content-Type") == "image/svg+xml");
  auto head = c->Head("/console.js");
  REQUIRE(head);
  CHECK(head->status == 200);
}

TEST_CASE("files are revalidated by ETag: 304 without a body when unchanged") {
  TestServer server;
  auto c = server.Client();
  auto first = c->Get("/widget.js");
  REQUIRE(first);
  const std::string etag = first->get_header_value("ETag");
  CHECK(etag == FindWebAsset("widget.js")->etag);
  CHECK(first->get_header_value("Cache-Control") == "no-cache");
  CHECK(first->get_header_value_count("Cache-Control") == 1);
  auto again = c->Get("/widget.js", {{"If-None-Match", etag}});
  REQUIRE(again);
  CHECK(again->status == 304);
  CHECK(again->body.empty());
  auto other = c->Get("/widget.js", {{"If-None-Match", "\"something-else\""}});
  REQUIRE(other);
  CHECK(other->status == 200);
}

// The demo intranet page signs its employee only for an hr desk whose secret is the published demo
// one (kefu.demo.json): a desk with a real secret, or none, never signs anybody there.
TEST_CASE("the demo intranet page carries a fresh JWT of the demo employee only with the demo secret") {
  {
    TestServer server;  // the fixture's hr desk has no app_secret
    CHECK(server.Client()->Get("/intranet")->status == 404);
  }
  for (const char* secret : {"a-real-secret", "demo-app-secret-change-me-not"}) {
    TestServer::Setup setup;
    setup.desks[1].app_secret = secret;
    TestServer server(std::move(setup));
    CHECK_MESSAGE(server.Client()->Get("/intranet")->status == 404, secret);
  }
  TestServer::Setup setup;
  setup.desks[1].app_secret = std::string(kDemoAppSecret);
  TestServer server(std::move(setup));
  auto c = server.Client();
  auto page = c->Get("/intranet");
  REQUIRE(page);
  REQUIRE(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->get_header_value("Content-Security-Policy") == kWebPageCsp);
  CHECK(page->get_header_value("Cache-Control") == "no-store");
  CHECK(page->body.find("{{") == std::string::npos);
  const std::string marker = "data-user-jwt=\"";
  const size_t at = page->body.find(marker);
  REQUIRE(at != std::string::npos);
  const size_t from = at + marker.size();
  const std::string jwt = page->body.substr(from, page->body.find('"', from) - from);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  auto who = VerifyIdentityJwt(jwt, kDemoAppSecret, now);
  REQUIRE_MESSAGE(who.ok(), who.status().ToString());
  CHECK(who->user_id == kDemoEmployeeId);
  CHECK(who->name == "Wang Fang");
  CHECK(who->department == "Finance");
  CHECK(who->expires_at - now <= kDemoJwtLifetimeSeconds);
  CHECK(who->expires_at - now >= kDemoJwtLifetimeSeconds - 60);
  // The start route takes it: the employee's conversation, their profile for agents.
  auto started = PostJson(*c, "/v1/desks/hr/conversations", R"({"customer":{"jwt":")" + jwt + "\"}}");
  REQUIRE(started);
  CHECK(started->status == 201);
  CHECK(!VerifyIdentityJwt(jwt, "another-secret", now).ok());
}

TEST_CASE("SignIdentityJwt refuses what VerifyIdentityJwt could never accept") {
  CustomerIdentity who;
  who.user_id = "emp-1";
  CHECK(SignIdentityJwt(who, "", 0, 60).status().code() == Status::Code::kInvalidArgument);
  CHECK(SignIdentityJwt(who, "s", 0, 0).status().code() == Status::Code::kInvalidArgument);
  CHECK(SignIdentityJwt(who, "s", 0, 24 * 3600 + 1).status().code() == Status::Code::kInvalidArgument);
  CHECK(SignIdentityJwt(CustomerIdentity{}, "s", 0, 60).status().code() == Status::Code::kInvalidArgument);
  auto jwt = SignIdentityJwt(who, "s", 1000, 60);
  REQUIRE(jwt.ok());
  CHECK(VerifyIdentityJwt(*jwt, "s", 1000).ok());
  CHECK(!VerifyIdentityJwt(*jwt, "s", 1000 + 60 + 61).ok());  // expired past the clock skew
}

TEST_CASE("other paths outside /v1 are still JSON 404s; pages refuse other methods") {
  TestServer server;
  auto c = server.Client();
  auto missing = c->Get("/console/");
  CHECK(missing->status == 404);
  CHECK(ErrorCode(missing) == "not_found");
  auto post = c->Post("/console", "{}", "application/json");
  CHECK(post->status == 405);
  CHECK(ErrorCode(post) == "method_not_allowed");
}

TEST_CASE("an agent's heartbeat and the desk's stats need an agent token and show only its desk") {
  TestServer server;
  auto c = server.Client();
  CHECK(c->Get("/v1/agent/stats")->status == 401);
  CHECK(c->Post("/v1/agent/heartbeat", "", "application/json")->status == 401);

  const std::string agent = AgentToken(*c, "shop", "amy");
  GoOnline(*c, agent);
  auto beat = c->Post("/v1/agent/heartbeat", Bearer(agent), "", "application/json");
  REQUIRE(beat);
  CHECK_MESSAGE(beat->status == 200, beat->body);

  Customer who = StartConversation(*c, "shop");
  REQUIRE(Say(*c, who, "How do I place an order?")->status == 200);
  Customer hr = StartConversation(*c, "hr");  // another desk: not counted
  REQUIRE(Say(*c, hr, "hello")->status == 200);

  auto stats = c->Get("/v1/agent/stats", Bearer(agent));
  REQUIRE(stats);
  REQUIRE_MESSAGE(stats->status == 200, stats->body);
  auto d = Json(stats);
  CHECK(std::string(d["desk"].GetString()) == "shop");
  CHECK(d["conversations"].GetInt64() == 1);
  CHECK(d["bot_answers"].GetInt64() == 1);
  CHECK(d["agents_online"].GetInt() == 1);
  CHECK(d["queue_length"].GetInt() == 0);
  CHECK(d.HasMember("top_unmatched"));
  CHECK(d.HasMember("csat_average"));
}

}  // namespace
}  // namespace kefu::testing
