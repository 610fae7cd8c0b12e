// The story over real sockets: a customer asks the bot, is queued, an agent serves them live, the
// customer rates; plus live streams (SSE resume, long poll), tickets, feedback and the admin routes.
#include <doctest/doctest.h>

#include <atomic>
#include <set>

#include "engine/auth.h"
#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

std::string LastKind(const rapidjson::Document& d) {
  const auto& messages = d["messages"].GetArray();
  return messages.Empty() ? "" : messages[messages.Size() - 1]["kind"].GetString();
}

TEST_CASE("a customer asks a FAQ and gets the bot's answer") {
  TestServer server;
  auto c = server.Client();
  auto started = PostJson(*c, "/v1/desks/shop/conversations", "{\"channel\":\"web\",\"locale\":\"en\"}");
  REQUIRE(started->status == 201);
  auto s = Json(started);
  CHECK(s["resumed"].GetBool() == false);
  CHECK(s["messages"].Size() == 1);  // the welcome
  CHECK(std::string(s["conversation"]["state"].GetString()) == "new");
  Customer who{s["conversation_id"].GetString(), s["customer_token"].GetString()};

  auto r = Say(*c, who, "How do I place an order?");
  REQUIRE(r->status == 200);
  auto d = Json(r);
  REQUIRE(d["messages"].Size() == 2);
  CHECK(std::string(d["messages"][0]["kind"].GetString()) == "customer");
  CHECK(std::string(d["messages"][1]["kind"].GetString()) == "bot");
  CHECK(std::string(d["messages"][1]["entry_id"].GetString()) == "orders.place");
  CHECK(std::string(d["conversation"]["state"].GetString()) == "bot");
  CHECK(d["duplicate"].GetBool() == false);

  auto history = c->Get(("/v1/conversations/" + who.id + "/messages?after=1").c_str(), Bearer(who.token));
  REQUIRE(history->status == 200);
  CHECK(Json(history)["messages"].Size() == 2);
  auto view = c->Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token));
  REQUIRE(view->status == 200);
  CHECK(Json(view)["conversation"]["last_seq"].GetUint64() == 3);
}

TEST_CASE("a retried client_msg_id is answered once") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  const std::string body = "{\"text\":\"How do I place an order?\",\"client_msg_id\":\"m-1\"}";
  auto first = PostJson(*c, "/v1/conversations/" + who.id + "/messages", body, who.token);
  auto again = PostJson(*c, "/v1/conversations/" + who.id + "/messages", body, who.token);
  REQUIRE(first->status == 200);
  REQUIRE(again->status == 200);
  CHECK(Json(again)["duplicate"].GetBool());
  auto view = c->Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token));
  CHECK(Json(view)["conversation"]["last_seq"].GetUint64() == 3);
}

TEST_CASE("an unknown question is queued with a position and a ticket") {
  TestServer server;
  auto c = server.Client();
  Customer first = StartConversation(*c);
  Customer second = StartConversation(*c);
  auto r = PostJson(*c, "/v1/conversations/" + first.id + "/handoff", "", first.token);
  REQUIRE(r->status == 200);
  auto d = Json(r);
  CHECK(std::string(d["conversation"]["state"].GetString()) == "queued");
  CHECK(d["conversation"]["queue"]["position"].GetInt() == 1);
  CHECK(std::string(d["conversation"]["ticket"].GetString()) == "SHOP-1001");

  r = Say(*c, second, "zxqv blorp quantum giraffe warranty on mars");
  REQUIRE(r->status == 200);
  d = Json(r);
  CHECK(std::string(d["conversation"]["state"].GetString()) == "queued");
  CHECK(d["conversation"]["queue"]["position"].GetInt() >= 1);
  CHECK(LastKind(d) == "system");

  auto tickets = c->Get(("/v1/conversations/" + first.id + "/tickets").c_str(), Bearer(first.token));
  REQUIRE(tickets->status == 200);
  auto t = Json(tickets);
  REQUIRE(t["tickets"].Size() == 1);
  CHECK(std::string(t["tickets"][0]["status"].GetString()) == "open");
}

