// The edge's limits and manners: per-IP budgets (429 with Retry-After), stream limits, CORS per
// desk, security headers, SSE heartbeats, and every error body being JSON with a code and a message.
#include <doctest/doctest.h>

#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

TEST_CASE("requests per IP per second: over budget is 429 with Retry-After; health checks are not counted") {
  TestServer::Setup setup;
  setup.options.requests_per_ip_per_second = 0.5;
  setup.options.request_burst = 3;
  TestServer server(setup);
  auto c = server.Client();
  Customer who = StartConversation(*c);  // 1
  const std::string path = "/v1/conversations/" + who.id;
  CHECK(c->Get(path.c_str(), Bearer(who.token))->status == 200);  // 2
  CHECK(c->Get(path.c_str(), Bearer(who.token))->status == 200);  // 3
  auto r = c->Get(path.c_str(), Bearer(who.token));
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(ErrorCode(r) == "resource_exhausted");
  const std::string retry = r->get_header_value("Retry-After");
  REQUIRE(!retry.empty());
  CHECK(std::stoi(retry) >= 1);
  CHECK(std::stoi(retry) <= 2);
  CHECK(c->Get("/healthz")->status == 200);
  // A request refused by the budget changes nothing.
  auto said = Say(*c, who, "How do I place an order?");
  CHECK(said->status == 429);
}

TEST_CASE("login attempts and new conversations per IP have their own small budgets") {
  TestServer::Setup setup;
  setup.options.logins_per_ip_per_minute = 2;
  setup.options.conversations_per_ip_per_minute = 2;
  TestServer server(setup);
  auto c = server.Client();
  const std::string body = R"({"desk":"shop","username":"nobody","password":"password-x"})";
  CHECK(PostJson(*c, "/v1/agent/login", body)->status == 401);
  CHECK(PostJson(*c, "/v1/agent/login", body)->status == 401);
  auto third = PostJson(*c, "/v1/agent/login", body);
  CHECK(third->status == 429);
  CHECK(!third->get_header_value("Retry-After").empty());
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", "{}")->status == 201);
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", "{}")->status == 201);
  auto r = PostJson(*c, "/v1/desks/shop/conversations", "{}");
  CHECK(r->status == 429);
  CHECK(ErrorCode(r) == "resource_exhausted");
}

TEST_CASE("live streams beyond max_streams are refused with 503") {
  TestServer::Setup setup;
  setup.options.max_streams = 1;
  TestServer server(setup);
  auto c = server.Client();
  Customer who = StartConversation(*c);
  SseReader first(server.port, "/v1/conversations/" + who.id + "/events", Bearer(who.token));
  REQUIRE(first.WaitForType("state"));
  auto second = c->Get(("/v1/conversations/" + who.id + "/poll?timeout=0").c_str(), Bearer(who.token));
  REQUIRE(second);
  CHECK(second->status == 503);
  CHECK(ErrorCode(second) == "unavailable");
  first.Stop();
  REQUIRE(first.WaitEnded());
  // The slot is free again once the stream is gone: the server notices the hang-up at its next
  // check of the client (every stream_liveness_millis) or write (a heartbeat, every 200 ms here).
  bool freed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!freed && std::chrono::steady_clock::now() < deadline) {
    freed = c->Get(("/v1/conversations/" + who.id + "/poll?timeout=0").c_str(), Bearer(who.token))->status == 200;
    if (!freed) first.WaitFor([](const SseEvent&) { return false; }, nullptr, std::chrono::milliseconds(50));
  }
  CHECK(freed);
}

TEST_CASE("an idle SSE stream gets comment heartbeats") {
  TestServer server;  // heartbeat 200 ms in tests (15 s by default)
  auto c = server.Client();
  Customer who = StartConversation(*c);
  SseReader live(server.port, "/v1/conversations/" + who.id + "/events", Bearer(who.token));
  REQUIRE(live.WaitForType("state"));
  const auto start = std::chrono::steady_clock::now();
  while (live.heartbeats() < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    live.WaitFor([](const SseEvent&) { return false; }, nullptr, std::chrono::milliseconds(100));
  }
  CHECK(live.heartbeats() >= 2);
}

