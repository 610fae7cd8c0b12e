// Issue 16 (items 1, 2, 3, 4, 6's refused claims and 7), over real sockets: a queued customer still gets the bot's
// sure answers and keeps their place, and can leave the line; an open widget keeps them in it, a closed one makes a
// ticket; resolving a conversation solves its own ticket, not a follow-up; a question below the answer threshold goes
// to the desk's default team, not the nearest entry's.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

rapidjson::Document Conversation(httplib::Client& c, const Customer& who) {
  auto r = c.Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token));
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  return Json(r);
}

TEST_CASE("queued with nobody online, a FAQ question gets the bot's answer and the customer keeps their place") {
  TestServer server;
  auto c = server.Client();
  Customer first = StartConversation(*c), second = StartConversation(*c);
  for (const Customer& who : {first, second}) {
    auto asked = Say(*c, who, "I want to talk to a human");
    REQUIRE(asked);
    REQUIRE(asked->status == 200);
    server.clock.Advance(kMicrosPerSecond);  // the line is in order of arrival: make it unambiguous
  }
  REQUIRE(std::string(Conversation(*c, second)["conversation"]["state"].GetString()) == "queued");
  const int position = Conversation(*c, second)["conversation"]["queue"]["position"].GetInt();
  CHECK(position == 2);

  auto faq = Say(*c, second, "How long does delivery take?");
  REQUIRE(faq);
  REQUIRE_MESSAGE(faq->status == 200, faq->body);
  auto turn = Json(faq);
  const auto& messages = turn["messages"];
  REQUIRE(messages.Size() == 2);  // the question and the bot's answer
  CHECK(std::string(messages[1]["kind"].GetString()) == "bot");
  CHECK(messages[1].HasMember("entry_id"));
  CHECK(std::string(turn["conversation"]["state"].GetString()) == "queued");
  CHECK(turn["conversation"]["queue"]["position"].GetInt() == position);

  // What the bot does not know waits for the person, as before.
  auto unknown = Say(*c, second, "my parcel arrived wet and the cat is upset about it");
  REQUIRE(unknown);
  auto waiting = Json(unknown);
  CHECK(waiting["messages"].Size() == 1);
  CHECK(std::string(waiting["conversation"]["state"].GetString()) == "queued");
  CHECK(waiting["conversation"]["queue"]["position"].GetInt() == position);
}

TEST_CASE("DELETE handoff takes the customer out of the line, back to the bot; the ticket is closed as withdrawn") {
  TestServer server;
  auto c = server.Client();
  Customer first = StartConversation(*c), second = StartConversation(*c);
  for (const Customer& who : {first, second}) {
    REQUIRE(Say(*c, who, "I want to talk to a human")->status == 200);
    server.clock.Advance(kMicrosPerSecond);  // the line is in order of arrival: make it unambiguous
  }
  const std::string ticket = Conversation(*c, first)["conversation"]["ticket"].GetString();

  auto left = c->Delete(("/v1/conversations/" + first.id + "/handoff").c_str(), Bearer(first.token));
  REQUIRE(left);
  REQUIRE_MESSAGE(left->status == 200, left->body);
  auto turn = Json(left);
  CHECK(std::string(turn["conversation"]["state"].GetString()) == "bot");
  REQUIRE(turn["messages"].Size() == 1);
  CHECK(std::string(turn["messages"][0]["text"].GetString()).find("You left the line") != std::string::npos);
  // The one behind moves up; the ticket is closed; the stats count it.
  CHECK(Conversation(*c, second)["conversation"]["queue"]["position"].GetInt() == 1);
  auto tickets = Json(c->Get(("/v1/conversations/" + first.id + "/tickets").c_str(), Bearer(first.token)));
  REQUIRE(tickets["tickets"].Size() == 1);
  CHECK(std::string(tickets["tickets"][0]["id"].GetString()) == ticket);
  CHECK(std::string(tickets["tickets"][0]["status"].GetString()) == "closed");
  auto stats = server.engine->Stats("shop");
  REQUIRE(stats.ok());
  CHECK(stats->withdrawn == 1);
  // The bot answers again; leaving twice, or another customer's token, is refused.
  auto faq = Json(Say(*c, first, "How long does delivery take?"));
  CHECK(std::string(faq["messages"][1]["kind"].GetString()) == "bot");
  auto again = c->Delete(("/v1/conversations/" + first.id + "/handoff").c_str(), Bearer(first.token));
  REQUIRE(again);
  CHECK(again->status == 409);
  CHECK(ErrorCode(again) == "conflict");
  auto other = c->Delete(("/v1/conversations/" + second.id + "/handoff").c_str(), Bearer(first.token));
  REQUIRE(other);
  CHECK(other->status == 404);
  CHECK(std::string(Conversation(*c, second)["conversation"]["state"].GetString()) == "queued");
}

