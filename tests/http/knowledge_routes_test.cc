// The knowledge loop over real sockets: an escalated question shows up as a gap, the agent's reply
// becomes a draft, the admin publishes it and the bot answers the question itself; versions roll
// back; a publish that would lower accuracy is refused with the figures; who may call what.
#include <doctest/doctest.h>

#include "adapters/knowledge_routes.h"
#include "knowledge/knowledge_loop.h"
#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

constexpr const char* kUnknown = "Can I bring my dog to the warehouse open day?";
constexpr const char* kAnswer = "Yes, dogs on a lead are welcome at the open day.";

// A TestServer with the knowledge routes added, as `kefu serve` does.
struct KnowledgeServer {
  std::unique_ptr<KnowledgeLoop> loop;
  std::unique_ptr<TestServer> server;
  KnowledgeServer() {
    TestServer::Setup setup;
    setup.extra_routes = [this](HttpApi& api, Engine& engine, Clock& clock) {
      loop = std::make_unique<KnowledgeLoop>(&engine, &clock);
      AddKnowledgeRoutes(&api, loop.get(), &engine);
    };
    server = std::make_unique<TestServer>(setup);
  }
  ~KnowledgeServer() { server.reset(); }
};

// The last bot message of a reply to a customer message ("" when the bot did not answer).
std::string BotEntry(const httplib::Result& r) {
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  auto d = Json(r);
  std::string entry;
  for (const auto& m : d["messages"].GetArray()) {
    if (std::string(m["kind"].GetString()) == "bot" && m.HasMember("entry_id")) entry = m["entry_id"].GetString();
  }
  return entry;
}

// A customer asks `question` and asks for a person; the agent, assigned, answers with `answer`.
Customer AnsweredByAgent(httplib::Client& c, const std::string& agent, const std::string& question,
                         const std::string& answer) {
  Customer who = StartConversation(c);
  CHECK(BotEntry(Say(c, who, question)).empty());
  auto handoff = PostJson(c, "/v1/conversations/" + who.id + "/handoff", "", who.token);
  REQUIRE_MESSAGE(handoff->status == 200, handoff->body);
  // The only agent is online: the router assigns the conversation to them.
  std::string body = "{\"text\":";
  AppendJsonString(answer, &body);
  auto reply = PostJson(c, "/v1/agent/conversations/" + who.id + "/reply", body + "}", agent);
  REQUIRE_MESSAGE(reply->status == 201, reply->body);
  return who;
}

