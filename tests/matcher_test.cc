#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "kb/matcher.h"

namespace kefu {
namespace {

const char* kKbJson = R"({
  "name": "test helpdesk", "language": "en",
  "entries": [
    {"id": "leave.apply", "title": "Applying for annual leave",
     "questions": ["How do I apply for annual leave?", "request vacation days", "book time off for a holiday",
                   "where do I submit a leave request", "年假怎么申请", "我想请年假"],
     "answer": "Submit it in the HR portal."},
    {"id": "password.reset", "title": "Resetting your password",
     "questions": ["I forgot my password", "how to reset my password", "can't log in, my password is wrong",
                   "change my login password", "忘记密码怎么办", "重置密码"],
     "answer": "Use the reset link on the login page."},
    {"id": "salary.payday", "title": "Payday",
     "questions": ["When is payday?", "when do we get paid", "what date is the salary paid",
                   "salary payment date", "工资几号发", "发薪日是哪天"],
     "answer": "On the 10th of every month."},
    {"id": "expenses.claim", "title": "Claiming expenses",
     "questions": ["How do I claim travel expenses?", "submit a receipt for reimbursement", "expense report",
                   "get reimbursed for a taxi", "报销流程", "差旅费怎么报销"],
     "answer": "File an expense report with your receipts."},
    {"id": "complaint", "title": "Making a complaint", "handoff": true, "team": "hr-cases",
     "questions": ["I want to file a complaint about my manager", "report harassment at work",
                   "my colleague is bullying me", "投诉我的领导"],
     "answer": "A person from HR will contact you."},
    {"id": "wifi.guest", "title": "Guest wifi",
     "questions": ["how do I connect to the guest wifi", "guest wifi password", "the guest wifi is not working",
                   "connect my phone to the guest wifi"],
     "answer": "The guest wifi password is on the reception desk."},
    {"id": "wifi.staff", "title": "Staff wifi",
     "questions": ["how do I connect to the staff wifi", "staff wifi password", "the staff wifi is not working",
                   "connect my phone to the staff wifi"],
     "answer": "Log in to the staff wifi with your account."}
  ]
})";

KnowledgeBase TestKb(const std::string& settings = "") {
  std::string json = kKbJson;
  if (!settings.empty()) json.insert(json.find("\"entries\""), settings + ", ");
  auto kb = ParseKnowledgeBaseJson(json, "test.json");
  REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
  return *kb;
}

const Matcher& TestMatcher() {
  static const std::unique_ptr<Matcher> matcher = [] {
    auto m = Matcher::Build(TestKb(), MatcherOptions());
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    return std::move(m).value();
  }();
  return *matcher;
}

MatchResult M(const Matcher& m, std::string_view q) { return m.Match(q); }

std::string TopId(const Matcher& m, const MatchResult& r) {
  return r.candidates.empty() ? std::string("(none)") : m.entry_id(r.candidates[0].entry);
}

TEST_CASE("the KB builds a matcher calibrated on its own holdout") {
  const Matcher& m = TestMatcher();
  CHECK(m.num_entries() == 7);
  CHECK(m.threshold_source().name == "kb holdout");
  CHECK(m.threshold_source().expected.in_scope > 0);
  CHECK(m.threshold_source().expected.out_of_scope > 0);
  CHECK(m.num_features() > 0);
  CHECK(m.MemoryBytes() > 0);
  CHECK(m.FindEntry("salary.payday") == 2);
  CHECK(m.FindEntry("nope") == -1);
  CHECK(m.entry_id(4) == "complaint");
}

TEST_CASE("paraphrases of the examples are answered with their entry") {
  const Matcher& m = TestMatcher();
  const std::pair<const char*, const char*> cases[] = {
      {"how can I apply for annual leave", "leave.apply"},
      {"I forgot my password, how do I reset it", "password.reset"},
      {"reset my password", "password.reset"},
      {"what date is salary paid", "salary.payday"},
      {"how do I get my travel expenses reimbursed", "expenses.claim"},
      {"怎么申请年假", "leave.apply"},
  };
  for (const auto& [question, id] : cases) {
    CAPTURE(std::string(question));
    const MatchResult r = M(m, question);
    CHECK(r.decision == MatchDecision::kAnswer);
    CHECK(r.reason == MatchReason::kConfident);
    REQUIRE(r.candidates.size() == 1);
    CHECK(m.entry_id(r.candidates[0].entry) == id);
    CHECK(r.candidates[0].confidence >= m.threshold());
  }
}

TEST_CASE("nonsense is escalated for low confidence, with the nearest entries for agents") {
  const MatchResult r = M(TestMatcher(), "quantum chromodynamics lattice");
  CHECK(r.decision == MatchDecision::kEscalate);
  CHECK(r.reason == MatchReason::kLowConfidence);
  CHECK(r.candidates.size() <= 3);
  for (const MatchCandidate& c : r.candidates) CHECK(c.confidence < TestMatcher().threshold());
}