TEST_CASE("the whole story: queue, an agent is assigned and replies, the customer hears it live, resolves, rates") {
  TestServer::Setup setup;
  setup.leveldb = true;  // durable: the real store under a temp dir
  TestServer server(setup);
  auto c = server.Client();
  Customer who = StartConversation(*c);
  SseReader live(server.port, "/v1/conversations/" + who.id + "/events", Bearer(who.token));
  REQUIRE(live.WaitForType("state"));

  auto asked = PostJson(*c, "/v1/conversations/" + who.id + "/handoff", "", who.token);
  REQUIRE(asked->status == 200);
  CHECK(live.WaitFor([](const SseEvent& e) { return e.type == "state" && e.data.find("\"queued\"") != std::string::npos; }));
  CHECK(live.WaitFor([](const SseEvent& e) { return e.type == "message" && e.data.find("SHOP-1001") != std::string::npos; }));

  const std::string agent = AgentToken(*c, "shop", "ana");
  auto queue = c->Get("/v1/agent/queue", Bearer(agent));
  REQUIRE(queue->status == 200);
  REQUIRE(Json(queue)["conversations"].Size() == 1);
  GoOnline(*c, agent);  // the router assigns the waiting customer

  auto mine = c->Get("/v1/agent/conversations", Bearer(agent));
  REQUIRE(mine->status == 200);
  auto m = Json(mine);
  REQUIRE(m["conversations"].Size() == 1);
  CHECK(std::string(m["conversations"][0]["conversation_id"].GetString()) == who.id);
  CHECK(std::string(m["conversations"][0]["state"].GetString()) == "agent");
  CHECK(live.WaitFor([](const SseEvent& e) { return e.type == "state" && e.data.find("\"agent\"") != std::string::npos; }));

  auto suggestions = c->Get(("/v1/agent/conversations/" + who.id + "/suggestions").c_str(), Bearer(agent));
  CHECK(suggestions->status == 200);
  auto note = PostJson(*c, "/v1/agent/conversations/" + who.id + "/note", "{\"text\":\"VIP customer\"}", agent);
  CHECK(note->status == 201);
  auto reply = PostJson(*c, "/v1/agent/conversations/" + who.id + "/reply", "{\"text\":\"Hello, I am Ana. How can I help?\"}", agent);
  REQUIRE(reply->status == 201);

  SseEvent got;
  REQUIRE(live.WaitFor([](const SseEvent& e) { return e.type == "message" && e.data.find("I am Ana") != std::string::npos; }, &got));
  CHECK(!got.id.empty());
  auto message = ParseText(got.data);
  CHECK(std::string(message["kind"].GetString()) == "agent");
  CHECK(std::string(message["author"].GetString()) == "ana");
  for (const SseEvent& e : live.Events()) CHECK(e.data.find("VIP customer") == std::string::npos);  // notes stay inside

  auto resolved = PostJson(*c, "/v1/agent/conversations/" + who.id + "/resolve", "", agent);
  REQUIRE(resolved->status == 200);
  CHECK(live.WaitFor([](const SseEvent& e) { return e.type == "state" && e.data.find("\"resolved\"") != std::string::npos; }));
  live.Stop();

  auto rated = PostJson(*c, "/v1/conversations/" + who.id + "/csat", "{\"rating\":5}", who.token);
  REQUIRE_MESSAGE(rated->status == 200, rated->body);
  CHECK(Json(rated)["conversation"]["can_rate"].GetBool() == false);
  auto again = PostJson(*c, "/v1/conversations/" + who.id + "/csat", "{\"rating\":4}", who.token);
  CHECK(again->status == 409);
  CHECK(ErrorCode(again) == "conflict");

  auto stats = c->Get("/v1/admin/desks/shop/stats", Bearer(kAdminToken));
  REQUIRE(stats->status == 200);
  auto st = Json(stats);
  CHECK(st["csat_count"].GetInt() == 1);
  CHECK(st["escalations"].GetInt() == 1);
}

TEST_CASE("a waiting customer hears their position move over SSE") {
  TestServer server;
  auto c = server.Client();
  Customer a = StartConversation(*c);
  Customer b = StartConversation(*c);
  REQUIRE(PostJson(*c, "/v1/conversations/" + a.id + "/handoff", "", a.token)->status == 200);
  server.clock.Advance(kMicrosPerSecond);  // B waits behind A
  auto queued = PostJson(*c, "/v1/conversations/" + b.id + "/handoff", "", b.token);
  REQUIRE(queued->status == 200);
  CHECK(Json(queued)["conversation"]["queue"]["position"].GetInt() == 2);
  SseReader live(server.port, "/v1/conversations/" + b.id + "/events", Bearer(b.token));
  SseEvent state;
  REQUIRE(live.WaitForType("state", &state));
  CHECK(state.data.find("\"position\":2") != std::string::npos);
  const std::string agent = AgentToken(*c, "shop", "ana");
  REQUIRE(c->Put("/v1/agent/presence", Bearer(agent), "{\"status\":\"away\"}", "application/json")->status == 200);
  REQUIRE(PostJson(*c, "/v1/agent/conversations/" + a.id + "/claim", "", agent)->status == 200);
  CHECK(live.WaitFor([](const SseEvent& e) { return e.type == "queue" && e.data.find("\"position\":1") != std::string::npos; }));
}