TEST_CASE("an agent's reply becomes a draft; the admin publishes it; the bot then answers; rollback undoes it") {
  KnowledgeServer ks;
  auto c = ks.server->Client();
  const std::string agent = AgentToken(*c, "shop", "ana");
  GoOnline(*c, agent);
  Customer first = AnsweredByAgent(*c, agent, kUnknown, kAnswer);

  // The gap report names the question, over the agent's route and the admin's.
  for (const auto& [path, token] : {std::pair<std::string, std::string>{"/v1/agent/gaps", agent},
                                    {"/v1/admin/desks/shop/gaps?since_hours=24", kAdminToken}}) {
    auto gaps = c->Get(path.c_str(), Bearer(token));
    REQUIRE_MESSAGE(gaps->status == 200, gaps->body);
    auto d = Json(gaps);
    REQUIRE(d["gaps"].Size() >= 1);
    CHECK(std::string(d["gaps"][0]["examples"][0].GetString()) == kUnknown);
    CHECK(d["gaps"][0]["customers"].GetUint64() == 1);
  }

  // The draft: the customer's question as its example, the agent's last reply as its answer.
  auto drafted = PostJson(*c, "/v1/agent/conversations/" + first.id + "/drafts", "{\"title\":\"Dogs at the open day\"}", agent);
  REQUIRE_MESSAGE(drafted->status == 201, drafted->body);
  auto draft = Json(drafted);
  CHECK(std::string(draft["draft"]["questions"][0].GetString()) == kUnknown);
  CHECK(std::string(draft["draft"]["answer"].GetString()) == kAnswer);
  CHECK(std::string(draft["draft"]["status"].GetString()) == "draft");
  const std::string draft_id = draft["draft"]["id"].GetString();

  auto listed = c->Get("/v1/admin/desks/shop/drafts?status=draft", Bearer(kAdminToken));
  REQUIRE(listed->status == 200);
  REQUIRE(Json(listed)["drafts"].Size() == 1);

  // Before the publish the bot cannot answer; after it, it can, without an agent.
  CHECK(BotEntry(Say(*c, StartConversation(*c), kUnknown)).empty());
  auto published = PostJson(*c, "/v1/admin/desks/shop/kb/publish", "{\"drafts\":[\"" + draft_id + "\"]}", kAdminToken);
  REQUIRE_MESSAGE(published->status == 201, published->body);
  auto p = Json(published);
  CHECK(p["version"]["version"].GetInt() == 2);
  CHECK(p["version"]["current"].GetBool());
  MESSAGE(std::string(p["diff"].GetString()));
  CHECK(std::string(p["diff"].GetString()).find("Dogs at the open day") != std::string::npos);
  const std::string learned = BotEntry(Say(*c, StartConversation(*c), kUnknown));
  CHECK(!learned.empty());
  CHECK(BotEntry(Say(*c, StartConversation(*c), "How do I place an order?")) == "orders.place");
  auto again = c->Get("/v1/admin/desks/shop/drafts?status=published", Bearer(kAdminToken));
  CHECK(Json(again)["drafts"].Size() == 1);
  // A published draft cannot be published or rejected again.
  CHECK(PostJson(*c, "/v1/admin/desks/shop/drafts/" + draft_id + "/reject", "", kAdminToken)->status == 409);
  CHECK(PostJson(*c, "/v1/admin/desks/shop/kb/publish", "{\"drafts\":[\"" + draft_id + "\"]}", kAdminToken)->status == 404);

  auto versions = c->Get("/v1/admin/desks/shop/kb/versions", Bearer(kAdminToken));
  REQUIRE(versions->status == 200);
  CHECK(Json(versions)["versions"].Size() == 2);

  auto rolled = PostJson(*c, "/v1/admin/desks/shop/kb/rollback", "{\"version\":1}", kAdminToken);
  REQUIRE_MESSAGE(rolled->status == 200, rolled->body);
  CHECK(Json(rolled)["version"]["version"].GetInt() == 3);
  CHECK(BotEntry(Say(*c, StartConversation(*c), kUnknown)).empty());
  CHECK(PostJson(*c, "/v1/admin/desks/shop/kb/rollback", "{\"version\":99}", kAdminToken)->status == 404);

  // Stats per version: every conversation above counted under the version live when it began.
  auto stats = c->Get("/v1/admin/desks/shop/stats/versions", Bearer(kAdminToken));
  REQUIRE_MESSAGE(stats->status == 200, stats->body);
  auto s = Json(stats);
  REQUIRE(s["versions"].Size() == 3);
  uint64_t conversations = 0;
  for (const auto& v : s["versions"].GetArray()) conversations += v["stats"]["conversations"].GetUint64();
  CHECK(conversations == 5);
}

TEST_CASE("an uploaded KB (JSON or CSV) is a version: listed, answered from, and rolled back") {
  KnowledgeServer k;
  auto c = k.server->Client();
  const std::string csv =
      "question,answer,intent\n"
      "Can I bring my dog to the warehouse open day?,\"Yes, dogs on a lead are welcome.\",open-day dogs\n"
      "Are pets allowed at the open day?,,open-day dogs\n"
      "When is the open day?,The first Saturday of June.,open-day date\n";
  auto up = c->Put("/v1/admin/desks/shop/kb?language=en", Bearer(kAdminToken), csv, "text/csv");
  REQUIRE(up);
  REQUIRE_MESSAGE(up->status == 200, up->body);
  const int uploaded = Json(up)["version"].GetInt();
  CHECK(uploaded == 2);  // version 1 is the KB the desk started with
  Customer who = StartConversation(*c);
  CHECK(BotEntry(Say(*c, who, kUnknown)) == "open-day-dogs");
  auto versions = c->Get("/v1/admin/desks/shop/kb/versions?language=en", Bearer(kAdminToken));
  REQUIRE(versions);
  REQUIRE_MESSAGE(versions->status == 200, versions->body);
  CHECK(versions->body.find("(upload)") != std::string::npos);
  auto back = PostJson(*c, "/v1/admin/desks/shop/kb/rollback", R"({"language":"en","version":1})", kAdminToken);
  REQUIRE(back);
  REQUIRE_MESSAGE(back->status == 200, back->body);
  CHECK(BotEntry(Say(*c, who, "How do I place an order?")) == "orders.place");
  // A broken sheet names its line and changes nothing.
  auto bad = c->Put("/v1/admin/desks/shop/kb?language=en", Bearer(kAdminToken), "question,answer,intent\nonly one field\n",
                    "text/csv");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("the uploaded CSV:2") != std::string::npos);  // file and line
  CHECK(BotEntry(Say(*c, who, "How do I place an order?")) == "orders.place");
}

