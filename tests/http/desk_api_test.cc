// Issue 17, item 1: desks over the admin API, durable, without a restart. A desk created by POST
// serves at once, gets its KB by PUT (recorded as a version), answers a customer, gets an agent
// who is listed and removed (401 at once), and is still there, with its KB and changes, after a
// restart; kefu.json's desk of the same id wins over a stored one; delete refuses while
// conversations are open unless forced and loses no history. Over real sockets, on LevelDB.
#include <doctest/doctest.h>

#include "adapters/knowledge_routes.h"
#include "knowledge/knowledge_loop.h"
#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

const char kItDesk[] = R"({"id":"it","name":"IT helpdesk","ticket_prefix":"IT","default_team":"it",
  "welcome":{"en":"Hi from IT!"},"settings":{"default_capacity":2},
  "allowed_origins":["https://intranet.example"],"app_secret":"it-secret-never-shown-0123456789",
  "agents":[{"username":"seed.one","password":"seed-password","name":"Seed One"}]})";

const char kItKb[] = R"({"name":"IT","language":"en","entries":[
  {"id":"password.reset","title":"Resetting a password","answer":"Go to https://id.example/reset and follow the steps.",
   "questions":["how do I reset my password","I forgot my password","password reset","cannot log in, forgot password"]},
  {"id":"vpn.setup","title":"Setting up the VPN","answer":"Install the VPN client from the software centre.",
   "questions":["how do I set up the VPN","vpn does not connect","install vpn","working from home vpn"]}]})";

int Code(const httplib::Result& r) {
  REQUIRE(r);
  return r->status;
}

// A server with the knowledge loop (uploads are versions), on LevelDB in `dir`.
struct DeskServer {
  std::unique_ptr<KnowledgeLoop> loop;  // outlives the server (declared first)
  std::unique_ptr<TestServer> server;
  DeskServer(const std::string& dir, std::vector<DeskConfig> desks = {ShopDesk(), HrDesk()}) {
    TestServer::Setup setup;
    setup.leveldb = true;
    setup.leveldb_dir = dir;
    setup.desks = std::move(desks);
    setup.extra_routes = [this](HttpApi& api, Engine& engine, Clock& clock) {
      loop = std::make_unique<KnowledgeLoop>(&engine, &clock);
      AddKnowledgeRoutes(&api, loop.get(), &engine);
    };
    server = std::make_unique<TestServer>(setup);
  }
  ~DeskServer() { server.reset(); }
};

// Starts a conversation on `desk` and asks `question`; returns the reply's body.
std::string Ask(httplib::Client& c, const std::string& desk, const std::string& question) {
  auto started = PostJson(c, "/v1/desks/" + desk + "/conversations", "{}");
  REQUIRE(Code(started) == 201);
  auto who = Json(started);
  const std::string id = who["conversation_id"].GetString();
  auto said = PostJson(c, "/v1/conversations/" + id + "/messages", R"({"text":")" + question + R"(","client_msg_id":"q1"})",
                       who["customer_token"].GetString());
  REQUIRE(Code(said) == 200);
  return said->body;
}