TEST_CASE("SSE resume with Last-Event-ID misses nothing and repeats nothing") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  std::string last_id;
  {
    SseReader live(server.port, "/v1/conversations/" + who.id + "/events", Bearer(who.token));
    REQUIRE(live.WaitForType("state"));
    REQUIRE(Say(*c, who, "How do I place an order?")->status == 200);
    SseEvent e;
    REQUIRE(live.WaitFor([](const SseEvent& ev) { return ev.type == "message" && ev.id == "3"; }, &e));
    last_id = e.id;
  }
  // Disconnected: three more exchanges happen.
  REQUIRE(Say(*c, who, "How long does delivery take?")->status == 200);
  REQUIRE(Say(*c, who, "What payment methods do you accept?")->status == 200);
  auto handoff = PostJson(*c, "/v1/conversations/" + who.id + "/handoff", "", who.token);
  REQUIRE(handoff->status == 200);
  const uint64_t last_seq = Json(handoff)["conversation"]["last_seq"].GetUint64();

  auto headers = Bearer(who.token);
  headers.emplace("Last-Event-ID", last_id);
  SseReader resumed(server.port, "/v1/conversations/" + who.id + "/events", headers);
  REQUIRE(resumed.WaitFor([&](const SseEvent& e) { return e.type == "message" && e.id == std::to_string(last_seq); }));
  REQUIRE(Say(*c, who, "are you there?")->status == 200);  // live after the replay
  REQUIRE(resumed.WaitFor([&](const SseEvent& e) { return e.type == "message" && e.id == std::to_string(last_seq + 1); }));
  std::vector<uint64_t> seqs;
  for (const SseEvent& e : resumed.Events()) {
    if (e.type == "message") seqs.push_back(std::stoull(e.id));
  }
  std::vector<uint64_t> expected;
  for (uint64_t s = std::stoull(last_id) + 1; s <= last_seq + 1; ++s) expected.push_back(s);
  CHECK(seqs == expected);
}

TEST_CASE("the long poll returns when a new message arrives") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  REQUIRE(PostJson(*c, "/v1/conversations/" + who.id + "/handoff", "", who.token)->status == 200);
  auto view = Json(c->Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token)));
  const uint64_t after = view["conversation"]["last_seq"].GetUint64();

  // Nothing new: returns at the timeout, empty.
  auto empty = c->Get(("/v1/conversations/" + who.id + "/poll?after=" + std::to_string(after) + "&timeout=0").c_str(),
                      Bearer(who.token));
  REQUIRE(empty->status == 200);
  CHECK(Json(empty)["messages"].Size() == 0);

  const std::string agent = AgentToken(*c, "shop", "ana");
  std::atomic<bool> done{false};
  std::string polled;
  std::thread poller([&] {
    auto pc = server.Client();
    auto r = pc->Get(("/v1/conversations/" + who.id + "/poll?after=" + std::to_string(after) + "&timeout=20").c_str(),
                     Bearer(who.token));
    if (r) polled = r->body;
    done = true;
  });
  GoOnline(*c, agent);  // assigns: a system message "... has joined"
  poller.join();
  REQUIRE(done);
  auto d = ParseText(polled);
  REQUIRE(d["messages"].Size() >= 1);
  CHECK(d["messages"][0]["seq"].GetUint64() == after + 1);
  CHECK(std::string(d["conversation"]["state"].GetString()) == "agent");
}

TEST_CASE("an agent's live stream carries the assignment and the customer's messages; the agent poll too") {
  TestServer server;
  auto c = server.Client();
  const std::string agent = AgentToken(*c, "shop", "ana");
  SseReader live(server.port, "/v1/agent/events", Bearer(agent));
  SseEvent ready;
  REQUIRE(live.WaitForType("ready", &ready));
  GoOnline(*c, agent);
  Customer who = StartConversation(*c);
  REQUIRE(PostJson(*c, "/v1/conversations/" + who.id + "/handoff", "", who.token)->status == 200);
  SseEvent assigned;
  REQUIRE(live.WaitForType("assigned", &assigned));
  CHECK(assigned.data.find(who.id) != std::string::npos);
  REQUIRE(Say(*c, who, "my parcel never arrived")->status == 200);
  CHECK(live.WaitFor([](const SseEvent& e) { return e.type == "message" && e.data.find("never arrived") != std::string::npos; }));

  // The same events by long poll, from the stream's starting point.
  auto polled = c->Get(("/v1/agent/poll?after=" + ready.id + "&timeout=1").c_str(), Bearer(agent));
  REQUIRE(polled->status == 200);
  auto d = Json(polled);
  bool saw_assigned = false;
  for (const auto& e : d["events"].GetArray()) saw_assigned = saw_assigned || std::string(e["type"].GetString()) == "assigned";
  CHECK(saw_assigned);
  CHECK(d["last_event_id"].GetUint64() > std::stoull(ready.id));

  // Another desk's agent hears none of it.
  const std::string other = AgentToken(*c, "hr", "li");
  auto theirs = c->Get("/v1/agent/poll?after=0&timeout=0", Bearer(other));
  REQUIRE(theirs->status == 200);
  CHECK(theirs->body.find(who.id) == std::string::npos);
}