TEST_CASE("asking for a person escalates by rule, with an acknowledgement and no candidates") {
  for (const char* q : {"转人工", "talk to a human", "Can I speak with a real person?", "hi, agent please"}) {
    CAPTURE(std::string(q));
    const MatchResult r = M(TestMatcher(), q);
    CHECK(r.decision == MatchDecision::kEscalate);
    CHECK(r.reason == MatchReason::kAskedForPerson);
    CHECK(r.candidates.empty());
    CHECK(r.reply == "Sure, I'm connecting you with a person.");
  }
}

TEST_CASE("a greeting or thanks gets small talk") {
  const MatchResult hello = M(TestMatcher(), "Hello!");
  CHECK(hello.decision == MatchDecision::kSmallTalk);
  CHECK(hello.reason == MatchReason::kGreeting);
  CHECK(hello.candidates.empty());
  CHECK_FALSE(hello.reply.empty());
  const MatchResult thanks = M(TestMatcher(), "thank you so much");
  CHECK(thanks.decision == MatchDecision::kSmallTalk);
  CHECK(thanks.reason == MatchReason::kThanks);
  // A greeting in front of a real question is not small talk.
  const MatchResult real = M(TestMatcher(), "hi, how can I apply for annual leave?");
  CHECK(real.decision == MatchDecision::kAnswer);
  CHECK(TopId(TestMatcher(), real) == "leave.apply");
}

TEST_CASE("a question with no words gives kEmptyQuestion and no answer") {
  for (const char* q : {"？？？", "", "   ", "!!!"}) {
    CAPTURE(std::string(q));
    const MatchResult r = M(TestMatcher(), q);
    CHECK(r.reason == MatchReason::kEmptyQuestion);
    CHECK(r.decision != MatchDecision::kAnswer);
    CHECK(r.decision != MatchDecision::kClarify);
    CHECK(r.candidates.empty());
    CHECK_FALSE(r.reply.empty());
  }
}

TEST_CASE("an entry marked handoff escalates with kHandoffEntry and names the entry") {
  const MatchResult r = M(TestMatcher(), "I want to file a complaint about my boss");
  CHECK(r.decision == MatchDecision::kEscalate);
  CHECK(r.reason == MatchReason::kHandoffEntry);
  REQUIRE(r.candidates.size() == 1);
  CHECK(TestMatcher().entry_id(r.candidates[0].entry) == "complaint");
}

TEST_CASE("the KB's answer_threshold setting is used") {
  auto m = Matcher::Build(TestKb(R"("settings": {"answer_threshold": 0.3})"), MatcherOptions());
  REQUIRE(m.ok());
  CHECK((*m)->threshold() == 0.3f);
  CHECK((*m)->threshold_source().name == "kb setting");
  CHECK((*m)->threshold_source().expected.in_scope == 0);  // no calibration data behind it
}

TEST_CASE("two near-identical entries produce clarify with both candidates") {
  auto built = Matcher::Build(TestKb(R"("settings": {"answer_threshold": 0})"), MatcherOptions());
  REQUIRE(built.ok());
  const Matcher& m = **built;
  CHECK(m.threshold_source().name == "kb setting");
  const MatchResult r = m.Match("how do I connect to the wifi");
  CHECK(r.decision == MatchDecision::kClarify);
  CHECK(r.reason == MatchReason::kAmbiguous);
  REQUIRE(r.candidates.size() == 2);
  std::vector<std::string> ids = {m.entry_id(r.candidates[0].entry), m.entry_id(r.candidates[1].entry)};
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"wifi.guest", "wifi.staff"});
  CHECK(r.candidates[0].confidence >= r.candidates[1].confidence);
  CHECK(r.candidates[0].confidence - r.candidates[1].confidence <= MatcherOptions().clarify_margin);
  // Naming one of them settles it.
  const MatchResult guest = m.Match("how do I connect to the guest wifi");
  CHECK(guest.decision == MatchDecision::kAnswer);
  CHECK(TopId(m, guest) == "wifi.guest");
}

std::vector<LabelledQuestion> CalibrationRows() {
  return {
      {"how do I request annual leave", "leave.apply"},
      {"I can't remember my password", "password.reset"},
      {"when is the salary paid", "salary.payday"},
      {"reimbursement for a hotel", "expenses.claim"},
      {"guest wifi not working", "wifi.guest"},
      {"what is the weather tomorrow", "oos"},
      {"recommend a good restaurant", "oos"},
      {"how tall is mount everest", "oos"},
      {"book a flight to paris", "no.such.entry"},  // not an entry id: out of scope too
  };
}

