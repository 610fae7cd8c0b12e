// The store is the authority: concurrent operations settle by the store's locks, stats come from
// rollups of events, the working set stays within its budget, and a data directory of the layout
// before (records only, every index rebuilt in memory at start) is upgraded once and keeps working.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "engine/engine.h"
#include "engine/engine_fixture.h"
#include "engine/migrate.h"
#include "engine/records.h"
#include "engine/test_util.h"

namespace kefu {
namespace {

using testing::EngineFixture;

int CustomerMessagesWith(Engine& e, const std::string& conversation, const std::string& client_msg_id) {
  auto history = e.History(conversation, 0, 100000, false);
  REQUIRE(history.ok());
  int n = 0;
  for (const Message& m : *history) n += m.kind == MessageKind::kCustomer && m.client_msg_id == client_msg_id;
  return n;
}

TEST_CASE("two concurrent requests with the same client_msg_id store the message once") {
  EngineFixture f;
  for (int round = 0; round < 20; ++round) {
    StartResult s = f.Start();
    const std::string cmid = "retry-" + std::to_string(round);
    std::atomic<int> duplicates{0}, ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        CustomerMessageRequest r;
        r.conversation_id = s.conversation_id;
        r.text = "how do I return an item";
        r.client_msg_id = cmid;
        auto turn = f.engine->PostCustomerMessage(r);
        if (!turn.ok()) return;
        ++ok;
        duplicates += turn->duplicate;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(ok == 4);
    CHECK(duplicates == 3);
    CHECK(CustomerMessagesWith(*f.engine, s.conversation_id, cmid) == 1);
  }
}

TEST_CASE("two agents claiming the same conversation at once: exactly one gets it, capacity holds") {
  EngineFixture f;
  AgentIdentity ana = f.Agent("ana", 1), bo = f.Agent("bo", 1);
  std::vector<std::string> waiting;
  for (int i = 0; i < 6; ++i) {
    StartResult s = f.Start();
    f.Say(s.conversation_id, "talk to a human");
    waiting.push_back(s.conversation_id);
  }
  REQUIRE(f.engine->SetPresence(ana, AgentPresence::kAway).ok());  // away: claims, no routing
  REQUIRE(f.engine->SetPresence(bo, AgentPresence::kAway).ok());
  std::atomic<int> claimed{0};
  std::thread a([&] {
    for (const std::string& id : waiting) claimed += f.engine->Claim(ana, id).ok();
  });
  std::thread b([&] {
    for (const std::string& id : waiting) claimed += f.engine->Claim(bo, id).ok();
  });
  a.join();
  b.join();
  CHECK(claimed == 2);  // capacity 1 each
  CHECK(f.engine->AgentConversations(ana)->size() == 1);
  CHECK(f.engine->AgentConversations(bo)->size() == 1);
  CHECK(f.engine->Queue(ana)->size() == 4);
}

TEST_CASE("stats come from rollups: the same before and after the fold and after a restart") {
  testing::TempDir dir;
  ManualClock clock;
  KefuConfig config;
  config.desks = {testing::ShopDesk()};
  DeskStats before;
  {
    auto store = OpenLevelDbStore(dir.Sub("data"));
    REQUIRE(store.ok());
    auto engine = Engine::Open(config, std::move(*store), &clock, testing::TestOptions());
    REQUIRE(engine.ok());
    for (int i = 0; i < 5; ++i) {
      auto s = (*engine)->StartConversation(StartRequest{"shop"});
      CustomerMessageRequest r;
      r.conversation_id = s->conversation_id;
      r.text = i % 2 ? "how do I return an item" : "what is the meaning of life";
      REQUIRE((*engine)->PostCustomerMessage(r).ok());
    }
    before = *(*engine)->Stats("shop");  // every event still pending the fold
    CHECK(before.conversations == 5);
    CHECK(before.customer_messages == 5);
    CHECK(before.escalations == 3);
    REQUIRE((*engine)->RunTimers().ok());  // folds them
    DeskStats folded = *(*engine)->Stats("shop");
    CHECK(folded.conversations == 5);
    CHECK(folded.escalations == 3);
    CHECK(folded.bot_answers == before.bot_answers);
    auto hours = (*engine)->HourlyStats("shop", 0, 0);
    REQUIRE(hours.ok());
    REQUIRE(hours->size() == 1);
    CHECK(hours->front().conversations == 5);
  }
  auto store = OpenLevelDbStore(dir.Sub("data"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(config, std::move(*store), &clock, testing::TestOptions());
  REQUIRE(engine.ok());
  DeskStats after = *(*engine)->Stats("shop");
  CHECK(after.conversations == before.conversations);
  CHECK(after.unmatched == before.unmatched);
  CHECK(after.top_unmatched == before.top_unmatched);
}

TEST_CASE("the working set keeps within its budget while conversations go on") {
  ManualClock clock;
  KefuConfig config;
  config.desks = {testing::ShopDesk()};
  auto store = testing::OpenTestStore();
  REQUIRE(store.ok());
  EngineOptions options = testing::TestOptions();
  options.cache_bytes = 256 << 10;
  auto engine = Engine::Open(config, std::move(*store), &clock, options);
  REQUIRE(engine.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) {
    auto s = (*engine)->StartConversation(StartRequest{"shop"});
    REQUIRE(s.ok());
    ids.push_back(s->conversation_id);
    CustomerMessageRequest r;
    r.conversation_id = s->conversation_id;
    r.text = "how do I return an item";
    REQUIRE((*engine)->PostCustomerMessage(r).ok());
  }
  CHECK((*engine)->GetEngineStats().cache_bytes <= options.cache_bytes);
  // Evicted conversations load again from the store.
  CHECK((*engine)->GetConversation(ids.front())->last_seq == 3);
}

// ---- The upgrade from layout 1 -------------------------------------------------------------------

// Writes what kefu before layout 2 kept: records only, under their old keys.
void WriteLayout1(Store& store, int64_t t0) {
  StoreBatch b;
  Agent hal;
  hal.desk = "shop";
  hal.username = "hal";
  hal.password_hash = "x";
  hal.capacity = 2;
  b.Put("a/shop/hal", EncodeAgent(hal));
  auto conversation = [&](const std::string& id, ConversationState state, int64_t created) {
    Conversation c;
    c.id = id;
    c.desk = "shop";
    c.customer = "web:" + id;
    c.customer_token_hash = "hash-" + id;
    c.state = state;
    c.created_at = c.last_activity_at = created;
    c.last_seq = 1;
    if (state == ConversationState::kQueued) {
      c.team = "general";
      c.enqueued_at = c.escalated_at = created;
      c.ticket = "SHOP-" + std::to_string(1000 + created % 100);
    }
    if (state == ConversationState::kAgent) c.assignee = c.last_agent = "hal";
    b.Put("c/shop/" + id, EncodeConversation(c));
    Message m;
    m.seq = 1;
    m.kind = MessageKind::kCustomer;
    m.text = "hello";
    m.at = created;
    m.client_msg_id = "cm-" + id;
    b.Put("m/" + id + "/000000000001", EncodeMessage(m));
  };
  conversation("c1", ConversationState::kQueued, t0 + 2);
  conversation("c2", ConversationState::kQueued, t0 + 1);
  conversation("c3", ConversationState::kAgent, t0);
  conversation("c4", ConversationState::kResolved, t0);
  Ticket t;
  t.id = "SHOP-1001";
  t.desk = "shop";
  t.number = 1001;
  t.conversation = "c2";
  t.customer = "web:c2";
  b.Put("t/shop/000000001001", EncodeTicket(t));
  t.id = "SHOP-1002";
  t.number = 1002;
  t.conversation = "c1";
  t.customer = "web:c1";
  b.Put("t/shop/000000001002", EncodeTicket(t));
  // Events in the old numbering: c4 started, escalated, was served and resolved.
  const std::pair<ConversationState, ConversationState> moves[] = {
      {ConversationState::kNew, ConversationState::kBot},
      {ConversationState::kBot, ConversationState::kQueued},
      {ConversationState::kQueued, ConversationState::kAgent},
      {ConversationState::kAgent, ConversationState::kResolved}};
  uint64_t id = 1;
  Event started;
  started.id = id++;
  started.at = t0;
  started.desk = "shop";
  started.conversation = "c4";
  started.type = EventType::kStarted;
  b.Put("e/shop/0000000000000001", EncodeEvent(started));
  for (const auto& [from, to] : moves) {
    Event e = started;
    e.id = id;
    e.at = t0 + static_cast<int64_t>(id) * kMicrosPerMinute;
    e.type = EventType::kStateChanged;
    e.from = from;
    e.to = to;
    b.Put("e/shop/" + std::string(16 - std::to_string(id).size(), '0') + std::to_string(id), EncodeEvent(e));
    ++id;
  }
  b.Put("d/shop/d1", "{\"id\":\"d1\",\"kind\":\"new_entry\"}");
  REQUIRE(store.Write(b).ok());
}

TEST_CASE("a layout-1 data directory is upgraded once and keeps working; a newer layout is refused") {
  testing::TempDir dir;
  ManualClock clock;
  KefuConfig config;
  config.desks = {testing::ShopDesk()};
  const int64_t t0 = clock.NowMicros() - kMicrosPerHour;
  {
    auto store = OpenLevelDbStore(dir.Sub("data"));
    REQUIRE(store.ok());
    WriteLayout1(**store, t0);
    CHECK(*StoreLayoutVersion(store->get()) == 1);
  }
  auto store = OpenLevelDbStore(dir.Sub("data"));
  REQUIRE(store.ok());
  Store* raw = store->get();
  auto opened = Engine::Open(config, std::move(*store), &clock, testing::TestOptions());
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  Engine& e = **opened;
  CHECK(*StoreLayoutVersion(raw) == kSchemaVersion);
  // The line in its old order, the agent's conversation, tickets, tokens and retries all found.
  AgentIdentity hal{"shop", "hal"};
  auto queue = e.Queue(hal);
  REQUIRE(queue.ok());
  REQUIRE(queue->size() == 2);
  CHECK(queue->front().id == "c2");
  CHECK(queue->front().queue->position == 1);
  CHECK(e.GetConversation("c3")->assignee == "hal");
  CHECK(e.Gauges().front().serving == 1);
  CHECK(e.Gauges().front().queued == 2);
  auto tickets = e.CustomerTickets("c1");
  REQUIRE(tickets.ok());
  REQUIRE(tickets->size() == 1);
  CHECK(tickets->front().id == "SHOP-1002");
  CHECK(e.AuthorizeCustomer("c1", "not-the-token").code() == Status::Code::kUnauthenticated);
  CustomerMessageRequest retry;
  retry.conversation_id = "c4";
  retry.text = "hello";
  retry.client_msg_id = "cm-c4";
  auto turn = e.PostCustomerMessage(retry);
  REQUIRE(turn.ok());
  CHECK(turn->duplicate);
  // Old events counted, with what layout 2's stats need: the wait and the handle time.
  DeskStats stats = *e.Stats("shop");
  CHECK(stats.conversations == 1);
  CHECK(stats.escalations == 1);
  CHECK(stats.resolved == 1);
  CHECK(stats.resolved_by_bot == 0);
  CHECK(stats.queue_wait_p50 >= kMicrosPerMinute);
  CHECK(stats.handle_time_p50 >= kMicrosPerMinute);
  // Ticket numbers continue; the knowledge loop's drafts moved to its namespace.
  auto next = e.StartConversation(StartRequest{"shop"});
  CustomerMessageRequest r;
  r.conversation_id = next->conversation_id;
  r.text = "talk to a human";
  CHECK(e.PostCustomerMessage(r)->conversation.ticket == "SHOP-1003");
  CHECK(e.Side("kn").Get("d/shop/d1")->has_value());
  bool old_left = false;
  REQUIRE(raw->ScanPrefix("c/shop/", [&](std::string_view, std::string_view) { return !(old_left = true); }).ok());
  CHECK_FALSE(old_left);

  StoreBatch newer;
  newer.Put(SchemaKey(), std::to_string(kSchemaVersion + 1));
  REQUIRE(raw->Write(newer).ok());
  Status refused = MigrateStore(raw, &clock);
  CHECK(refused.code() == Status::Code::kUnavailable);
  CHECK(refused.message().find("newer kefu") != std::string::npos);
}

}  // namespace
}  // namespace kefu

namespace kefu {
namespace {

TEST_CASE("a KB uploaded through another process is served after the next timer tick") {
  ManualClock clock;
  KefuConfig config;
  config.desks = {testing::ShopDesk()};
  auto store = testing::OpenTestStore();
  REQUIRE(store.ok());
  Store* raw = store->get();
  auto engine = Engine::Open(config, std::move(*store), &clock, testing::TestOptions());
  REQUIRE(engine.ok());
  auto before = (*engine)->KnowledgeFor("shop", "how do I return an item");
  REQUIRE(before.ok());
  // What another node's upload leaves in a shared store: the KB and the desk's next KB generation.
  KnowledgeBase kb = *before->kb;
  kb.entries.front().answer = "Answered by the KB another node uploaded.";
  StoreBatch upload;
  upload.Put(KbKey("shop", kb.language.empty() ? "default" : kb.language), KnowledgeBaseToJson(kb));
  upload.Put("n/shop/kb", "1");
  REQUIRE(raw->Write(upload).ok());
  REQUIRE((*engine)->RunTimers().ok());
  auto after = (*engine)->KnowledgeFor("shop", "how do I return an item");
  REQUIRE(after.ok());
  CHECK(after->kb->entries.front().answer == "Answered by the KB another node uploaded.");
}

}  // namespace
}  // namespace kefu

namespace kefu {
namespace {

TEST_CASE("a conversation's messages and a customer's open tickets are capped with a clear refusal") {
  ManualClock clock;
  KefuConfig config;
  config.desks = {testing::ShopDesk()};
  auto store = testing::OpenTestStore();
  REQUIRE(store.ok());
  EngineOptions options = testing::TestOptions();
  options.max_messages_per_conversation = 9;
  options.max_open_tickets_per_customer = 1;
  auto engine = Engine::Open(config, std::move(*store), &clock, options);
  REQUIRE(engine.ok());
  Engine& e = **engine;
  auto s = e.StartConversation(StartRequest{"shop"});
  CustomerMessageRequest r;
  r.conversation_id = s->conversation_id;
  r.text = "how do I return an item";
  for (int i = 0; i < 4; ++i) REQUIRE(e.PostCustomerMessage(r).ok());  // welcome + 4 x 2 = 9
  auto refused = e.PostCustomerMessage(r);
  CHECK(refused.status().code() == Status::Code::kResourceExhausted);
  CHECK(refused.status().message().find("start a new conversation") != std::string::npos);
  CHECK(e.GetConversation(s->conversation_id)->last_seq == 9);

  // One open ticket: a follow-up by an agent is refused, and so is another escalation's ticket.
  StartRequest app{"shop"};
  app.verified_user = "u1";
  auto first = e.StartConversation(app);
  r.conversation_id = first->conversation_id;
  r.text = "talk to a human";
  CHECK(e.PostCustomerMessage(r)->conversation.ticket == "SHOP-1001");
  REQUIRE(e.CreateAgent("shop", "ana", "password-ana", "", {}, 3).ok());
  auto token = e.Login("shop", "ana", "password-ana");
  auto ana = e.AuthenticateAgent(*token);
  CHECK(e.OpenFollowUp(*ana, first->conversation_id, "call back").status().code() ==
        Status::Code::kResourceExhausted);
}

}  // namespace
}  // namespace kefu