TEST_CASE("unhelpful feedback escalates; tickets are listed, updated and followed up") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  auto answered = Json(Say(*c, who, "How do I place an order?"));
  const uint64_t seq = answered["messages"][1]["seq"].GetUint64();
  auto fb = PostJson(*c, "/v1/conversations/" + who.id + "/feedback",
                     "{\"message_seq\":" + std::to_string(seq) + ",\"helpful\":false}", who.token);
  REQUIRE_MESSAGE(fb->status == 200, fb->body);
  CHECK(std::string(Json(fb)["conversation"]["state"].GetString()) == "queued");

  const std::string agent = AgentToken(*c, "shop", "ana");
  auto open = c->Get("/v1/agent/tickets?status=open", Bearer(agent));
  REQUIRE(open->status == 200);
  auto t = Json(open);
  REQUIRE(t["tickets"].Size() == 1);
  const std::string ticket = t["tickets"][0]["id"].GetString();
  auto patched = c->Patch(("/v1/agent/tickets/" + ticket).c_str(), Bearer(agent),
                          "{\"priority\":2,\"tags\":[\"vip\"],\"status\":\"pending\",\"remind_at\":1700003600}",
                          "application/json");
  REQUIRE_MESSAGE(patched->status == 200, patched->body);
  auto p = Json(patched);
  CHECK(std::string(p["ticket"]["status"].GetString()) == "pending");
  CHECK(p["ticket"]["priority"].GetInt() == 2);
  CHECK(p["ticket"]["remind"].GetInt64() == INT64_C(1700003600) * 1000000);
  auto pending = c->Get("/v1/agent/tickets?status=pending", Bearer(agent));
  CHECK(Json(pending)["tickets"].Size() == 1);
  auto bad = c->Get("/v1/agent/tickets?status=lost", Bearer(agent));
  CHECK(bad->status == 400);

  auto follow = PostJson(*c, "/v1/agent/conversations/" + who.id + "/tickets", "{\"subject\":\"call back about the order\"}", agent);
  REQUIRE_MESSAGE(follow->status == 201, follow->body);
  CHECK(std::string(Json(follow)["ticket"]["id"].GetString()) == "SHOP-1002");
  auto mine = Json(c->Get(("/v1/conversations/" + who.id + "/tickets").c_str(), Bearer(who.token)));
  CHECK(mine["tickets"].Size() == 2);
}

TEST_CASE("an app user's signed id resumes one conversation across devices") {
  TestServer server;
  auto c = server.Client();
  const std::string signature = HmacSha256Hex(kAppSecret, "user-42");
  const std::string body = "{\"channel\":\"app\",\"customer\":{\"id\":\"user-42\",\"signature\":\"" + signature + "\"}}";
  Customer phone = StartConversation(*c, "shop", body);
  REQUIRE(Say(*c, phone, "How do I place an order?")->status == 200);
  auto tablet = PostJson(*c, "/v1/desks/shop/conversations", body);
  REQUIRE(tablet->status == 200);
  auto d = Json(tablet);
  CHECK(d["resumed"].GetBool());
  CHECK(std::string(d["conversation_id"].GetString()) == phone.id);
  CHECK(d["messages"].Size() == 3);
  CHECK(std::string(d["conversation"]["channel"].GetString()) == "app");
}