TEST_CASE("CORS: a desk's allowed origins pass the preflight and get Access-Control-Allow-Origin") {
  TestServer server;
  auto c = server.Client();
  httplib::Headers preflight = {{"Origin", "https://shop.example"}, {"Access-Control-Request-Method", "POST"},
                                {"Access-Control-Request-Headers", "content-type"}};
  auto ok = c->Options("/v1/desks/shop/conversations", preflight);
  REQUIRE(ok);
  CHECK(ok->status == 204);
  CHECK(ok->get_header_value("Access-Control-Allow-Origin") == "https://shop.example");
  CHECK(ok->get_header_value("Access-Control-Allow-Methods").find("POST") != std::string::npos);
  CHECK(ok->get_header_value("Access-Control-Allow-Headers").find("Authorization") != std::string::npos);

  // Another desk's origin is not this desk's.
  httplib::Headers other = {{"Origin", "https://hr.example"}, {"Access-Control-Request-Method", "POST"}};
  auto refused = c->Options("/v1/desks/shop/conversations", other);
  CHECK(refused->status == 403);
  CHECK(refused->get_header_value("Access-Control-Allow-Origin").empty());
  ErrorCode(refused);
  httplib::Headers evil = {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}};
  CHECK(c->Options("/v1/desks/shop/conversations", evil)->status == 403);

  // The actual calls carry the header for the desk's origin only.
  auto started = c->Post("/v1/desks/shop/conversations", {{"Origin", "https://shop.example"}}, "{}", "application/json");
  REQUIRE(started->status == 201);
  CHECK(started->get_header_value("Access-Control-Allow-Origin") == "https://shop.example");
  CHECK(started->get_header_value("Vary") == "Origin");
  Customer who{Json(started)["conversation_id"].GetString(), Json(started)["customer_token"].GetString()};
  auto headers = Bearer(who.token);
  headers.emplace("Origin", "https://shop.example");
  auto view = c->Get(("/v1/conversations/" + who.id).c_str(), headers);
  CHECK(view->get_header_value("Access-Control-Allow-Origin") == "https://shop.example");
  auto wrong = Bearer(who.token);
  wrong.emplace("Origin", "https://hr.example");
  CHECK(c->Get(("/v1/conversations/" + who.id).c_str(), wrong)->get_header_value("Access-Control-Allow-Origin").empty());
  auto cross = c->Post("/v1/desks/hr/conversations", {{"Origin", "https://shop.example"}}, "{}", "application/json");
  CHECK(cross->get_header_value("Access-Control-Allow-Origin").empty());

  // Conversation routes' preflight (no token yet) and agent routes (same-origin only).
  auto conv = c->Options(("/v1/conversations/" + who.id + "/messages").c_str(), preflight);
  CHECK(conv->status == 204);
  CHECK(conv->get_header_value("Access-Control-Allow-Origin") == "https://shop.example");
  auto agent = c->Options("/v1/agent/login", preflight);
  CHECK(agent->status == 403);
  CHECK(agent->get_header_value("Access-Control-Allow-Origin").empty());
}

TEST_CASE("every response carries the security headers and a request id") {
  TestServer server;
  auto c = server.Client();
  for (const char* path : {"/healthz", "/metrics", "/v1/nothing", "/v1/agent/queue"}) {
    auto r = c->Get(path);
    REQUIRE(r);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(!r->get_header_value("Content-Security-Policy").empty());
    CHECK(!r->get_header_value("X-Request-Id").empty());
  }
}

TEST_CASE("error bodies are always JSON with a code and a message") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  const std::string conv = "/v1/conversations/" + who.id;
  struct Case {
    httplib::Result result;
    int status;
    std::string code;
  };
  std::vector<Case> cases;
  cases.push_back({c->Get("/v1/nothing"), 404, "not_found"});
  cases.push_back({c->Get("/nothing"), 404, "not_found"});  // "/" is the widget's demo page
  cases.push_back({c->Delete("/v1/agent/queue"), 405, "method_not_allowed"});
  cases.push_back({c->Get("/v1/desks/shop/conversations"), 405, "method_not_allowed"});
  cases.push_back({c->Get((conv + "/messages?after=-1").c_str(), Bearer(who.token)), 400, "invalid_argument"});
  cases.push_back({c->Get((conv + "/messages?after=x").c_str(), Bearer(who.token)), 400, "invalid_argument"});
  cases.push_back({c->Post((conv + "/messages").c_str(), Bearer(who.token), "nope", "application/json"), 400, "invalid_argument"});
  cases.push_back({c->Post((conv + "/csat").c_str(), Bearer(who.token), "{\"rating\":9}", "application/json"), 400, "invalid_argument"});
  cases.push_back({c->Post((conv + "/csat").c_str(), Bearer(who.token), "{\"rating\":3}", "application/json"), 409, "conflict"});
  cases.push_back({c->Get(conv.c_str()), 401, "unauthenticated"});
  cases.push_back({c->Get("/v1/conversations/bad%2Fid"), 404, "not_found"});
  cases.push_back({c->Get(("/v1/conversations/" + std::string(600, 'x')).c_str()), 414, "uri_too_long"});
  cases.push_back({c->Post((conv + "/messages").c_str(), Bearer(who.token), std::string(70000, ' '), "application/json"),
                   413, "payload_too_large"});
  for (Case& k : cases) {
    REQUIRE(k.result);
    CHECK_MESSAGE(k.result->status == k.status, k.result->body);
    CHECK_MESSAGE(ErrorCode(k.result) == k.code, k.result->body);
  }
  // A request line cpp-httplib cannot parse is still answered in JSON.
  httplib::Client raw("127.0.0.1", server.port);
  auto r = raw.Get("/has space");
  if (r && r->status >= 400) ErrorCode(r);
}

}  // namespace
}  // namespace kefu::testing

namespace kefu::testing {
namespace {

TEST_CASE("shutdown ends live streams and long polls, and finishes the requests in flight") {
  TestServer::Setup setup;
  setup.options.sse_heartbeat_millis = 60000;  // only the shutdown can end the stream promptly
  TestServer server(setup);
  auto c = server.Client();
  Customer who = StartConversation(*c);
  SseReader live(server.port, "/v1/conversations/" + who.id + "/events", Bearer(who.token));
  REQUIRE(live.WaitForType("state"));
  int poll_status = 0;
  std::thread poller([&] {
    auto pc = server.Client();
    auto r = pc->Get(("/v1/conversations/" + who.id + "/poll?after=1&timeout=30").c_str(), Bearer(who.token));
    if (r) poll_status = r->status;
  });
  // The poll is in flight once the stream counter shows it (two streams open).
  const auto start = std::chrono::steady_clock::now();
  while (server.api->open_streams() < 2) std::this_thread::yield();
  server.api->Stop();
  CHECK(live.WaitEnded(std::chrono::seconds(5)));
  poller.join();
  CHECK(poll_status == 200);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

}  // namespace
}  // namespace kefu::testing
