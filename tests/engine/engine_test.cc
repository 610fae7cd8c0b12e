// The conversation engine driven directly: the bot path, escalation, routing, agents, tickets,
// timers on a manual clock, authorisation, idempotency, and restart on the same store.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/engine.h"
#include "engine/engine_fixture.h"
#include "engine/test_util.h"

namespace kefu {
namespace {

using testing::EngineFixture;

bool HasKind(const std::vector<Message>& messages, MessageKind kind) {
  for (const Message& m : messages) {
    if (m.kind == kind) return true;
  }
  return false;
}

TEST_CASE("a FAQ question is answered by the bot from the KB entry") {
  EngineFixture f;
  StartResult s = f.Start();
  CHECK(!s.customer_token.empty());
  REQUIRE(s.messages.size() == 1);  // the welcome
  CustomerTurn t = f.Say(s.conversation_id, "how do I return an item");
  REQUIRE(t.messages.size() == 2);
  CHECK(t.messages[0].kind == MessageKind::kCustomer);
  CHECK(t.messages[1].kind == MessageKind::kBot);
  CHECK(t.messages[1].entry_id == "returns.how-to");
  CHECK(t.conversation.state == ConversationState::kBot);
  CHECK(t.messages[1].seq == t.messages[0].seq + 1);
}

TEST_CASE("an unknown question escalates, opens a ticket and tells the customer they wait offline") {
  EngineFixture f;
  StartResult s = f.Start();
  CustomerTurn t = f.Say(s.conversation_id, "what is the meaning of life");
  CHECK(t.conversation.state == ConversationState::kQueued);
  CHECK(t.conversation.ticket == "SHOP-1001");
  REQUIRE(t.conversation.queue.has_value());
  CHECK(t.conversation.queue->position == 1);
  CHECK(t.conversation.queue->agents_online == 0);
  CHECK(t.messages.back().kind == MessageKind::kSystem);
  CHECK(t.messages.back().text.find("offline") != std::string::npos);
  auto stats = f.engine->Stats("shop");
  REQUIRE(stats.ok());
  CHECK(stats->unmatched == 1);
  REQUIRE(stats->top_unmatched.size() == 1);
  CHECK(stats->top_unmatched[0].first == "what is the meaning of life");
}

TEST_CASE("asking for a person escalates with that reason; a handoff entry escalates to its team") {
  EngineFixture f;
  StartResult a = f.Start();
  CHECK(f.Say(a.conversation_id, "talk to a human").conversation.escalation == EscalationReason::kAskedForPerson);
  StartResult b = f.Start();
  CustomerTurn t = f.Say(b.conversation_id, "my parcel arrived damaged");
  CHECK(t.conversation.escalation == EscalationReason::kHandoffEntry);
  CHECK(t.conversation.team == "shipping");
}

TEST_CASE("the whole human path: routing, reply, first response, resolve, one rating per resolution") {
  EngineFixture f;
  StartResult s = f.Start();
  f.Say(s.conversation_id, "talk to a human");
  AgentIdentity alice = f.Agent("alice");
  REQUIRE(f.engine->SetPresence(alice, AgentPresence::kOnline).ok());
  ConversationView v = f.View(s.conversation_id);
  CHECK(v.state == ConversationState::kAgent);
  CHECK(v.assignee == "alice");
  f.clock.Advance(30 * kMicrosPerSecond);
  auto reply = f.engine->Reply(alice, s.conversation_id, "Hi, I'm Alice. How can I help?");
  REQUIRE(reply.ok());
  CHECK(reply->kind == MessageKind::kAgent);
  CHECK(f.engine->Rate(s.conversation_id, 5).code() == Status::Code::kConflict);  // not resolved yet
  REQUIRE(f.engine->Resolve(alice, s.conversation_id).ok());
  CHECK(f.View(s.conversation_id).state == ConversationState::kResolved);
  CHECK(f.View(s.conversation_id).can_rate);
  CHECK(f.engine->Rate(s.conversation_id, 0).code() == Status::Code::kInvalidArgument);
  REQUIRE(f.engine->Rate(s.conversation_id, 4).ok());
  CHECK(f.engine->Rate(s.conversation_id, 5).code() == Status::Code::kConflict);
  auto stats = f.engine->Stats("shop");
  REQUIRE(stats.ok());
  CHECK(stats->first_response_p50 >= 30 * kMicrosPerSecond);
  CHECK(stats->first_response_p50 <= 32 * kMicrosPerSecond);
  CHECK(stats->csat_count == 1);
  CHECK(stats->csat_average == doctest::Approx(4.0));
  CHECK(stats->resolved == 1);
  CHECK(stats->resolved_by_bot == 0);
}

TEST_CASE("an agent at capacity gets no more; a freed seat takes the next in queue order") {
  EngineFixture f;
  AgentIdentity bob = f.Agent("bob", 1);
  REQUIRE(f.engine->SetPresence(bob, AgentPresence::kOnline).ok());
  StartResult first = f.Start();
  StartResult second = f.Start();
  f.Say(first.conversation_id, "talk to a human");
  f.clock.Advance(kMicrosPerSecond);
  f.Say(second.conversation_id, "talk to a human");
  CHECK(f.View(first.conversation_id).state == ConversationState::kAgent);
  CHECK(f.View(second.conversation_id).state == ConversationState::kQueued);
  CHECK(f.View(second.conversation_id).queue->position == 1);
  auto claim = f.engine->Claim(bob, second.conversation_id);
  CHECK(claim.status().code() == Status::Code::kConflict);  // at capacity
  REQUIRE(f.engine->Resolve(bob, first.conversation_id).ok());
  CHECK(f.View(second.conversation_id).state == ConversationState::kAgent);
}

TEST_CASE("routing prefers the agent with most free seats and serves only their teams") {
  EngineFixture f;
  AgentIdentity ann = f.Agent("ann", 3, "shop", {"shipping"});
  AgentIdentity ben = f.Agent("ben", 3, "shop", {"billing"});
  REQUIRE(f.engine->SetPresence(ann, AgentPresence::kOnline).ok());
  REQUIRE(f.engine->SetPresence(ben, AgentPresence::kOnline).ok());
  StartResult s = f.Start();
  f.Say(s.conversation_id, "my parcel arrived damaged");  // team shipping
  CHECK(f.View(s.conversation_id).assignee == "ann");
}

TEST_CASE("a repeated client_msg_id is accepted once") {
  EngineFixture f;
  StartResult s = f.Start();
  CustomerTurn first = f.Say(s.conversation_id, "where is my order", "m-1");
  CustomerTurn again = f.Say(s.conversation_id, "where is my order", "m-1");
  CHECK_FALSE(first.duplicate);
  CHECK(again.duplicate);
  REQUIRE(again.messages.size() == first.messages.size());
  CHECK(again.messages[0].seq == first.messages[0].seq);
  auto history = f.engine->History(s.conversation_id, 0, 100, false);
  REQUIRE(history.ok());
  CHECK(history->size() == 3);  // welcome, question, answer
}

TEST_CASE("a customer token opens only its own conversation") {
  EngineFixture f;
  StartResult a = f.Start();
  StartResult b = f.Start();
  CHECK(f.engine->AuthorizeCustomer(a.conversation_id, a.customer_token).ok());
  CHECK(f.engine->AuthorizeCustomer(b.conversation_id, a.customer_token).code() == Status::Code::kNotFound);
  CHECK(f.engine->AuthorizeCustomer(a.conversation_id, "not-a-token").code() == Status::Code::kUnauthenticated);
  CHECK(f.engine->AuthorizeCustomer(a.conversation_id, "").code() == Status::Code::kUnauthenticated);
  CHECK(f.engine->AuthorizeCustomer("0000", a.customer_token).code() == Status::Code::kNotFound);
}

TEST_CASE("an agent reaches only their own desk") {
  EngineFixture f({testing::ShopDesk(), testing::HrDesk()});
  StartResult hr = f.Start("hr");
  f.Say(hr.conversation_id, "转人工");
  AgentIdentity shop_agent = f.Agent("sam");
  CHECK(f.engine->AgentGetConversation(shop_agent, hr.conversation_id).status().code() == Status::Code::kNotFound);
  CHECK(f.engine->Claim(shop_agent, hr.conversation_id).status().code() == Status::Code::kNotFound);
  CHECK(f.engine->Reply(shop_agent, hr.conversation_id, "hi").status().code() == Status::Code::kNotFound);
  CHECK(f.engine->AgentHistory(shop_agent, hr.conversation_id, 0, 10).status().code() == Status::Code::kNotFound);
  auto queue = f.engine->Queue(shop_agent);
  REQUIRE(queue.ok());
  CHECK(queue->empty());
}

TEST_CASE("agent login: wrong password, lockout after repeated failures, expiry") {
  EngineFixture f;
  REQUIRE(f.engine->CreateAgent("shop", "carol", "correct-horse", "Carol", {}, 3).ok());
  CHECK(f.engine->CreateAgent("shop", "carol", "correct-horse", "", {}, 3).code() == Status::Code::kConflict);
  CHECK(f.engine->CreateAgent("shop", "Bad Name", "correct-horse", "", {}, 3).code() ==
        Status::Code::kInvalidArgument);
  CHECK(f.engine->Login("shop", "carol", "wrong").status().code() == Status::Code::kUnauthenticated);
  CHECK(f.engine->Login("nope", "carol", "correct-horse").status().code() == Status::Code::kUnauthenticated);
  auto token = f.engine->Login("shop", "carol", "correct-horse");
  REQUIRE(token.ok());
  CHECK(f.engine->AuthenticateAgent(*token).ok());
  for (int i = 0; i < 5; ++i) f.engine->Login("shop", "carol", "wrong");
  CHECK(f.engine->Login("shop", "carol", "correct-horse").status().code() == Status::Code::kResourceExhausted);
  f.clock.Advance(6 * kMicrosPerMinute);
  CHECK(f.engine->Login("shop", "carol", "correct-horse").ok());
  f.clock.Advance(13 * kMicrosPerHour);
  CHECK(f.engine->AuthenticateAgent(*token).status().code() == Status::Code::kUnauthenticated);
}

TEST_CASE("timers: idle bot conversations resolve, silent agents go offline and their customers go first") {
  EngineFixture f;
  StartResult idle = f.Start();
  f.Say(idle.conversation_id, "where is my order");
  AgentIdentity dan = f.Agent("dan");
  REQUIRE(f.engine->SetPresence(dan, AgentPresence::kOnline).ok());
  StartResult served = f.Start();
  f.Say(served.conversation_id, "talk to a human");
  CHECK(f.View(served.conversation_id).assignee == "dan");
  f.clock.Advance(31 * kMicrosPerMinute);
  REQUIRE(f.engine->RunTimers().ok());
  CHECK(f.View(idle.conversation_id).state == ConversationState::kResolved);
  ConversationView v = f.View(served.conversation_id);
  CHECK(v.state == ConversationState::kQueued);
  CHECK(v.priority == 1);
  auto stats = f.engine->Stats("shop");
  CHECK(stats->sla_breaches == 1);  // escalated 31 minutes ago, never answered
  CHECK(stats->resolved_by_bot == 1);
}

TEST_CASE("a reopened conversation goes back to its last agent only while they are online with a free seat") {
  EngineFixture f;
  AgentIdentity eve = f.Agent("eve");
  REQUIRE(f.engine->SetPresence(eve, AgentPresence::kOnline).ok());
  StartResult s = f.Start();
  f.Say(s.conversation_id, "talk to a human");
  REQUIRE(f.engine->Resolve(eve, s.conversation_id).ok());
  f.Say(s.conversation_id, "one more thing");
  CHECK(f.View(s.conversation_id).state == ConversationState::kAgent);
  REQUIRE(f.engine->Resolve(eve, s.conversation_id).ok());
  REQUIRE(f.engine->SetPresence(eve, AgentPresence::kOffline).ok());
  CustomerTurn t = f.Say(s.conversation_id, "where is my order");
  CHECK(t.conversation.state == ConversationState::kBot);
  CHECK(HasKind(t.messages, MessageKind::kBot));
}

TEST_CASE("clarifications in a row beyond the limit escalate; an unhelpful answer escalates") {
  EngineFixture f;
  StartResult s = f.Start();
  CustomerTurn answered = f.Say(s.conversation_id, "how do I return an item");
  const uint64_t seq = answered.messages.back().seq;
  auto fb = f.engine->GiveFeedback(s.conversation_id, seq, false);
  REQUIRE(fb.ok());
  CHECK(fb->conversation.state == ConversationState::kQueued);
  CHECK(fb->conversation.escalation == EscalationReason::kUnhelpfulAnswer);
  CHECK(f.engine->GiveFeedback(s.conversation_id, seq - 1, true).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("a pending ticket frees the agent's seat, and solving it tells the customer") {
  EngineFixture f;
  AgentIdentity fay = f.Agent("fay", 1);
  REQUIRE(f.engine->SetPresence(fay, AgentPresence::kOnline).ok());
  StartResult s = f.Start();
  f.Say(s.conversation_id, "talk to a human");
  const std::string ticket = f.View(s.conversation_id).ticket;
  TicketUpdate pending;
  pending.status = TicketStatus::kPending;
  pending.remind_at = f.clock.NowMicros() + kMicrosPerHour;
  REQUIRE(f.engine->UpdateTicket(fay, ticket, pending).ok());
  CHECK(f.View(s.conversation_id).state == ConversationState::kResolved);
  StartResult other = f.Start();
  f.Say(other.conversation_id, "talk to a human");
  CHECK(f.View(other.conversation_id).assignee == "fay");  // the seat was free
  auto pending_list = f.engine->Tickets(fay, TicketStatus::kPending);
  REQUIRE(pending_list.ok());
  CHECK(pending_list->size() == 1);
  TicketUpdate solved;
  solved.status = TicketStatus::kSolved;
  solved.note = "Payroll corrected it.";
  auto t = f.engine->UpdateTicket(fay, ticket, solved);
  REQUIRE(t.ok());
  CHECK(t->customer_notified);
  auto history = f.engine->History(s.conversation_id, 0, 100, false);
  REQUIRE(history.ok());
  CHECK(history->back().text.find("Payroll corrected it.") != std::string::npos);
  auto mine = f.engine->CustomerTickets(s.conversation_id);
  REQUIRE(mine.ok());
  REQUIRE(mine->size() == 1);
  CHECK(mine->front().status == TicketStatus::kSolved);
}

TEST_CASE("notes are internal and suggestions come from the KB") {
  EngineFixture f;
  AgentIdentity gil = f.Agent("gil");
  REQUIRE(f.engine->SetPresence(gil, AgentPresence::kOnline).ok());
  StartResult s = f.Start();
  f.Say(s.conversation_id, "talk to a human");
  f.Say(s.conversation_id, "I want to send back the shoes I bought");
  REQUIRE(f.engine->AddNote(gil, s.conversation_id, "VIP customer").ok());
  auto customer_view = f.engine->History(s.conversation_id, 0, 100, false);
  auto agent_view = f.engine->AgentHistory(gil, s.conversation_id, 0, 100);
  REQUIRE(customer_view.ok());
  REQUIRE(agent_view.ok());
  CHECK_FALSE(HasKind(*customer_view, MessageKind::kNote));
  CHECK(HasKind(*agent_view, MessageKind::kNote));
  auto suggestions = f.engine->Suggestions(gil, s.conversation_id);
  REQUIRE(suggestions.ok());
  REQUIRE(!suggestions->empty());
  CHECK(suggestions->front().entry_id.rfind("returns.", 0) == 0);
}

TEST_CASE("the hr desk answers Chinese from the Chinese KB and English from the English one") {
  EngineFixture f({testing::HrDesk()});
  StartResult s = f.Start("hr");
  CustomerTurn zh = f.Say(s.conversation_id, "我想请年假怎么申请");
  CHECK(zh.messages.back().entry_id == "leave.annual.apply");
  CHECK(zh.messages.back().text.find("年假") != std::string::npos);
  CustomerTurn en = f.Say(s.conversation_id, "How do I apply for annual leave?");
  CHECK(en.messages.back().entry_id == "leave.annual.apply");
  CHECK(en.messages.back().text.find("leave") != std::string::npos);
}

TEST_CASE("a restart restores conversations, queue order, assignments and tickets; a silent agent's presence expires") {
  testing::TempDir dir;
  ManualClock clock;
  KefuConfig config;
  config.desks = {testing::ShopDesk()};
  std::string waiting_first, waiting_second, served;
  {
    auto store = OpenLevelDbStore(dir.Sub("data"));
    REQUIRE(store.ok());
    auto engine = Engine::Open(config, std::move(*store), &clock, testing::TestOptions());
    REQUIRE(engine.ok());
    Engine& e = **engine;
    REQUIRE(e.CreateAgent("shop", "hal", "password-hal", "Hal", {}, 1).ok());
    auto token = e.Login("shop", "hal", "password-hal");
    auto hal = e.AuthenticateAgent(*token);
    REQUIRE(e.SetPresence(*hal, AgentPresence::kOnline).ok());
    for (std::string* id : {&served, &waiting_first, &waiting_second}) {
      auto s = e.StartConversation(StartRequest{"shop"});
      REQUIRE(s.ok());
      *id = s->conversation_id;
      CustomerMessageRequest r;
      r.conversation_id = *id;
      r.text = "talk to a human";
      REQUIRE(e.PostCustomerMessage(r).ok());
      clock.Advance(kMicrosPerSecond);
    }
  }
  auto store = OpenLevelDbStore(dir.Sub("data"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(config, std::move(*store), &clock, testing::TestOptions());
  REQUIRE(engine.ok());
  Engine& e = **engine;
  CHECK(e.GetConversation(served)->assignee == "hal");
  CHECK(e.GetConversation(waiting_first)->queue->position == 1);
  CHECK(e.GetConversation(waiting_second)->queue->position == 2);
  CHECK(e.GetConversation(waiting_second)->ticket == "SHOP-1003");
  auto token = e.Login("shop", "hal", "password-hal");
  REQUIRE(token.ok());
  auto hal = e.AuthenticateAgent(*token);
  auto queue = e.Queue(*hal);
  REQUIRE(queue.ok());
  REQUIRE(queue->size() == 2);
  CHECK(queue->front().id == waiting_first);
  // Presence is in the store: it outlives the process, and the heartbeat timer ends it when the
  // agent's console stays silent (as on another node of a shared store).
  auto gauges = e.Gauges();
  CHECK(gauges.front().agents_online == 1);
  CHECK(gauges.front().serving == 1);
  clock.Advance(91 * kMicrosPerSecond);
  REQUIRE(e.RunTimers().ok());
  gauges = e.Gauges();
  CHECK(gauges.front().agents_online == 0);
  CHECK(gauges.front().serving == 0);
  CHECK(e.GetConversation(served)->queue->position == 1);  // first in line again
  CHECK(e.GetConversation(waiting_first)->queue->position == 2);
  // New tickets continue the numbering.
  auto s = e.StartConversation(StartRequest{"shop"});
  CustomerMessageRequest r;
  r.conversation_id = s->conversation_id;
  r.text = "talk to a human";
  auto t = e.PostCustomerMessage(r);
  REQUIRE(t.ok());
  CHECK(t->conversation.ticket == "SHOP-1004");
}

TEST_CASE("bad input changes nothing") {
  EngineFixture f;
  StartResult s = f.Start();
  CustomerMessageRequest r;
  r.conversation_id = s.conversation_id;
  r.text = "   ";
  CHECK(f.engine->PostCustomerMessage(r).status().code() == Status::Code::kInvalidArgument);
  r.text = std::string(3000, 'a');
  CHECK(f.engine->PostCustomerMessage(r).status().code() == Status::Code::kInvalidArgument);
  r.text = "bad \xff utf8";
  CHECK(f.engine->PostCustomerMessage(r).status().code() == Status::Code::kInvalidArgument);
  r.text = "hello";
  r.choice = "no.such.entry";
  CHECK(f.engine->PostCustomerMessage(r).status().code() == Status::Code::kInvalidArgument);
  CHECK(f.View(s.conversation_id).last_seq == 1);
  CHECK(f.engine->StartConversation(StartRequest{"nope"}).status().code() == Status::Code::kNotFound);
}

TEST_CASE("a verified app user resumes the same conversation from another device") {
  EngineFixture f;
  StartRequest r;
  r.desk = "shop";
  r.channel = Channel::kApp;
  r.verified_user = "user-42";
  auto first = f.engine->StartConversation(r);
  REQUIRE(first.ok());
  f.Say(first->conversation_id, "where is my order");
  auto second = f.engine->StartConversation(r);
  REQUIRE(second.ok());
  CHECK(second->resumed);
  CHECK(second->conversation_id == first->conversation_id);
  CHECK(second->messages.size() == 3);
  CHECK(f.engine->AuthorizeCustomer(first->conversation_id, second->customer_token).ok());
}

TEST_CASE("the customer's thanks or a helpful vote on the last answer resolves a bot conversation as the bot's") {
  testing::EngineFixture f;
  const std::string voted = f.Start().conversation_id;
  CustomerTurn answer = f.Say(voted, "How long does delivery take?");
  REQUIRE(!answer.messages.back().entry_id.empty());
  auto vote = f.engine->GiveFeedback(voted, answer.messages.back().seq, true);
  REQUIRE(vote.ok());
  CHECK(vote->conversation.state == ConversationState::kResolved);

  const std::string thanked = f.Start().conversation_id;
  REQUIRE(!f.Say(thanked, "How long does delivery take?").messages.back().entry_id.empty());
  CustomerTurn thanks = f.Say(thanked, "thanks a lot");
  CHECK(thanks.messages.back().kind == MessageKind::kBot);  // the bot still says you're welcome
  CHECK(thanks.conversation.state == ConversationState::kResolved);

  // Not a resolution: thanks as the first word, or a vote on an answer the customer went past.
  const std::string first = f.Start().conversation_id;
  CHECK(f.Say(first, "thanks").conversation.state == ConversationState::kBot);
  const std::string moved_on = f.Start().conversation_id;
  CustomerTurn old = f.Say(moved_on, "How long does delivery take?");
  f.Say(moved_on, "Do you ship abroad?");
  auto late = f.engine->GiveFeedback(moved_on, old.messages.back().seq, true);
  REQUIRE(late.ok());
  CHECK(late->conversation.state == ConversationState::kBot);

  auto stats = f.engine->Stats("shop");
  REQUIRE(stats.ok());
  CHECK(stats->resolved == 2);
  CHECK(stats->resolved_by_bot == 2);
  CHECK(stats->bot_open == 2);  // `first` and `moved_on` are still with the bot
}

TEST_CASE("a customer who leaves after an answer resolves the conversation as the bot's; one still there does not") {
  testing::EngineFixture f;  // the shop desk's customer_gone_seconds: 600 (the default)
  const std::string left = f.Start().conversation_id;
  REQUIRE(!f.Say(left, "How long does delivery take?").messages.back().entry_id.empty());
  const std::string reading = f.Start().conversation_id;  // the widget stays open
  REQUIRE(!f.Say(reading, "How long does delivery take?").messages.back().entry_id.empty());
  const std::string unanswered = f.Start().conversation_id;  // left, but the bot only clarified
  CustomerTurn vague = f.Say(unanswered, "order");
  REQUIRE(vague.messages.back().entry_id.empty());
  REQUIRE(vague.conversation.state == ConversationState::kBot);

  for (int minute = 1; minute <= 11; ++minute) {
    f.clock.Advance(kMicrosPerMinute);
    REQUIRE(f.engine->CustomerSeen(reading).ok());  // its SSE stream, about every 200 s
    REQUIRE(f.engine->RunTimers().ok());
  }
  CHECK(f.View(left).state == ConversationState::kResolved);
  CHECK(f.View(reading).state == ConversationState::kBot);
  CHECK(f.View(unanswered).state == ConversationState::kBot);
  auto stats = f.engine->Stats("shop");
  REQUIRE(stats.ok());
  CHECK(stats->resolved_by_bot == 1);
  CHECK(stats->bot_open == 2);

  f.clock.Advance(30 * kMicrosPerMinute);  // nothing from either for the idle timeout
  REQUIRE(f.engine->RunTimers().ok());
  CHECK(f.View(reading).state == ConversationState::kResolved);
  CHECK(f.View(unanswered).state == ConversationState::kResolved);
  CHECK(f.Say(left, "and returns?").conversation.state == ConversationState::kBot);  // back again: reopened
}

TEST_CASE("the unanswered questions are those the bot escalated or a customer voted unhelpful, not what it answered") {
  testing::EngineFixture f;
  const std::string answered = f.Start().conversation_id;
  REQUIRE(!f.Say(answered, "How long does delivery take?").messages.back().entry_id.empty());
  REQUIRE(f.engine->RequestHandoff(answered).ok());  // wants a person after an answer: no KB gap

  const std::string unhelpful = f.Start().conversation_id;
  CustomerTurn answer = f.Say(unhelpful, "Do you ship abroad?");
  REQUIRE(!answer.messages.back().entry_id.empty());
  REQUIRE(f.engine->GiveFeedback(unhelpful, answer.messages.back().seq, false).ok());

  const std::string unknown = f.Start().conversation_id;
  f.Say(unknown, "what is the meaning of life");

  auto stats = f.engine->Stats("shop");
  REQUIRE(stats.ok());
  CHECK(stats->unmatched == 1);
  std::vector<std::string> questions;
  for (const auto& [q, n] : stats->top_unmatched) questions.push_back(q);
  std::sort(questions.begin(), questions.end());
  CHECK(questions == std::vector<std::string>{"do you ship abroad", "what is the meaning of life"});
  CHECK(stats->bot_open == 0);  // all three went to the line
}

TEST_CASE("a failed claim says which cause it was, and people are shown by their display names") {
  testing::EngineFixture f;
  REQUIRE(f.engine->CreateAgent("shop", "li.na", "password-li.na", "Li Na", {}, 1).ok());
  std::string name;
  auto token = f.engine->Login("shop", "li.na", "password-li.na", &name);
  REQUIRE(token.ok());
  CHECK(name == "Li Na");
  auto li = f.engine->AuthenticateAgent(*token);
  REQUIRE(li.ok());
  AgentIdentity bo = f.Agent("bo", 1);
  auto reason = [&](const AgentIdentity& who, const std::string& conversation) {
    auto r = f.engine->Claim(who, conversation);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == Status::Code::kConflict);
    return r.status().reason() + ": " + r.status().message();
  };

  const std::string first = f.Start().conversation_id;
  f.Say(first, "talk to a human");
  CHECK(reason(bo, first) == "offline: go online or away to claim conversations");
  REQUIRE(f.engine->SetPresence(*li, AgentPresence::kOnline).ok());  // routing gives it to Li Na
  REQUIRE(f.engine->SetPresence(bo, AgentPresence::kAway).ok());
  CHECK(reason(bo, first) == "taken: Li Na has already taken this conversation");
  CHECK(reason(*li, first) == "yours: you already serve this conversation");
  const std::string second = f.Start().conversation_id;
  f.Say(second, "talk to a human");
  CHECK(reason(*li, second).rfind("full: ", 0) == 0);
  const std::string with_bot = f.Start().conversation_id;
  CHECK(reason(bo, with_bot) == "not_waiting: the conversation is not waiting in the queue");

  auto reply = f.engine->Reply(*li, first, "Hello, Li Na here.");
  REQUIRE(reply.ok());
  CHECK(reply->author == "li.na");
  CHECK(reply->author_name == "Li Na");
  auto history = f.engine->History(first, 0, 100, true);
  REQUIRE(history.ok());
  CHECK(history->back().author_name == "Li Na");  // as stored, not only as returned
}

}  // namespace
}  // namespace kefu