TEST_CASE("CalibrateOn with out-of-scope rows moves the threshold source to validation") {
  auto built = Matcher::Build(TestKb(), MatcherOptions());
  REQUIRE(built.ok());
  Matcher& m = **built;
  REQUIRE(m.threshold_source().name == "kb holdout");
  const auto rows = CalibrationRows();
  REQUIRE(m.CalibrateOn(rows, "oos").ok());
  CHECK(m.threshold_source().name == "validation");
  CHECK(m.threshold_source().expected.in_scope == 5);
  CHECK(m.threshold_source().expected.out_of_scope == 4);
  const auto samples = m.ScoreLabelled(rows, "oos");
  REQUIRE(samples.size() == rows.size());
  CHECK(samples[0].gold == m.FindEntry("leave.apply"));
  CHECK(samples[8].gold == -1);
  CHECK(m.threshold() == ChooseThreshold(samples, MatcherOptions().calibration));
  const AccuracyFigures f = ComputeAccuracy(samples, m.threshold());
  CHECK(m.threshold_source().expected.oos_recall == f.oos_recall);
  CHECK(m.threshold_source().expected.in_scope_accuracy_at_threshold == f.in_scope_accuracy_at_threshold);
}

TEST_CASE("CalibrateOn without out-of-scope rows keeps the threshold; without in-scope rows it fails") {
  auto built = Matcher::Build(TestKb(), MatcherOptions());
  REQUIRE(built.ok());
  Matcher& m = **built;
  const float before = m.threshold();
  std::vector<LabelledQuestion> in_only = {{"how do I request annual leave", "leave.apply"}};
  REQUIRE(m.CalibrateOn(in_only, "oos").ok());
  CHECK(m.threshold() == before);
  CHECK(m.threshold_source().name == "kb holdout");
  CHECK(m.threshold_source().expected.in_scope == 1);

  std::vector<LabelledQuestion> oos_only = {{"what is the weather", "oos"}};
  const Status s = m.CalibrateOn(oos_only, "oos");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(m.CalibrateOn({}, "oos").code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Rank returns the best k entries best first") {
  const Matcher& m = TestMatcher();
  const auto top3 = m.Rank("how can I apply for annual leave", 3);
  REQUIRE(top3.size() == 3);
  CHECK(m.entry_id(top3[0].entry) == "leave.apply");
  CHECK(top3[0].confidence >= top3[1].confidence);
  CHECK(top3[1].confidence >= top3[2].confidence);
  CHECK(top3[0].entry != top3[1].entry);
  CHECK(top3[1].entry != top3[2].entry);

  const auto all = m.Rank("wifi password", 100);
  REQUIRE(all.size() == m.num_entries());
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].confidence >= all[i].confidence);
  // The top of a longer list is the shorter list.
  const auto one = m.Rank("wifi password", 1);
  REQUIRE(one.size() == 1);
  CHECK(one[0].entry == all[0].entry);
  CHECK(one[0].confidence == all[0].confidence);

  CHECK(m.Rank("？？？", 3).empty());  // no features at all
}

TEST_CASE("Rank with k of zero or less returns nothing") {
  CHECK(TestMatcher().Rank("how can I apply for annual leave", 0).empty());
  CHECK(TestMatcher().Rank("how can I apply for annual leave", -1).empty());
}

TEST_CASE("Match gives the same results from 4 threads at once") {
  const Matcher& m = TestMatcher();
  const std::vector<std::string> questions = {
      "how can I apply for annual leave", "reset my password", "怎么申请年假", "quantum chromodynamics lattice",
      "转人工", "hello", "？？？", "I want to file a complaint about my boss", "how do I connect to the wifi",
      "what date is salary paid", "差旅费怎么报销", "thanks!"};
  std::vector<MatchResult> expected;
  for (const std::string& q : questions) expected.push_back(m.Match(q));
  std::atomic<int> mismatches{0}, runs{0};
  auto same = [](const MatchResult& a, const MatchResult& b) {
    if (a.decision != b.decision || a.reason != b.reason || a.reply != b.reply ||
        a.candidates.size() != b.candidates.size()) {
      return false;
    }
    for (size_t i = 0; i < a.candidates.size(); ++i) {
      if (a.candidates[i].entry != b.candidates[i].entry || a.candidates[i].confidence != b.candidates[i].confidence) {
        return false;
      }
    }
    return true;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < questions.size(); ++i) {
          const size_t k = (i + t * 3) % questions.size();  // threads ask in different orders
          if (!same(m.Match(questions[k]), expected[k])) ++mismatches;
          ++runs;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(runs == 4 * 50 * static_cast<int>(questions.size()));
  CHECK(mismatches == 0);
}

TEST_CASE("replies follow the KB's language") {
  std::string json = kKbJson;
  json.replace(json.find("\"language\": \"en\""), 16, "\"language\": \"zh\"");
  auto kb = ParseKnowledgeBaseJson(json, "zh.json");
  REQUIRE(kb.ok());
  REQUIRE(kb->language == "zh");
  auto m = Matcher::Build(*kb, MatcherOptions());
  REQUIRE(m.ok());
  CHECK((*m)->Match("你好").reply == RuleReply(RuleKind::kGreeting, "zh"));
  CHECK((*m)->Match("转人工").reply == RuleReply(RuleKind::kHandoff, "zh"));
}

TEST_CASE("Build refuses an empty KB; a KB too small to hold out uses threshold 0") {
  KnowledgeBase empty;
  auto none = Matcher::Build(empty, MatcherOptions());
  CHECK(none.status().code() == Status::Code::kInvalidArgument);

  auto kb = ParseKnowledgeBaseJson(R"({"entries": [
      {"id": "a", "title": "Apples", "questions": ["do you sell apples"], "answer": "Yes."},
      {"id": "b", "title": "Bananas", "questions": ["do you sell bananas"], "answer": "No."}]})", "two.json");
  REQUIRE(kb.ok());
  auto two = Matcher::Build(*kb, MatcherOptions());
  REQUIRE(two.ok());
  CHECK((*two)->threshold() == 0.0f);
  CHECK((*two)->threshold_source().name == "default");
}

