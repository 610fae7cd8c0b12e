// A desk on the shop sample KB over a test store (OpenTestStore) and a manual clock, for engine
// tests.
#ifndef KEFU_TESTS_ENGINE_ENGINE_FIXTURE_H_
#define KEFU_TESTS_ENGINE_ENGINE_FIXTURE_H_

#include <doctest/doctest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "engine/pg/pg_store.h"
#include "tests/pg/pg_cluster.h"

namespace kefu::testing {

inline DeskConfig ShopDesk() {
  DeskConfig d;
  d.id = "shop";
  d.name = "Shop";
  d.ticket_prefix = "SHOP";
  d.knowledge_bases = {std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json"};
  d.default_team = "general";
  return d;
}

inline DeskConfig HrDesk() {
  DeskConfig d;
  d.id = "hr";
  d.name = "HR";
  d.ticket_prefix = "HR";
  d.knowledge_bases = {std::string(KEFU_SOURCE_DIR) + "/kb/samples/hr-zh.json",
                       std::string(KEFU_SOURCE_DIR) + "/kb/samples/hr-en.json"};
  d.default_team = "hr";
  return d;
}

inline EngineOptions TestOptions() {
  EngineOptions o;
  o.password_cost = PasswordCost::kMinimal;
  return o;
}

// The store of an engine test: in memory, or with KEFU_TEST_STORE=postgres a new database of the
// executable's throwaway PostgreSQL cluster, so that one suite proves both stores.
inline Result<std::unique_ptr<Store>> OpenTestStore() {
  const char* which = std::getenv("KEFU_TEST_STORE");
  if (which != nullptr && std::string(which) == "postgres") {
    auto uri = SharedPgCluster().CreateDatabase("engine");
    if (!uri.ok()) return uri.status();
    // A loaded CI machine (two suites and the cluster on two cores) once took longer than the
    // pool's 5 s connect timeout right after CREATE DATABASE: connecting is tried again then.
    auto store = OpenPostgresStore(*uri);
    for (int attempt = 1; attempt < 3 && !store.ok() && store.status().code() == Status::Code::kUnavailable; ++attempt) {
      store = OpenPostgresStore(*uri);
    }
    return store;
  }
  return OpenMemoryStore();
}

struct EngineFixture {
  ManualClock clock;
  KefuConfig config;
  std::unique_ptr<Engine> engine;

  explicit EngineFixture(std::vector<DeskConfig> desks = {ShopDesk()}) {
    config.desks = std::move(desks);
    auto store = OpenTestStore();
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    auto opened = Engine::Open(config, std::move(*store), &clock, TestOptions());
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    engine = std::move(*opened);
  }

  StartResult Start(const std::string& desk = "shop") {
    StartRequest r;
    r.desk = desk;
    auto s = engine->StartConversation(r);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    return *s;
  }

  CustomerTurn Say(const std::string& conversation, const std::string& text, const std::string& cmid = "") {
    CustomerMessageRequest r;
    r.conversation_id = conversation;
    r.text = text;
    r.client_msg_id = cmid;
    auto t = engine->PostCustomerMessage(r);
    REQUIRE_MESSAGE(t.ok(), t.status().ToString());
    return *t;
  }

  AgentIdentity Agent(const std::string& username, int capacity = 3, const std::string& desk = "shop",
                      std::vector<std::string> teams = {}) {
    Status s = engine->CreateAgent(desk, username, "password-" + username, "", teams, capacity);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    auto token = engine->Login(desk, username, "password-" + username);
    REQUIRE(token.ok());
    auto id = engine->AuthenticateAgent(*token);
    REQUIRE(id.ok());
    return *id;
  }

  ConversationView View(const std::string& conversation) {
    auto v = engine->GetConversation(conversation);
    REQUIRE(v.ok());
    return *v;
  }
};

}  // namespace kefu::testing

#endif  // KEFU_TESTS_ENGINE_ENGINE_FIXTURE_H_
