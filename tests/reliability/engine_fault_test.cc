// The engine on a store whose disk fills up: the refused request is Unavailable (HTTP 503) naming
// the cause, reads keep working, the engine takes requests again once the disk does, and every
// acknowledged message is there exactly once after a restart.
#include <doctest/doctest.h>
#include <leveldb/env.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "tests/engine/engine_fixture.h"
#include "tests/engine/test_util.h"
#include "tests/reliability/fault_env.h"

namespace kefu::testing {
namespace {

using Fault = FaultEnv::Fault;

std::unique_ptr<Engine> OpenEngine(const KefuConfig& config, const std::string& dir, FaultEnv* env, Clock* clock) {
  StoreOptions o;
  o.env = env;
  o.reopen_backoff_min_millis = 5;
  o.reopen_backoff_max_millis = 20;
  auto store = OpenLevelDbStore(dir, o);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  auto engine = Engine::Open(config, std::move(*store), clock, TestOptions());
  REQUIRE_MESSAGE(engine.ok(), engine.status().ToString());
  return std::move(*engine);
}

Result<CustomerTurn> Say(Engine& engine, const std::string& id, const std::string& text, const std::string& cmid) {
  CustomerMessageRequest r;
  r.conversation_id = id;
  r.text = text;
  r.client_msg_id = cmid;
  return engine.PostCustomerMessage(r);
}

TEST_CASE("disk full under the engine: 503-class errors naming the cause, reads work, recovery, nothing acked lost") {
  TempDir tmp;
  FaultEnv env(leveldb::Env::Default());
  ManualClock clock;
  KefuConfig config;
  config.desks = {ShopDesk()};
  std::map<std::string, int> acked;  // client_msg_id -> times acknowledged
  std::string id;
  std::string token;
  {
    auto engine = OpenEngine(config, tmp.Sub("db"), &env, &clock);
    StartRequest start;
    start.desk = "shop";
    auto started = engine->StartConversation(start);
    REQUIRE(started.ok());
    id = started->conversation_id;
    token = started->customer_token;
    for (int i = 0; i < 5; ++i) {
      const std::string cmid = "before-" + std::to_string(i);
      auto turn = Say(*engine, id, "How do I place an order?", cmid);
      REQUIRE_MESSAGE(turn.ok(), turn.status().ToString());
      ++acked[cmid];
    }
    auto before = engine->GetConversation(id);
    REQUIRE(before.ok());

    env.Set(Fault::kDiskFull);
    for (int i = 0; i < 5; ++i) {
      auto turn = Say(*engine, id, "How do I place an order?", "during-" + std::to_string(i));
      REQUIRE(!turn.ok());
      CHECK(turn.status().code() == Status::Code::kUnavailable);
      CHECK_MESSAGE(turn.status().message().find("No space left on device") != std::string::npos, turn.status().ToString());
    }
    auto refused_start = engine->StartConversation(start);
    CHECK(!refused_start.ok());
    // Reads: the conversation and its history as acknowledged; the token still opens it.
    CHECK(engine->AuthorizeCustomer(id, token).ok());
    auto view = engine->GetConversation(id);
    REQUIRE(view.ok());
    CHECK(view->last_seq == before->last_seq);
    auto history = engine->History(id, 0, 1000, false);
    REQUIRE(history.ok());
    CHECK(history->size() == before->last_seq);

    env.Set(Fault::kNone);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    Result<CustomerTurn> turn = Status::Internal("unset");
    while (!(turn = Say(*engine, id, "How do I place an order?", "after-0")).ok() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE_MESSAGE(turn.ok(), turn.status().ToString());
    ++acked["after-0"];
    for (int i = 1; i < 5; ++i) {
      const std::string cmid = "after-" + std::to_string(i);
      REQUIRE(Say(*engine, id, "How do I place an order?", cmid).ok());
      ++acked[cmid];
    }
  }
  // A restart on a healthy disk: every acknowledged message exactly once, seqs 1..n in order.
  auto engine = OpenEngine(config, tmp.Sub("db"), nullptr, &clock);
  auto history = engine->History(id, 0, 1000, false);
  REQUIRE(history.ok());
  std::map<std::string, int> seen;
  uint64_t expected_seq = 1;
  for (const Message& m : *history) {
    CHECK(m.seq == expected_seq++);
    if (m.kind == MessageKind::kCustomer) ++seen[m.client_msg_id];
  }
  for (const auto& [cmid, n] : acked) CHECK_MESSAGE(seen[cmid] == 1, cmid << " seen " << seen[cmid] << " times");
  CHECK(engine->AuthorizeCustomer(id, token).ok());
}

}  // namespace
}  // namespace kefu::testing
