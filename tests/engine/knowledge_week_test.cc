// A week of an HR desk whose KB lacks six topics at first. Employees ask real-looking questions;
// what the bot cannot answer goes to agents, who answer and turn their replies into drafts; an
// admin publishes the drafts every evening. By the end the bot answers those topics itself, and
// the bot resolution rate rises from the first day to the last. Every figure is computed by the
// desk's stats (per KB version, one version per day), not by the test.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <random>
#include <set>

#include "engine/engine.h"
#include "knowledge/knowledge_loop.h"
#include "engine/test_util.h"
#include "kb/labelled.h"

namespace kefu {
namespace {

const std::set<std::string> kMissing = {"leave.bereavement", "payroll.bank-account", "it.vpn",
                                        "expenses.per-diem", "remote.abroad", "benefits.wellbeing"};

struct Question {
  std::string text;
  std::string intent;
};

TEST_CASE("a week of the knowledge loop: gaps become entries and the bot resolution rate rises") {
  testing::TempDir dir;
  auto full = LoadKnowledgeBase(std::string(KEFU_SOURCE_DIR) + "/kb/samples/hr-en.json");
  REQUIRE(full.ok());
  KnowledgeBase reduced = *full;
  reduced.entries.clear();
  std::map<std::string, KbEntry> held_back;
  for (const KbEntry& e : full->entries) {
    if (kMissing.count(e.id)) {
      held_back[e.id] = e;
    } else {
      reduced.entries.push_back(e);
    }
  }
  REQUIRE(held_back.size() == kMissing.size());
  for (KbEntry& e : reduced.entries) {  // quick replies may point at topics that are gone: harmless
    (void)e;
  }
  const std::string kb_path = dir.Sub("hr-en-reduced.json");
  std::ofstream(kb_path) << KnowledgeBaseToJson(reduced);

  // The questions of the week: held-out questions of the KB's topics, and for the missing topics
  // both their (held-back) examples and their held-out questions.
  auto heldout = LoadLabelledQuestions(std::string(KEFU_SOURCE_DIR) + "/kb/samples/hr-en.questions.jsonl");
  REQUIRE(heldout.ok());
  std::vector<Question> known, missing;
  for (const LabelledQuestion& q : *heldout) {
    if (q.intent == "oos") continue;
    (kMissing.count(q.intent) ? missing : known).push_back({q.text, q.intent});
  }
  for (const auto& [id, e] : held_back) {
    for (const std::string& q : e.questions) missing.push_back({q, id});
  }

  ManualClock clock;
  clock.Set(clock.NowMicros() - clock.NowMicros() % (24 * kMicrosPerHour) + 8 * kMicrosPerHour);
  KefuConfig config;
  DeskConfig desk;
  desk.id = "hr";
  desk.ticket_prefix = "HR";
  desk.knowledge_bases = {kb_path};
  desk.default_team = "hr";
  config.desks.push_back(desk);
  auto store = OpenMemoryStore();
  REQUIRE(store.ok());
  EngineOptions options;
  options.password_cost = PasswordCost::kMinimal;
  auto opened = Engine::Open(config, std::move(*store), &clock, options);
  REQUIRE(opened.ok());
  Engine& engine = **opened;
  KnowledgeLoop loop(&engine, &clock);
  REQUIRE(engine.CreateAgent("hr", "mei", "password-mei", "Mei", {}, 50).ok());
  auto token = engine.Login("hr", "mei", "password-mei");
  REQUIRE(token.ok());
  AgentIdentity mei = *engine.AuthenticateAgent(*token);

  std::mt19937_64 rng(7);
  std::set<std::string> drafted_today;
  for (int day = 1; day <= 7; ++day) {
    REQUIRE(engine.SetPresence(mei, AgentPresence::kOnline).ok());
    drafted_today.clear();
    for (int i = 0; i < 120; ++i) {
      clock.Advance(3 * kMicrosPerMinute);
      REQUIRE(engine.Heartbeat(mei).ok());
      const bool about_gap = rng() % 100 < 30;
      const Question& q = about_gap ? missing[rng() % missing.size()] : known[rng() % known.size()];
      auto start = engine.StartConversation({"hr"});
      REQUIRE(start.ok());
      const std::string id = start->conversation_id;
      CustomerMessageRequest r;
      r.conversation_id = id;
      r.text = q.text;
      auto turn = engine.PostCustomerMessage(r);
      REQUIRE(turn.ok());
      ConversationState state = turn->conversation.state;
      const Message& last = turn->messages.back();
      if (state == ConversationState::kBot && last.kind == MessageKind::kBot) {
        if (!last.entry_id.empty() && last.entry_id != q.intent) {
          auto fb = engine.GiveFeedback(id, last.seq, false);  // a wrong answer: not helpful
          REQUIRE(fb.ok());
          state = fb->conversation.state;
        } else if (!last.choices.empty() && last.entry_id.empty()) {
          // A clarify: the employee picks the right choice if it is there, else asks for a person.
          bool picked = false;
          for (const MessageChoice& c : last.choices) {
            if (c.entry_id == q.intent) {
              CustomerMessageRequest choice = r;
              choice.text = c.title;
              choice.choice = c.entry_id;
              REQUIRE(engine.PostCustomerMessage(choice).ok());
              picked = true;
            }
          }
          if (!picked) state = engine.RequestHandoff(id)->conversation.state;
        }
      }
      if (state != ConversationState::kAgent) continue;  // the bot served them
      // The agent answers with the right answer and teaches the KB.
      auto kb_now = engine.Knowledge("hr", "");
      REQUIRE(kb_now.ok());
      const KbEntry* entry = kb_now->kb->Find(q.intent);
      const std::string answer = entry != nullptr ? entry->answer : held_back.at(q.intent).answer;
      auto reply = engine.Reply(mei, id, answer);
      REQUIRE(reply.ok());
      if (entry != nullptr) {
        REQUIRE(loop.RecordLabelled("hr", kb_now->language, q.text, q.intent).ok());
        DraftRequest add;
        add.kind = DraftKind::kAddExamples;
        add.conversation = id;
        add.entry_id = q.intent;
        REQUIRE(loop.CreateDraft(mei, add).ok());
      } else if (!drafted_today.count(q.intent)) {
        DraftRequest fresh;
        fresh.kind = DraftKind::kNewEntry;
        fresh.conversation = id;
        fresh.reply_seq = reply->seq;
        fresh.title = held_back.at(q.intent).title;
        fresh.entry_id = q.intent;  // so that the next days' drafts and labels can name it
        fresh.team = "hr";
        auto d = loop.CreateDraft(mei, fresh);
        REQUIRE_MESSAGE(d.ok(), d.status().ToString());
        drafted_today.insert(q.intent);
      }
      REQUIRE(engine.Resolve(mei, id).ok());
    }
    // Evening: idle bot conversations resolve; the admin looks at the gaps and publishes.
    clock.Advance(2 * kMicrosPerHour);
    REQUIRE(engine.SetPresence(mei, AgentPresence::kOffline).ok());
    REQUIRE(engine.RunTimers().ok());
    if (day == 1) {
      auto day_stats = engine.Stats("hr");
      MESSAGE("day 1: unmatched " << day_stats->unmatched << ", unhelpful " << day_stats->unhelpful_feedback
                                  << ", escalations " << day_stats->escalations << ", known " << known.size()
                                  << ", missing " << missing.size());
      auto gaps = loop.Gaps("hr", 0);
      REQUIRE(gaps.ok());
      REQUIRE(!gaps->empty());
      MESSAGE("day 1 top gap: \"" << gaps->front().gap.examples.front() << "\" asked by " << gaps->front().gap.customers
                                  << " customers, nearest entry " << gaps->front().gap.nearest_entry);
    }
    auto published = loop.Publish("hr", "", {}, "admin");
    if (!published.ok() && published.status().message() == "no open drafts to publish") continue;
    REQUIRE_MESSAGE(published.ok(), published.status().ToString());
    clock.Advance(12 * kMicrosPerHour);
  }

  auto per_version = loop.StatsByVersion("hr", "");
  REQUIRE(per_version.ok());
  REQUIRE(per_version->size() >= 7);
  for (const VersionStats& v : *per_version) {
    int64_t new_entry_hits = 0;
    for (const auto& [id, hits] : v.stats.intent_hits) new_entry_hits += kMissing.count(id) ? hits : 0;
    MESSAGE("version " << v.version << ": " << v.stats.conversations << " conversations, bot resolution rate "
                       << v.stats.bot_resolution_rate << ", escalation rate " << v.stats.escalation_rate
                       << ", answers from learned entries " << new_entry_hits);
  }
  const DeskStats& first = per_version->front().stats;
  const DeskStats& last = per_version->at(6).stats;
  CHECK(first.conversations == 120);
  CHECK(last.conversations == 120);
  CHECK(last.bot_resolution_rate > first.bot_resolution_rate + 0.1);
  CHECK(last.escalations < first.escalations);
  // The last day's bot answers include entries that did not exist on the first day.
  int64_t learned = 0;
  for (const auto& [id, hits] : last.intent_hits) learned += kMissing.count(id) ? hits : 0;
  CHECK(learned > 0);
  auto versions = loop.Versions("hr", "");
  REQUIRE(versions.ok());
  CHECK(versions->back().current);
  // Rolling back to the first version takes the learned entries away again.
  auto rolled = loop.Rollback("hr", "", 1, "admin");
  REQUIRE(rolled.ok());
  auto kb_after = engine.Knowledge("hr", "");
  REQUIRE(kb_after.ok());
  CHECK(kb_after->kb->entries.size() == reduced.entries.size());
}

}  // namespace
}  // namespace kefu