TEST_CASE("Build picks the linear model for a small KB and the centroid index past linear_max_cells") {
  CHECK(TestMatcher().scorer() == ScorerKind::kLinear);
  MatcherOptions options;
  options.linear_max_cells = 10;  // any real KB is past it
  auto m = Matcher::Build(TestKb(), options);
  REQUIRE(m.ok());
  CHECK((*m)->scorer() == ScorerKind::kCentroid);
  options.scorer = ScorerKind::kLinear;  // forcing wins over the size rule
  m = Matcher::Build(TestKb(), options);
  REQUIRE(m.ok());
  CHECK((*m)->scorer() == ScorerKind::kLinear);
  CHECK(ScorerKindName(ScorerKind::kAuto) == "auto");
  CHECK(ScorerKindName(ScorerKind::kLinear) == "linear");
  CHECK(ScorerKindName(ScorerKind::kCentroid) == "centroid");
}

TEST_CASE("with the centroid index, paraphrases are answered, nonsense escalates, and the holdout calibrates") {
  MatcherOptions options;
  options.scorer = ScorerKind::kCentroid;
  auto built = Matcher::Build(TestKb(), options);
  REQUIRE(built.ok());
  const Matcher& m = **built;
  CHECK(m.scorer() == ScorerKind::kCentroid);
  CHECK(m.threshold_source().name == "kb holdout");
  CHECK(m.MemoryBytes() > 0);
  const std::pair<const char*, const char*> cases[] = {
      {"how can I apply for annual leave", "leave.apply"},
      {"I forgot my password, how do I reset it", "password.reset"},
      {"what date is salary paid", "salary.payday"},
      {"怎么申请年假", "leave.apply"},
  };
  for (const auto& [question, id] : cases) {
    CAPTURE(std::string(question));
    const auto top = m.Rank(question, 3);
    REQUIRE(!top.empty());
    CHECK(m.entry_id(top[0].entry) == id);
    for (size_t i = 1; i < top.size(); ++i) CHECK(top[i - 1].confidence >= top[i].confidence);
  }
  const MatchResult nonsense = m.Match("quantum chromodynamics lattice");
  CHECK(nonsense.decision == MatchDecision::kEscalate);
  // Confidences are margins on the linear model's scale: 2 x (cosine - 0.5) - penalty, so at most 1.
  for (const MatchCandidate& c : m.Rank("reset my password", 3)) CHECK(c.confidence <= 1.0001f);
}

TEST_CASE("decision and reason names") {
  CHECK(MatchDecisionName(MatchDecision::kAnswer) == "answer");
  CHECK(MatchDecisionName(MatchDecision::kClarify) == "clarify");
  CHECK(MatchDecisionName(MatchDecision::kEscalate) == "escalate");
  CHECK(MatchDecisionName(MatchDecision::kSmallTalk) == "small_talk");
  CHECK(MatchReasonName(MatchReason::kConfident) == "confident");
  CHECK(MatchReasonName(MatchReason::kAmbiguous) == "ambiguous");
  CHECK(MatchReasonName(MatchReason::kLowConfidence) == "low_confidence");
  CHECK(MatchReasonName(MatchReason::kAskedForPerson) == "asked_for_person");
  CHECK(MatchReasonName(MatchReason::kHandoffEntry) == "handoff_entry");
  CHECK(MatchReasonName(MatchReason::kEmptyQuestion) == "empty_question");
  CHECK(MatchReasonName(MatchReason::kGreeting) == "greeting");
  CHECK(MatchReasonName(MatchReason::kThanks) == "thanks");
}

}  // namespace
}  // namespace kefu