TEST_CASE("a desk created through the admin API serves at once, and keeps its KB, agents and changes across a restart") {
  TempDir dir;
  {
    DeskServer s(dir.path);
    auto c = s.server->Client();
    auto created = PostJson(*c, "/v1/admin/desks", kItDesk, kAdminToken);
    REQUIRE(Code(created) == 201);
    auto desk = Json(created);
    CHECK(std::string(desk["desk"]["source"].GetString()) == "api");
    CHECK(desk["desk"]["languages"].Size() == 0);
    CHECK(desk["desk"]["settings"]["default_capacity"].GetInt() == 2);
    CHECK(created->body.find("it-secret") == std::string::npos);  // never a secret
    CHECK(created->body.find("seed-password") == std::string::npos);

    // Serving at once: the welcome, CORS for its origin, and (no KB yet) a person for every question.
    auto started = c->Post("/v1/desks/it/conversations", {{"Origin", "https://intranet.example"}}, "{}", "application/json");
    REQUIRE(Code(started) == 201);
    CHECK(started->get_header_value("Access-Control-Allow-Origin") == "https://intranet.example");
    CHECK(started->body.find("Hi from IT!") != std::string::npos);
    CHECK(Ask(*c, "it", "how do I reset my password").find("\"state\":\"queued\"") != std::string::npos);

    // Its KB by PUT: a version, and the bot answers.
    auto put = c->Put("/v1/admin/desks/it/kb", Bearer(kAdminToken), kItKb, "application/json");
    REQUIRE_MESSAGE(Code(put) == 200, put->body);
    CHECK(Json(put)["version"].GetInt() == 1);
    CHECK(Ask(*c, "it", "I forgot my password").find("id.example/reset") != std::string::npos);
    auto versions = c->Get("/v1/admin/desks/it/kb/versions", Bearer(kAdminToken));
    REQUIRE(Code(versions) == 200);
    CHECK(versions->body.find("(upload)") != std::string::npos);

    // Its agents: the seed, and one added, listed, then removed (401 at once).
    REQUIRE(Code(PostJson(*c, "/v1/admin/desks/it/agents", R"({"username":"tom","password":"password-tom"})", kAdminToken)) == 201);
    auto listed = c->Get("/v1/admin/desks/it/agents", Bearer(kAdminToken));
    REQUIRE(Code(listed) == 200);
    CHECK(listed->body.find("\"seed.one\"") != std::string::npos);
    CHECK(listed->body.find("\"tom\"") != std::string::npos);
    CHECK(Json(listed)["agents"][1]["capacity"].GetInt() == 2);  // the desk's default capacity
    auto login = PostJson(*c, "/v1/agent/login", R"({"desk":"it","username":"tom","password":"password-tom"})");
    REQUIRE(Code(login) == 200);
    const std::string tom = Json(login)["token"].GetString();
    CHECK(Code(c->Get("/v1/agent/queue", Bearer(tom))) == 200);
    CHECK(Code(c->Delete("/v1/admin/desks/it/agents/tom", Bearer(kAdminToken))) == 200);
    CHECK(Code(c->Get("/v1/agent/queue", Bearer(tom))) == 401);

    // A change by merge patch.
    auto patched = c->Patch("/v1/admin/desks/it", Bearer(kAdminToken), R"({"name":"IT service desk","settings":{"max_queue":50}})",
                            "application/json");
    REQUIRE_MESSAGE(Code(patched) == 200, patched->body);
    CHECK(std::string(Json(patched)["desk"]["name"].GetString()) == "IT service desk");
    CHECK(Json(patched)["desk"]["settings"]["max_queue"].GetInt() == 50);
    CHECK(Json(patched)["desk"]["settings"]["default_capacity"].GetInt() == 2);  // kept
  }
  DeskServer s(dir.path);  // a restart
  auto c = s.server->Client();
  auto desk = c->Get("/v1/admin/desks/it", Bearer(kAdminToken));
  REQUIRE(Code(desk) == 200);
  CHECK(std::string(Json(desk)["desk"]["name"].GetString()) == "IT service desk");
  CHECK(std::string(Json(desk)["desk"]["languages"][0].GetString()) == "en");
  CHECK(Ask(*c, "it", "how do I set up the VPN").find("VPN client") != std::string::npos);
  auto listed = c->Get("/v1/admin/desks", Bearer(kAdminToken));
  REQUIRE(Code(listed) == 200);
  auto all = Json(listed);
  REQUIRE(all["desks"].Size() == 3);
  CHECK(std::string(all["desks"][0]["id"].GetString()) == "hr");
  CHECK(std::string(all["desks"][0]["source"].GetString()) == "config");
  CHECK(std::string(all["desks"][1]["id"].GetString()) == "it");
  CHECK(Code(PostJson(*c, "/v1/agent/login", R"({"desk":"it","username":"seed.one","password":"seed-password"})")) == 200);
}