TEST_CASE("a refused claim says which cause it was: taken by someone, you are offline, you are full") {
  TestServer server;
  auto c = server.Client();
  const std::string first = AgentToken(*c, "shop", "sol"), second = AgentToken(*c, "shop", "tom");
  auto named = c->Patch("/v1/admin/desks/shop/agents/sol", Bearer(kAdminToken), R"({"name":"Sol Ortiz"})",
                        "application/json");
  REQUIRE(named);
  REQUIRE(named->status == 200);
  auto login = PostJson(*c, "/v1/agent/login", R"({"desk":"shop","username":"sol","password":"password-sol"})");
  REQUIRE(login);
  CHECK(std::string(Json(login)["name"].GetString()) == "Sol Ortiz");  // the console shows the name
  CHECK(std::string(Json(login)["username"].GetString()) == "sol");
  GoOnline(*c, first);
  Customer who = StartConversation(*c);
  REQUIRE(Say(*c, who, "I want to talk to a human")->status == 200);  // routed to sol
  auto claim = [&](const std::string& token, const Customer& x) {
    auto r = PostJson(*c, "/v1/agent/conversations/" + x.id + "/claim", "", token);
    REQUIRE(r);
    return std::make_pair(r->status, r->body);
  };
  auto reason = [](const std::string& body) { return std::string(ParseText(body)["error"]["reason"].GetString()); };
  auto taken = claim(second, who);
  CHECK(taken.first == 409);
  CHECK(taken.second.find("Sol Ortiz has already taken this conversation") != std::string::npos);
  CHECK(reason(taken.second) == "taken");
  auto mine = claim(first, who);
  CHECK(mine.first == 409);
  CHECK(reason(mine.second) == "yours");
  Customer waiting = StartConversation(*c);
  auto sol_presence = c->Put("/v1/agent/presence", Bearer(first), R"({"status":"offline"})", "application/json");
  REQUIRE(sol_presence);
  REQUIRE(Say(*c, waiting, "I want to talk to a human")->status == 200);  // nobody online: it waits
  auto offline = claim(second, waiting);
  CHECK(offline.first == 409);
  CHECK(offline.second.find("go online or away") != std::string::npos);
  CHECK(reason(offline.second) == "offline");
  auto one_seat = c->Patch("/v1/admin/desks/shop/agents/tom", Bearer(kAdminToken), R"({"capacity":1})",
                           "application/json");
  REQUIRE(one_seat);
  REQUIRE(one_seat->status == 200);
  GoOnline(*c, second);  // tom's one seat takes `waiting`
  Customer third = StartConversation(*c);
  REQUIRE(Say(*c, third, "I want to talk to a human")->status == 200);  // waits: no free seat
  auto full = claim(second, third);
  CHECK(full.first == 409);
  CHECK(reason(full.second) == "full");
}

