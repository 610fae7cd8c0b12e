// A whole day of the HR desk through the engine on a manual clock: 1,000 employees arriving in
// bursts, asking real-looking questions (the samples' held-out questions), some asking for a
// person or finding an answer unhelpful; three agents with 3 seats each working 09:00-18:00.
// Checked throughout: no agent ever serves more than their capacity, routing takes the queue in
// order, and at the end every escalated conversation was answered by a person or is still
// waiting, and the desk's stats (computed from events) add up with what the test did.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "engine/engine_fixture.h"
#include "kb/labelled.h"

namespace kefu {
namespace {

struct Customer {
  std::string id;
  int64_t arrives = 0;
  std::string question;
  bool second_question = false;
  bool started = false;
  bool asked_second = false;
  bool escalated = false;
  bool rated = false;
  int64_t next_action = 0;
  int64_t next_seen = 0;  // when the widget, open while its customer waits, tells the engine again
};

struct AgentPlan {
  AgentIdentity id;
  std::map<std::string, int64_t> replied_at;  // conversation -> when the agent replied
};

int64_t At(int hour, int minute) { return (static_cast<int64_t>(hour) * 60 + minute) * kMicrosPerMinute; }

TEST_CASE("a day of the HR desk: capacity, queue order, every escalation answered or waiting, stats add up") {
  testing::EngineFixture f({testing::HrDesk()});
  const int64_t day = f.clock.NowMicros() - f.clock.NowMicros() % (24 * kMicrosPerHour);
  f.clock.Set(day + At(8, 0));
  std::mt19937_64 rng(20261127);

  std::vector<LabelledQuestion> pool;
  for (const char* file : {"/kb/samples/hr-en.questions.jsonl", "/kb/samples/hr-zh.questions.jsonl"}) {
    auto q = LoadLabelledQuestions(std::string(KEFU_SOURCE_DIR) + file);
    REQUIRE(q.ok());
    pool.insert(pool.end(), q->begin(), q->end());
  }
  // 1,000 arrivals: bursts at 09:00 and 13:30, the rest spread over 08:00-19:00.
  std::vector<Customer> customers(1000);
  for (size_t i = 0; i < customers.size(); ++i) {
    Customer& c = customers[i];
    int64_t t;
    if (i < 250) t = At(9, 0) + static_cast<int64_t>(rng() % (20 * kMicrosPerMinute));
    else if (i < 400) t = At(13, 30) + static_cast<int64_t>(rng() % (15 * kMicrosPerMinute));
    else t = At(8, 0) + static_cast<int64_t>(rng() % (11 * kMicrosPerHour));
    c.arrives = day + t;
    const int kind = static_cast<int>(rng() % 100);
    c.question = kind < 8 ? (i % 2 ? "转人工" : "can I talk to a human please") : pool[rng() % pool.size()].text;
    c.second_question = rng() % 100 < 30;
  }
  std::sort(customers.begin(), customers.end(), [](const Customer& a, const Customer& b) { return a.arrives < b.arrives; });

  std::vector<AgentPlan> agents;
  for (const char* name : {"li.na", "wang.wei", "sam"}) agents.push_back({f.Agent(name, 3, "hr"), {}});
  for (AgentPlan& a : agents) REQUIRE(f.engine->SetPresence(a.id, AgentPresence::kOffline).ok());

  int messages_sent = 0, ratings = 0, unhelpful = 0, agent_replies = 0;
  std::set<std::string> escalated, answered_by_person;
  size_t next_arrival = 0;
  bool agents_on = false, agents_leaving = false;
  const int64_t kStep = 10 * kMicrosPerSecond;

  for (int64_t now = day + At(8, 0); now <= day + At(20, 0); now += kStep) {
    f.clock.Set(now);
    if (!agents_on && now >= day + At(9, 0)) {
      for (AgentPlan& a : agents) REQUIRE(f.engine->SetPresence(a.id, AgentPresence::kOnline).ok());
      agents_on = true;
    }
    if (agents_on && !agents_leaving && now >= day + At(18, 0)) {
      for (AgentPlan& a : agents) REQUIRE(f.engine->SetPresence(a.id, AgentPresence::kAway).ok());
      agents_leaving = true;
    }
    auto queue_before = f.engine->Queue(agents[0].id);
    REQUIRE(queue_before.ok());

    // Customers act.
    for (; next_arrival < customers.size() && customers[next_arrival].arrives <= now; ++next_arrival) {
      Customer& c = customers[next_arrival];
      c.id = f.Start("hr").conversation_id;
      CustomerTurn t = f.Say(c.id, c.question);
      ++messages_sent;
      c.started = true;
      c.next_action = now + 2 * kMicrosPerMinute;
      if (t.conversation.state == ConversationState::kQueued || t.conversation.state == ConversationState::kAgent) {
        c.escalated = true;
      } else if (t.messages.back().kind == MessageKind::kBot && !t.messages.back().entry_id.empty() &&
                 rng() % 100 < 12) {
        auto fb = f.engine->GiveFeedback(c.id, t.messages.back().seq, false);
        REQUIRE(fb.ok());
        ++unhelpful;
        c.escalated = fb->conversation.state != ConversationState::kBot;
      }
      if (c.escalated) escalated.insert(c.id);
    }
    for (size_t i = 0; i < next_arrival; ++i) {
      Customer& c = customers[i];
      if (c.escalated || c.asked_second || !c.second_question || now < c.next_action) continue;
      c.asked_second = true;
      CustomerTurn t = f.Say(c.id, pool[rng() % pool.size()].text);
      ++messages_sent;
      if (t.conversation.state == ConversationState::kQueued || t.conversation.state == ConversationState::kAgent) {
        c.escalated = true;
        escalated.insert(c.id);
      }
    }

    // Waiting customers keep the widget open (its stream tells the engine), so none of them is
    // taken for gone however long the line.
    for (size_t i = 0; i < next_arrival; ++i) {
      Customer& c = customers[i];
      if (!c.escalated || answered_by_person.count(c.id) > 0 || now < c.next_seen) continue;
      auto every = f.engine->CustomerSeen(c.id);
      REQUIRE(every.ok());
      c.next_seen = now + *every;
    }

    // Agents act: reply a minute after assignment, resolve four to eight minutes later.
    for (AgentPlan& a : agents) {
      auto mine = f.engine->AgentConversations(a.id);
      REQUIRE(mine.ok());
      for (const ConversationView& v : *mine) {
        auto replied = a.replied_at.find(v.id);
        if (replied == a.replied_at.end()) {
          if (rng() % 6 != 0) continue;  // about a minute to pick it up
          REQUIRE(f.engine->Reply(a.id, v.id, "Hi, I'm looking at this for you.").ok());
          ++agent_replies;
          answered_by_person.insert(v.id);
          a.replied_at[v.id] = now;
        } else if (now - replied->second > static_cast<int64_t>(4 + rng() % 5) * kMicrosPerMinute) {
          REQUIRE(f.engine->Resolve(a.id, v.id).ok());
          a.replied_at.erase(replied);
          for (Customer& c : customers) {
            if (c.id == v.id && !c.rated && rng() % 100 < 60) {
              REQUIRE(f.engine->Rate(c.id, 3 + static_cast<int>(rng() % 3)).ok());
              c.rated = true;
              ++ratings;
            }
          }
        }
      }
      if (agents_leaving && mine->empty()) REQUIRE(f.engine->SetPresence(a.id, AgentPresence::kOffline).ok());
      REQUIRE(f.engine->Heartbeat(a.id).ok());
    }
    REQUIRE(f.engine->RunTimers().ok());

    // Invariants.
    for (AgentPlan& a : agents) {
      auto mine = f.engine->AgentConversations(a.id);
      REQUIRE(mine.ok());
      if (mine->size() > 3) FAIL_CHECK(a.id.username << " serves " << mine->size() << " at once");
    }
    auto queue_after = f.engine->Queue(agents[0].id);
    REQUIRE(queue_after.ok());
    for (size_t i = 1; i < queue_after->size(); ++i) {
      const ConversationView& x = (*queue_after)[i - 1];
      const ConversationView& y = (*queue_after)[i];
      if (!(x.priority > y.priority || (x.priority == y.priority && x.waiting_since <= y.waiting_since))) {
        FAIL_CHECK("queue out of order at position " << i);
      }
    }
    // Those who left the queue were its head: whoever is still waiting was not overtaken by
    // someone behind them (all agents serve every team here).
    std::set<std::string> still;
    for (const ConversationView& v : *queue_after) still.insert(v.id);
    bool someone_ahead_waits = false;
    for (auto it = queue_before->begin(); it != queue_before->end(); ++it) {
      const bool left = still.count(it->id) == 0;
      if (!left) someone_ahead_waits = true;
      else if (someone_ahead_waits) {
        auto v = f.engine->GetConversation(it->id);
        REQUIRE(v.ok());
        if (v->state == ConversationState::kAgent) FAIL_CHECK("a conversation was assigned ahead of one waiting before it");
      }
    }
  }

  // Every escalated conversation was answered by a person or is still waiting.
  int waiting = 0;
  for (const std::string& id : escalated) {
    auto v = f.engine->GetConversation(id);
    REQUIRE(v.ok());
    const bool answered = answered_by_person.count(id) > 0;
    const bool still_waiting = v->state == ConversationState::kQueued;
    CHECK_MESSAGE((answered || still_waiting), "escalated conversation " << id << " is " << ConversationStateName(v->state));
    waiting += still_waiting;
  }

  auto stats = f.engine->Stats("hr");
  REQUIRE(stats.ok());
  MESSAGE("conversations " << stats->conversations << ", escalations " << stats->escalations << " (test saw "
                           << escalated.size() << "), bot resolution rate " << stats->bot_resolution_rate
                           << ", queue wait p50 " << stats->queue_wait_p50 / kMicrosPerSecond << " s, p90 "
                           << stats->queue_wait_p90 / kMicrosPerSecond << " s, first response p50 "
                           << stats->first_response_p50 / kMicrosPerSecond << " s, still waiting " << waiting);
  CHECK(stats->conversations == 1000);
  CHECK(stats->customer_messages == messages_sent);
  CHECK(stats->escalations == static_cast<int64_t>(escalated.size()));
  CHECK(stats->csat_count == ratings);
  CHECK(stats->unhelpful_feedback == unhelpful);
  CHECK(stats->resolved_by_bot <= stats->resolved);
  CHECK(stats->resolved == stats->resolved_by_bot + (stats->resolved - stats->resolved_by_bot));
  // Human resolutions are the escalated conversations that are no longer waiting.
  CHECK(stats->resolved - stats->resolved_by_bot == static_cast<int64_t>(escalated.size()) - waiting);
  // Every customer message got exactly one bot outcome or waited for a person.
  CHECK(stats->bot_answers + stats->bot_clarifications + stats->unmatched <= stats->customer_messages);
  CHECK(stats->first_response_p50 > 0);
  CHECK(stats->bot_resolution_rate > 0.5);
}

}  // namespace
}  // namespace kefu