TEST_CASE("bad desks are refused with the field named, and kefu.json's desks are not the API's to change") {
  TempDir dir;
  DeskServer s(dir.path);
  auto c = s.server->Client();
  auto field_error = [&](const std::string& body, const std::string& field) {
    auto r = PostJson(*c, "/v1/admin/desks", body, kAdminToken);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 400, body);
    CHECK_MESSAGE(r->body.find(field) != std::string::npos, r->body);
  };
  field_error(R"({"id":"Bad Id"})", "field 'id'");
  field_error(R"({"id":"x","knowledge_bases":["/etc/passwd"]})", "field 'knowledge_bases'");
  field_error(R"({"id":"x","settings":{"max_queue":0}})", "field 'max_queue'");
  field_error(R"({"id":"x","colour":"red"})", "colour");
  field_error(R"({"id":"x",)", "invalid JSON");
  CHECK(Code(c->Get("/v1/admin/desks/x", Bearer(kAdminToken))) == 404);  // nothing was created

  CHECK(Code(PostJson(*c, "/v1/admin/desks", R"({"id":"shop"})", kAdminToken)) == 409);  // kefu.json's
  CHECK(Code(c->Patch("/v1/admin/desks/shop", Bearer(kAdminToken), R"({"name":"x"})", "application/json")) == 409);
  CHECK(Code(c->Delete("/v1/admin/desks/shop", Bearer(kAdminToken))) == 409);
  REQUIRE(Code(PostJson(*c, "/v1/admin/desks", R"({"id":"it"})", kAdminToken)) == 201);
  CHECK(Code(PostJson(*c, "/v1/admin/desks", R"({"id":"it"})", kAdminToken)) == 409);
  CHECK(Code(c->Patch("/v1/admin/desks/it", Bearer(kAdminToken), R"({"id":"other"})", "application/json")) == 400);
  CHECK(Code(c->Patch("/v1/admin/desks/it", Bearer(kAdminToken), R"({"settings":{"max_queue":-1}})", "application/json")) == 400);
  CHECK(Code(c->Get("/v1/admin/desks", Bearer("not-the-admin-token"))) == 401);
  CHECK(Code(PostJson(*c, "/v1/admin/desks", R"({"id":"y"})")) == 401);
}

TEST_CASE("delete refuses while conversations are open unless forced; a desk created again has its history back") {
  TempDir dir;
  DeskServer s(dir.path);
  auto c = s.server->Client();
  REQUIRE(Code(PostJson(*c, "/v1/admin/desks", kItDesk, kAdminToken)) == 201);
  REQUIRE(Code(c->Put("/v1/admin/desks/it/kb", Bearer(kAdminToken), kItKb, "application/json")) == 200);
  Ask(*c, "it", "I forgot my password");        // with the bot
  Ask(*c, "it", "my laptop screen is broken");  // waiting for a person
  auto refused = c->Delete("/v1/admin/desks/it", Bearer(kAdminToken));
  REQUIRE(Code(refused) == 409);
  CHECK(refused->body.find("2 conversations are open") != std::string::npos);
  CHECK(Code(c->Delete("/v1/admin/desks/it?force=yes", Bearer(kAdminToken))) == 400);
  CHECK(Code(c->Delete("/v1/admin/desks/it?force=true", Bearer(kAdminToken))) == 200);
  CHECK(Code(c->Get("/v1/admin/desks/it", Bearer(kAdminToken))) == 404);
  CHECK(Code(PostJson(*c, "/v1/desks/it/conversations", "{}")) == 404);

  REQUIRE(Code(PostJson(*c, "/v1/admin/desks", kItDesk, kAdminToken)) == 201);  // again
  auto stats = c->Get("/v1/admin/desks/it/stats", Bearer(kAdminToken));
  REQUIRE(Code(stats) == 200);
  CHECK(Json(stats)["conversations"].GetInt() == 2);  // its history is back
  auto versions = c->Get("/v1/admin/desks/it/kb/versions", Bearer(kAdminToken));
  REQUIRE(Code(versions) == 200);
  CHECK(versions->body.find("(upload)") != std::string::npos);  // its KB versions too
  CHECK(Ask(*c, "it", "how do I reset my password").find("id.example/reset") != std::string::npos);  // and its KB
}

TEST_CASE("kefu.json's desk wins over a stored desk of the same id") {
  TempDir dir;
  {
    DeskServer s(dir.path);
    auto c = s.server->Client();
    REQUIRE(Code(PostJson(*c, "/v1/admin/desks", R"({"id":"it","name":"from the API"})", kAdminToken)) == 201);
  }
  DeskConfig it = ShopDesk();
  it.id = "it";
  it.name = "from kefu.json";
  DeskServer s(dir.path, {ShopDesk(), it});
  auto c = s.server->Client();
  auto listed = c->Get("/v1/admin/desks", Bearer(kAdminToken));
  REQUIRE(Code(listed) == 200);
  auto all = Json(listed);
  REQUIRE(all["shadowed_by_config"].Size() == 1);
  CHECK(std::string(all["shadowed_by_config"][0].GetString()) == "it");
  auto desk = Json(c->Get("/v1/admin/desks/it", Bearer(kAdminToken)));
  CHECK(std::string(desk["desk"]["name"].GetString()) == "from kefu.json");
  CHECK(std::string(desk["desk"]["source"].GetString()) == "config");
}

}  // namespace
}  // namespace kefu::testing