TEST_CASE("resolving a conversation with a follow-up ticket solves its own ticket and leaves the follow-up open") {
  TestServer server;
  auto c = server.Client();
  const std::string agent = AgentToken(*c, "shop", "nina");
  GoOnline(*c, agent);
  Customer who = StartConversation(*c);
  auto asked = Say(*c, who, "I want to talk to a human");
  REQUIRE(asked);
  const std::string own = Json(asked)["conversation"]["ticket"].GetString();
  auto follow = PostJson(*c, "/v1/agent/conversations/" + who.id + "/tickets", R"({"subject":"refund check"})", agent);
  REQUIRE(follow);
  REQUIRE_MESSAGE(follow->status == 201, follow->body);
  auto resolved = PostJson(*c, "/v1/agent/conversations/" + who.id + "/resolve", "{}", agent);
  REQUIRE(resolved);
  REQUIRE_MESSAGE(resolved->status == 200, resolved->body);
  auto tickets = c->Get(("/v1/conversations/" + who.id + "/tickets").c_str(), Bearer(who.token));
  REQUIRE(tickets);
  REQUIRE(tickets->status == 200);
  auto doc = Json(tickets);
  int seen = 0;
  for (const auto& t : doc["tickets"].GetArray()) {
    const std::string id = t["id"].GetString(), status = t["status"].GetString();
    if (id == own) {
      CHECK(status == "solved");
    } else {
      CHECK(status == "open");  // the follow-up keeps its status
    }
    ++seen;
  }
  CHECK(seen == 2);
}

TEST_CASE("a question below the answer threshold goes to the desk's default team, not to the nearest entry's") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c, "hr", R"({"locale":"en"})");
  auto asked = Say(*c, who, "where can I park my bicycle overnight near the dog kennel");
  REQUIRE(asked);
  REQUIRE_MESSAGE(asked->status == 200, asked->body);
  auto turn = Json(asked);
  REQUIRE(std::string(turn["conversation"]["state"].GetString()) == "queued");
  CHECK(std::string(turn["conversation"]["team"].GetString()) == "hr");
}

TEST_CASE("an open event stream keeps a waiting customer in the line; the one who closed the widget gets a ticket") {
  TestServer::Setup setup;
  setup.desks[0].settings.customer_gone_micros = 5 * kMicrosPerSecond;
  TestServer server(setup);
  auto c = server.Client();
  Customer gone = StartConversation(*c), present = StartConversation(*c);
  for (const Customer& who : {gone, present}) REQUIRE(Say(*c, who, "I want to talk to a human")->status == 200);
  SseReader live(server.port, "/v1/conversations/" + present.id + "/events", Bearer(present.token));
  REQUIRE(live.WaitForType("state"));

  // Past the desk's five seconds on the engine's clock; the open stream says so again within
  // its interval (a third of that time, in real time), the other customer says nothing.
  server.clock.Advance(6 * kMicrosPerSecond);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  REQUIRE(server.engine->RunTimers().ok());

  CHECK(std::string(Conversation(*c, present)["conversation"]["state"].GetString()) == "queued");
  CHECK(Conversation(*c, present)["conversation"]["queue"]["position"].GetInt() == 1);
  auto view = Conversation(*c, gone);
  CHECK(std::string(view["conversation"]["state"].GetString()) == "bot");
  const std::string ticket = view["conversation"]["ticket"].GetString();
  auto tickets = Json(c->Get(("/v1/conversations/" + gone.id + "/tickets").c_str(), Bearer(gone.token)));
  REQUIRE(tickets["tickets"].Size() == 1);
  CHECK(std::string(tickets["tickets"][0]["status"].GetString()) == "pending");

  // An agent answers the ticket; the answer is in the customer's conversation.
  const std::string agent = AgentToken(*c, "shop", "ana");
  auto solved = c->Patch(("/v1/agent/tickets/" + ticket).c_str(), Bearer(agent),
                         R"({"status":"solved","note":"Your refund was sent today."})", "application/json");
  REQUIRE(solved);
  REQUIRE_MESSAGE(solved->status == 200, solved->body);
  auto history = Json(c->Get(("/v1/conversations/" + gone.id + "/messages?after=0").c_str(), Bearer(gone.token)));
  const auto& messages = history["messages"];
  REQUIRE(messages.Size() > 0);
  CHECK(std::string(messages[messages.Size() - 1]["text"].GetString()).find("Your refund was sent today.") !=
        std::string::npos);
  auto stats = server.engine->Stats("shop");
  REQUIRE(stats.ok());
  CHECK(stats->deferred == 1);
  auto http_stats = Json(c->Get("/v1/admin/desks/shop/stats", Bearer(kAdminToken)));
  CHECK(http_stats["deferred"].GetInt() == 1);
}

}  // namespace
}  // namespace kefu::testing
