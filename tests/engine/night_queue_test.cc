// The line while nobody is there (issue 16, item 3), through the engine on a manual clock: a desk
// open 07:00-19:00 with its agents starting at 09:00. At night a request for a person becomes a
// ticket at once (nobody waits for a live seat while the desk is closed) and the bot keeps serving;
// from 07:00 customers wait in the line, some with their widget open, some gone; at 09:00 two
// agents come online. Nobody who left takes a live seat, everyone present is served in line order,
// and every ticket of a customer who was not served live is answered and reaches them on their
// channel. A gone customer is also caught by routing itself, before any timer sweeps the line.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/engine_fixture.h"

namespace kefu {
namespace {

constexpr char kHuman[] = "can I talk to a human please";

int64_t At(int hour, int minute) { return (static_cast<int64_t>(hour) * 60 + minute) * kMicrosPerMinute; }

DeskConfig HrDeskOpenSevenToSeven() {
  DeskConfig d = testing::HrDesk();
  d.hours.always_open = false;
  d.hours.days = 0x7F;
  d.hours.open_minute = 7 * 60;
  d.hours.close_minute = 19 * 60;
  return d;
}

struct Customer {
  std::string id;
  Channel channel = Channel::kWeb;
  bool present = false;   // keeps the widget open from joining the line on
  int64_t next_seen = 0;  // when the open widget tells the engine again
};

CustomerTurn Ask(testing::EngineFixture& f, const Customer& c, const std::string& text) {
  CustomerMessageRequest r;
  r.conversation_id = c.id;
  r.text = text;
  r.channel = c.channel;
  auto t = f.engine->PostCustomerMessage(r);
  REQUIRE_MESSAGE(t.ok(), t.status().ToString());
  return *t;
}

bool Says(const std::vector<Message>& messages, MessageKind kind, const std::string& part) {
  return std::any_of(messages.begin(), messages.end(), [&](const Message& m) {
    return m.kind == kind && m.text.find(part) != std::string::npos;
  });
}

TEST_CASE("a night and a morning: the closed desk makes tickets, the gone never take a seat, the present are served in order") {
  testing::EngineFixture f({HrDeskOpenSevenToSeven()});
  const int64_t day = f.clock.NowMicros() - f.clock.NowMicros() % (24 * kMicrosPerHour) + 24 * kMicrosPerHour;
  std::vector<AgentIdentity> agents{f.Agent("li.na", 2, "hr"), f.Agent("wang.wei", 2, "hr")};
  for (const AgentIdentity& a : agents) REQUIRE(f.engine->SetPresence(a, AgentPresence::kOffline).ok());

  // The night: four customers ask for a person between 01:00 and 04:00, two of them from WeCom.
  std::vector<Customer> night(4);
  for (size_t i = 0; i < night.size(); ++i) {
    f.clock.Set(day + At(1 + static_cast<int>(i), 0));
    night[i].id = f.Start("hr").conversation_id;
    night[i].channel = i % 2 ? Channel::kWeCom : Channel::kWeb;
    CustomerTurn t = Ask(f, night[i], kHuman);
    CHECK_MESSAGE(t.conversation.state == ConversationState::kBot, "nobody waits in the line at night");
    REQUIRE(!t.conversation.ticket.empty());
    CHECK(Says(t.messages, MessageKind::kSystem, "We are closed now. A person will answer your request (" +
                                                     t.conversation.ticket + ") here when we open."));
    REQUIRE(f.engine->RunTimers().ok());
  }
  {  // The bot still answers what it knows.
    CustomerTurn t = Ask(f, night[0], "How do I apply for annual leave?");
    CHECK(t.messages.back().kind == MessageKind::kBot);
    CHECK(t.messages.back().entry_id == "leave.annual.apply");
  }
  auto queue = f.engine->Queue(agents[0]);
  REQUIRE(queue.ok());
  CHECK(queue->empty());

  // From 07:00 the desk is open with nobody online: eight customers join the line 07:30-08:40.
  // Three leave at once (their widget closed); five keep it open.
  std::vector<Customer> morning(8);
  std::vector<std::string> present_in_order;
  size_t next = 0;
  for (int64_t now = day + At(7, 0); now < day + At(9, 0); now += 30 * kMicrosPerSecond) {
    f.clock.Set(now);
    if (next < morning.size() && now >= day + At(7, 30) + static_cast<int64_t>(next) * 10 * kMicrosPerMinute) {
      Customer& c = morning[next];
      c.id = f.Start("hr").conversation_id;
      c.present = next % 3 != 1;  // 1, 4 and 7 leave
      c.channel = next == 4 ? Channel::kWeCom : Channel::kWeb;
      CustomerTurn t = Ask(f, c, kHuman);
      REQUIRE(t.conversation.state == ConversationState::kQueued);
      if (c.present) present_in_order.push_back(c.id);
      ++next;
    }
    for (Customer& c : morning) {  // an open widget's stream says so when the engine asks
      if (c.id.empty() || !c.present || now < c.next_seen) continue;
      auto every = f.engine->CustomerSeen(c.id);
      REQUIRE(every.ok());
      CHECK(*every <= kMicrosPerMinute);
      c.next_seen = now + *every;
    }
    REQUIRE(f.engine->RunTimers().ok());
  }
  REQUIRE(present_in_order.size() == 5);
  // At 09:00 the leavers have been gone for more than the desk's ten minutes: none is waiting
  // (each is with the bot, or resolved by its idle timeout, its ticket pending either way).
  for (const Customer& c : morning) {
    const ConversationState state = f.View(c.id).state;
    if (c.present) CHECK(state == ConversationState::kQueued);
    else CHECK_MESSAGE((state == ConversationState::kBot || state == ConversationState::kResolved), c.id);
  }

  // 09:00: two agents with two seats each come online.
  f.clock.Set(day + At(9, 0));
  for (const AgentIdentity& a : agents) REQUIRE(f.engine->SetPresence(a, AgentPresence::kOnline).ok());
  REQUIRE(f.engine->RunTimers().ok());
  std::set<std::string> served;
  for (const AgentIdentity& a : agents) {
    auto mine = f.engine->AgentConversations(a);
    REQUIRE(mine.ok());
    CHECK(mine->size() == 2);
    for (const ConversationView& v : *mine) served.insert(v.id);
  }
  CHECK(served == std::set<std::string>(present_in_order.begin(), present_in_order.begin() + 4));
  const ConversationView fifth = f.View(present_in_order[4]);
  CHECK(fifth.state == ConversationState::kQueued);
  REQUIRE(fifth.queue.has_value());
  CHECK(fifth.queue->position == 1);

  // Every ticket of a customer not served live waits, pending, and its answer reaches them.
  auto pending = f.engine->Tickets(agents[0], TicketStatus::kPending);
  REQUIRE(pending.ok());
  std::map<std::string, Customer> by_conversation;
  for (const Customer& c : night) by_conversation[c.id] = c;
  for (const Customer& c : morning) {
    if (!c.present) by_conversation[c.id] = c;
  }
  CHECK(pending->size() == by_conversation.size());
  for (const Ticket& t : *pending) {
    REQUIRE(by_conversation.count(t.conversation) == 1);
    TicketUpdate solve;
    solve.status = TicketStatus::kSolved;
    solve.note = "Answered for " + t.id + ": your HR partner will call you today.";
    auto updated = f.engine->UpdateTicket(agents[1], t.id, solve);
    REQUIRE_MESSAGE(updated.ok(), updated.status().ToString());
    auto history = f.engine->History(t.conversation, 0, 1000, false);
    REQUIRE(history.ok());
    const Message& last = history->back();
    CHECK(last.kind == MessageKind::kSystem);
    CHECK(last.text.find(solve.note) != std::string::npos);
    CHECK_MESSAGE(last.channel == by_conversation[t.conversation].channel, t.id);
    by_conversation.erase(t.conversation);
  }
  CHECK(by_conversation.empty());

  f.clock.Set(day + At(9, 1));
  REQUIRE(f.engine->RunTimers().ok());
  auto stats = f.engine->Stats("hr");
  REQUIRE(stats.ok());
  CHECK(stats->deferred == 7);
  CHECK(stats->withdrawn == 0);
  CHECK(stats->escalations == 12);
}

TEST_CASE("routing itself skips a gone customer: the seat goes to the one behind, the gone one gets their ticket") {
  testing::EngineFixture f;
  const AgentIdentity agent = f.Agent("sam", 1);
  REQUIRE(f.engine->SetPresence(agent, AgentPresence::kOffline).ok());
  const std::string gone = f.Start().conversation_id, present = f.Start().conversation_id;
  REQUIRE(f.Say(gone, kHuman).conversation.state == ConversationState::kQueued);
  f.clock.Advance(5 * kMicrosPerMinute);
  REQUIRE(f.Say(present, kHuman).conversation.state == ConversationState::kQueued);
  f.clock.Advance(6 * kMicrosPerMinute);  // the first customer: 11 minutes without a sign
  REQUIRE(f.engine->CustomerSeen(present).ok());

  REQUIRE(f.engine->SetPresence(agent, AgentPresence::kOnline).ok());  // routes at once, no timer ran
  CHECK(f.View(present).state == ConversationState::kAgent);
  const ConversationView v = f.View(gone);
  CHECK(v.state == ConversationState::kBot);
  auto tickets = f.engine->Tickets(agent, TicketStatus::kPending);
  REQUIRE(tickets.ok());
  REQUIRE(tickets->size() == 1);
  CHECK(tickets->front().id == v.ticket);
  auto history = f.engine->History(gone, 0, 100, false);
  REQUIRE(history.ok());
  CHECK(history->back().text.find("You seem to have stepped away") != std::string::npos);

  // Back later, asking for a person again: the same ticket reopens and they wait in the line.
  CustomerTurn again = f.Say(gone, kHuman);
  CHECK(again.conversation.state == ConversationState::kQueued);
  CHECK(again.conversation.ticket == v.ticket);
  auto open = f.engine->Tickets(agent, TicketStatus::kOpen);
  REQUIRE(open.ok());
  CHECK(std::any_of(open->begin(), open->end(), [&](const Ticket& t) { return t.id == v.ticket; }));
}

TEST_CASE("an open widget keeps a waiting customer in the line however long they wait") {
  testing::EngineFixture f;
  const AgentIdentity agent = f.Agent("sam", 1);
  REQUIRE(f.engine->SetPresence(agent, AgentPresence::kOffline).ok());
  const std::string id = f.Start().conversation_id;
  REQUIRE(f.Say(id, kHuman).conversation.state == ConversationState::kQueued);
  for (int minute = 0; minute < 90; ++minute) {
    f.clock.Advance(kMicrosPerMinute);
    REQUIRE(f.engine->CustomerSeen(id).ok());
    REQUIRE(f.engine->RunTimers().ok());
  }
  CHECK(f.View(id).state == ConversationState::kQueued);
  f.clock.Advance(11 * kMicrosPerMinute);  // the widget closed
  REQUIRE(f.engine->RunTimers().ok());
  CHECK(f.View(id).state == ConversationState::kBot);
}

}  // namespace
}  // namespace kefu