TEST_CASE("a publish that would lower accuracy on the desk's labelled questions is refused with the figures") {
  KnowledgeServer ks;
  auto c = ks.server->Client();
  const std::string agent = AgentToken(*c, "shop", "ana");
  GoOnline(*c, agent);
  // Real questions the agent answered with the tracking entry's answer: labelled examples of it.
  const std::vector<std::string> questions = {"how do I track my parcel please", "my tracking number is not working",
                                              "where can I track my package"};
  std::vector<Customer> customers;
  for (const std::string& q : questions) {
    customers.push_back(AnsweredByAgent(*c, agent, kUnknown, "Here is your tracking link."));
    std::string body = "{\"entry_id\":\"shipping.tracking\",\"question\":";
    AppendJsonString(q, &body);
    auto labelled = PostJson(*c, "/v1/agent/conversations/" + customers.back().id + "/labelled", body + "}", agent);
    REQUIRE_MESSAGE(labelled->status == 201, labelled->body);
  }
  // A draft that teaches another entry those very questions would break them.
  for (size_t i = 0; i < questions.size(); ++i) {
    std::string body = "{\"kind\":\"add_examples\",\"entry_id\":\"returns.policy\",\"question\":";
    AppendJsonString(questions[i], &body);
    auto drafted = PostJson(*c, "/v1/agent/conversations/" + customers[i].id + "/drafts", body + "}", agent);
    REQUIRE_MESSAGE(drafted->status == 201, drafted->body);
  }
  auto refused = PostJson(*c, "/v1/admin/desks/shop/kb/publish", "{}", kAdminToken);
  REQUIRE(refused);
  MESSAGE(refused->body);
  CHECK_MESSAGE(refused->status == 409, refused->body);
  CHECK(ErrorCode(refused) == "conflict");
  CHECK(refused->body.find("accuracy would drop") != std::string::npos);
  // Nothing changed: one version, the drafts still open, the questions still tracking's.
  CHECK(Json(c->Get("/v1/admin/desks/shop/kb/versions", Bearer(kAdminToken)))["versions"].Size() <= 1);
  CHECK(Json(c->Get("/v1/admin/desks/shop/drafts?status=draft", Bearer(kAdminToken)))["drafts"].Size() == 3);
}

TEST_CASE("bad input and the wrong caller are refused and change nothing") {
  KnowledgeServer ks;
  auto c = ks.server->Client();
  const std::string ana = AgentToken(*c, "shop", "ana");
  const std::string hr_agent = AgentToken(*c, "hr", "li");
  GoOnline(*c, ana);
  Customer who = AnsweredByAgent(*c, ana, kUnknown, kAnswer);
  const std::string drafts = "/v1/agent/conversations/" + who.id + "/drafts";

  CHECK(ErrorCode(PostJson(*c, drafts, "{\"kind\":\"rewrite\"}", ana)) == "invalid_argument");
  CHECK(ErrorCode(PostJson(*c, drafts, "{\"kind\":\"add_examples\",\"entry_id\":\"no.such\"}", ana)) == "invalid_argument");
  CHECK(ErrorCode(PostJson(*c, drafts, "{\"entry_id\":\"orders.place\"}", ana)) == "conflict");  // a new entry's id taken
  CHECK(ErrorCode(PostJson(*c, drafts, "{\"title\":" + std::string("\"") + std::string(201, 't') + "\"}", ana)) == "invalid_argument");
  CHECK(ErrorCode(PostJson(*c, drafts, "{\"surprise\":1}", ana)) == "invalid_argument");
  CHECK(ErrorCode(PostJson(*c, "/v1/agent/conversations/" + who.id + "/labelled", "{\"entry_id\":\"no.such\"}", ana)) ==
        "invalid_argument");
  // Another desk's agent cannot see the conversation; customers and agents cannot use admin routes.
  CHECK(PostJson(*c, drafts, "{}", hr_agent)->status == 404);
  CHECK(PostJson(*c, drafts, "{}", who.token)->status == 401);
  CHECK(c->Get("/v1/admin/desks/shop/drafts", Bearer(ana))->status == 401);
  CHECK(PostJson(*c, "/v1/admin/desks/shop/kb/publish", "{}", ana)->status == 401);
  CHECK(c->Get("/v1/admin/desks/nowhere/drafts", Bearer(kAdminToken))->status == 404);
  CHECK(c->Get("/v1/admin/desks/shop/drafts?status=maybe", Bearer(kAdminToken))->status == 400);
  CHECK(c->Get("/v1/admin/desks/shop/gaps?since_hours=abc", Bearer(kAdminToken))->status == 400);
  // Nothing to publish is an error, not an empty version.
  CHECK(PostJson(*c, "/v1/admin/desks/shop/kb/publish", "{}", kAdminToken)->status == 400);
  CHECK(Json(c->Get("/v1/admin/desks/shop/drafts", Bearer(kAdminToken)))["drafts"].Size() == 0);
  CHECK(c->Get("/healthz")->status == 200);
}

}  // namespace
}  // namespace kefu::testing
