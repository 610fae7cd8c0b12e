// Regression tests of the sample KBs: each lints clean, is big enough, and its matcher answers its
// own held-out questions at least as well as measured when the samples were written.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kb/knowledge_base.h"
#include "kb/labelled.h"
#include "kb/matcher.h"

#ifndef KEFU_SOURCE_DIR
#error "KEFU_SOURCE_DIR must name the source tree (tests/meson.build sets it)"
#endif

namespace kefu {
namespace {

std::string SamplePath(const std::string& file) { return std::string(KEFU_SOURCE_DIR) + "/kb/samples/" + file; }

struct Sample {
  const char* name;
  size_t min_entries;
  double min_top1;  // in-scope top-1 accuracy of Rank on the held-out questions
};

// Floors measured when the samples were written: hr-zh 0.9045, hr-en 0.8679, shop-en 0.9231; raised
// with issue 18's paraphrases (and its added held-out questions): hr-zh 0.9381, hr-en 0.9179.
// Do not lower them; a failure here is a regression to report.
constexpr Sample kSamples[] = {
    {"hr-zh", 40, 0.93},
    {"hr-en", 40, 0.91},
    {"shop-en", 30, 0.90},
};
constexpr double kMinOosEscalated = 0.80;
constexpr size_t kMinQuestionsPerEntry = 6;

struct Loaded {
  KnowledgeBase kb;
  std::vector<LabelledQuestion> held_out;
  std::unique_ptr<Matcher> matcher;
};

// Each sample is loaded and its matcher built once for all test cases.
const Loaded& Load(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Loaded>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto loaded = std::make_unique<Loaded>();
    auto kb = LoadKnowledgeBase(SamplePath(name + ".json"));
    REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
    loaded->kb = std::move(kb).value();
    auto questions = LoadLabelledQuestions(SamplePath(name + ".questions.jsonl"));
    REQUIRE_MESSAGE(questions.ok(), questions.status().ToString());
    loaded->held_out = std::move(questions).value();
    auto matcher = Matcher::Build(loaded->kb, MatcherOptions());
    REQUIRE_MESSAGE(matcher.ok(), matcher.status().ToString());
    loaded->matcher = std::move(matcher).value();
    slot = std::move(loaded);
  }
  return *slot;
}

TEST_CASE("every sample KB lints clean and has the required size") {
  for (const Sample& s : kSamples) {
    CAPTURE(std::string(s.name));
    const Loaded& l = Load(s.name);
    CHECK(l.kb.entries.size() >= s.min_entries);
    for (const KbEntry& e : l.kb.entries) {
      CAPTURE(e.id);
      CHECK(e.questions.size() >= kMinQuestionsPerEntry);
    }
    // The canonical JSON form lints clean too.
    auto again = ParseKnowledgeBaseJson(KnowledgeBaseToJson(l.kb), std::string(s.name) + " (re-serialised)");
    CHECK_MESSAGE(again.ok(), again.status().ToString());
  }
}

TEST_CASE("every held-out file names only the KB's entries or oos") {
  for (const Sample& s : kSamples) {
    CAPTURE(std::string(s.name));
    const Loaded& l = Load(s.name);
    size_t in_scope = 0, oos = 0;
    for (const LabelledQuestion& q : l.held_out) {
      CAPTURE(q.text);
      if (q.intent == "oos") {
        ++oos;
      } else {
        ++in_scope;
        CHECK(l.kb.Find(q.intent) != nullptr);
      }
    }
    CHECK(in_scope > 0);
    CHECK(oos > 0);
  }
}

TEST_CASE("every sample matcher meets its top-1 floor on its held-out questions") {
  for (const Sample& s : kSamples) {
    CAPTURE(std::string(s.name));
    const Loaded& l = Load(s.name);
    size_t in_scope = 0, right = 0;
    for (const LabelledQuestion& q : l.held_out) {
      if (q.intent == "oos") continue;
      ++in_scope;
      const auto top = l.matcher->Rank(q.text, 1);
      right += !top.empty() && l.matcher->entry_id(top[0].entry) == q.intent;
    }
    REQUIRE(in_scope > 0);
    const double accuracy = static_cast<double>(right) / static_cast<double>(in_scope);
    MESSAGE(std::string(s.name) << ": top-1 " << right << "/" << in_scope << " = " << accuracy);
    CHECK(accuracy >= s.min_top1);
  }
}

TEST_CASE("every sample matcher escalates at least 80% of its out-of-scope questions") {
  for (const Sample& s : kSamples) {
    CAPTURE(std::string(s.name));
    const Loaded& l = Load(s.name);
    CHECK(l.matcher->threshold_source().name == "kb holdout");  // the built-in calibration
    size_t oos = 0, escalated = 0;
    for (const LabelledQuestion& q : l.held_out) {
      if (q.intent != "oos") continue;
      ++oos;
      const MatchResult r = l.matcher->Match(q.text);
      escalated += r.decision == MatchDecision::kEscalate;
    }
    REQUIRE(oos > 0);
    const double rate = static_cast<double>(escalated) / static_cast<double>(oos);
    MESSAGE(std::string(s.name) << ": escalated " << escalated << "/" << oos << " out-of-scope questions");
    CHECK(rate >= kMinOosEscalated);
  }
}

// Near-domain out-of-scope questions (kb/samples/*.near-domain.jsonl): questions employees ask an HR
// desk that its KB does not cover, sharing words with entries ("what's the office wifi password").
// Floors measured when issue 18's files were written (hr-en 8/12, hr-zh 11/12 escalated by Match;
// the others clarified or, hr-en 2/12, answered). Do not lower them.
struct NearDomain {
  const char* name;
  size_t min_escalated;
};
constexpr NearDomain kNearDomain[] = {{"hr-en", 8}, {"hr-zh", 11}};

TEST_CASE("the HR samples escalate their near-domain out-of-scope questions") {
  for (const NearDomain& s : kNearDomain) {
    CAPTURE(std::string(s.name));
    const Loaded& l = Load(s.name);
    auto questions = LoadLabelledQuestions(SamplePath(std::string(s.name) + ".near-domain.jsonl"));
    REQUIRE_MESSAGE(questions.ok(), questions.status().ToString());
    size_t escalated = 0;
    for (const LabelledQuestion& q : *questions) {
      CHECK(q.intent == "oos");
      escalated += l.matcher->Match(q.text).decision == MatchDecision::kEscalate;
    }
    MESSAGE(std::string(s.name) << ": escalated " << escalated << "/" << questions->size() << " near-domain questions");
    CHECK(escalated >= s.min_escalated);
  }
}

TEST_CASE("hr-zh answers a Chinese annual-leave question with leave.annual.apply") {
  const Loaded& l = Load("hr-zh");
  const MatchResult r = l.matcher->Match("我想请年假怎么申请");
  CHECK(r.decision == MatchDecision::kAnswer);
  REQUIRE_FALSE(r.candidates.empty());
  CHECK(l.matcher->entry_id(r.candidates[0].entry) == "leave.annual.apply");
}

}  // namespace
}  // namespace kefu