TEST_CASE("agents: presence, claim, transfer to a team, logout") {
  TestServer server;
  auto c = server.Client();
  const std::string ana = AgentToken(*c, "shop", "ana");
  auto away = c->Put("/v1/agent/presence", Bearer(ana), "{\"status\":\"away\"}", "application/json");
  REQUIRE(away->status == 200);
  auto bad = c->Put("/v1/agent/presence", Bearer(ana), "{\"status\":\"asleep\"}", "application/json");
  CHECK(bad->status == 400);
  Customer who = StartConversation(*c);
  REQUIRE(PostJson(*c, "/v1/conversations/" + who.id + "/handoff", "", who.token)->status == 200);
  auto claimed = PostJson(*c, "/v1/agent/conversations/" + who.id + "/claim", "", ana);
  REQUIRE_MESSAGE(claimed->status == 200, claimed->body);
  CHECK(std::string(Json(claimed)["conversation"]["assignee"].GetString()) == "ana");
  auto twice = PostJson(*c, "/v1/agent/conversations/" + who.id + "/claim", "", ana);
  CHECK(twice->status == 409);
  auto history = c->Get(("/v1/agent/conversations/" + who.id + "/messages?after=0").c_str(), Bearer(ana));
  REQUIRE(history->status == 200);
  auto transferred = PostJson(*c, "/v1/agent/conversations/" + who.id + "/transfer", "{\"to_team\":\"billing\"}", ana);
  REQUIRE_MESSAGE(transferred->status == 200, transferred->body);
  CHECK(std::string(Json(transferred)["conversation"]["state"].GetString()) == "queued");
  auto both = PostJson(*c, "/v1/agent/conversations/" + who.id + "/transfer", "{}", ana);
  CHECK(both->status == 409);
  auto out = PostJson(*c, "/v1/agent/logout", "", ana);
  REQUIRE(out->status == 200);
  CHECK(c->Get("/v1/agent/queue", Bearer(ana))->status == 401);
}

TEST_CASE("admin: a valid KB upload replaces the desk's KB; an invalid one is refused and changes nothing") {
  TestServer server;
  auto c = server.Client();
  const std::string kb =
      R"({"name":"tiny","language":"en","entries":[{"id":"hours","title":"Opening hours",)"
      R"("questions":["when are you open","opening hours","what time do you open","are you open on sunday"],)"
      R"("answer":"We are open 9 to 5."},{"id":"parking","title":"Parking","questions":["where can I park",)"
      R"("is there parking","car park near the store","parking spaces"],"answer":"Behind the store."}]})";
  auto bad = c->Put("/v1/admin/desks/shop/kb?language=en", Bearer(kAdminToken), "{\"entries\":3}", "application/json");
  CHECK(bad->status == 400);
  Customer who = StartConversation(*c);
  auto before = Json(Say(*c, who, "How do I place an order?"));
  CHECK(std::string(before["messages"][1]["entry_id"].GetString()) == "orders.place");
  auto ok = c->Put("/v1/admin/desks/shop/kb?language=en", Bearer(kAdminToken), kb, "application/json");
  REQUIRE_MESSAGE(ok->status == 200, ok->body);
  auto after = Json(Say(*c, who, "what time do you open"));
  CHECK(std::string(after["messages"][1]["entry_id"].GetString()) == "hours");
  auto missing = c->Put("/v1/admin/desks/nope/kb", Bearer(kAdminToken), kb, "application/json");
  CHECK(missing->status == 404);
}

TEST_CASE("/metrics and /healthz") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  REQUIRE(Say(*c, who, "How do I place an order?")->status == 200);
  REQUIRE(PostJson(*c, "/v1/conversations/" + who.id + "/handoff", "", who.token)->status == 200);
  const std::string agent = AgentToken(*c, "hr", "li");
  GoOnline(*c, agent);
  auto health = c->Get("/healthz");
  REQUIRE(health->status == 200);
  CHECK(health->body == "{\"status\":\"ok\"}");
  auto m = c->Get("/metrics");
  REQUIRE(m->status == 200);
  CHECK(m->get_header_value("Content-Type").rfind("text/plain", 0) == 0);
  const std::string& text = m->body;
  CHECK(text.find("kefu_http_requests_total{route=\"POST /v1/conversations/{id}/messages\",status=\"200\"} 1") != std::string::npos);
  CHECK(text.find("kefu_http_request_duration_seconds_bucket{route=\"POST /v1/conversations/{id}/messages\",le=\"+Inf\"} 1") != std::string::npos);
  CHECK(text.find("kefu_matcher_decisions_total{desk=\"shop\",decision=\"answer\"} 1") != std::string::npos);
  CHECK(text.find("kefu_queue_length{desk=\"shop\"} 1") != std::string::npos);
  CHECK(text.find("kefu_agents_online{desk=\"hr\"} 1") != std::string::npos);
  CHECK(text.find("kefu_store_writes_total ") != std::string::npos);
  CHECK(text.find("kefu_store_batches_total ") != std::string::npos);
  CHECK(text.find(who.token) == std::string::npos);
  CHECK(text.find(who.id) == std::string::npos);  // route patterns, never raw paths
}

}  // namespace
}  // namespace kefu::testing
