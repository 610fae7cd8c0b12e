// The matcher's benchmark for `tools/bench peers` and `tools/bench scaling`: builds a matcher
// (with a chosen scorer) from labelled questions or from a synthetic KB of any size, and
// measures build time, memory, per-question latency and accuracy. Usage:
//   matcher_bench --train T.jsonl [--val V.jsonl] --test X.jsonl [--scorer auto|linear|centroid]
//                 [--scores-out S.tsv] [--latencies-out L.txt]
//   matcher_bench --synthetic N --clinc DIR [--examples 6] [--scorer ...]
// Prints one JSON object. Synthetic KBs (deterministic for a given N): entry k takes CLINC150
// intent k mod 150 (or the first N intents when N < 150) and a made-up product name (two
// pseudo-words; the j-th entry of each intent has the j-th name), and its example questions are
// that intent's training questions with the name put in by one of a few phrasings. Test
// questions are the intent's validation questions with the same name: the matcher has to get
// both what is asked and what it is about right.
#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "kb/labelled.h"
#include "kb/matcher.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// CPU time of the calling thread: steadier than wall time on a machine shared with other work.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

size_t PeakRssBytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;
}

class Rng {  // splitmix64
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// A pronounceable made-up word of 2-3 syllables, the same for the same `seed`.
std::string PseudoWord(uint64_t seed) {
  static const char* kOnsets[] = {"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kr", "st", "tr"};
  static const char* kVowels[] = {"a", "e", "i", "o", "u", "ai", "ou"};
  static const char* kCodas[] = {"", "", "n", "r", "x", "l", "s"};
  Rng rng(seed);
  std::string w;
  const int syllables = 2 + static_cast<int>(rng.Below(2));
  for (int s = 0; s < syllables; ++s) {
    w += kOnsets[rng.Below(std::size(kOnsets))];
    w += kVowels[rng.Below(std::size(kVowels))];
  }
  w += kCodas[rng.Below(std::size(kCodas))];
  return w;
}

// The j-th product name: two pseudo-words.
std::string ProductName(size_t j) { return PseudoWord(2 * j + 1) + " " + PseudoWord(2 * j + 2); }

std::string WithName(const std::string& question, const std::string& name, Rng* rng) {
  switch (rng->Below(4)) {
    case 0: return question + " for the " + name;
    case 1: return name + ": " + question;
    case 2: return question + " on my " + name;
    default: return "about the " + name + ", " + question;
  }
}

struct Synthetic {
  kefu::KnowledgeBase kb;
  std::vector<kefu::LabelledQuestion> test;
};

kefu::Result<Synthetic> MakeSynthetic(size_t entries, int examples, const std::string& clinc) {
  auto train = kefu::LoadLabelledQuestions(clinc + "/train.jsonl");
  if (!train.ok()) return train.status();
  auto val = kefu::LoadLabelledQuestions(clinc + "/val.jsonl");
  if (!val.ok()) return val.status();
  std::vector<std::string> intents;
  std::map<std::string, std::vector<std::string>> train_of, val_of;
  for (const auto& q : *train) {
    if (train_of[q.intent].empty()) intents.push_back(q.intent);
    train_of[q.intent].push_back(q.text);
  }
  for (const auto& q : *val) val_of[q.intent].push_back(q.text);
  Synthetic s;
  s.kb.name = "synthetic";
  s.kb.language = "en";
  const size_t num_intents = intents.size();
  // About 3,000 test questions whatever the size: every entry's when small, a sample when large.
  const size_t test_every = std::max<size_t>(1, entries / 3000);
  for (size_t k = 0; k < entries; ++k) {
    Rng rng(k * 7919 + 17);
    const std::string& intent = intents[k % num_intents];
    const std::string name = ProductName(k / num_intents);
    kefu::KbEntry e;
    e.id = "e" + std::to_string(k);
    e.title = intent + " " + name;
    for (char& c : e.title) {
      if (c == '_') c = ' ';
    }
    e.answer = e.title;
    const auto& pool = train_of[intent];
    for (int i = 0; i < examples; ++i) e.questions.push_back(WithName(pool[rng.Below(pool.size())], name, &rng));
    if (k % test_every == 0) {
      const auto& held = val_of[intent];
      s.test.push_back({WithName(held[rng.Below(held.size())], name, &rng), e.id});
    }
    s.kb.entries.push_back(std::move(e));
  }
  return s;
}

// What Match decided for the test questions, by whether they were in scope.
struct Decisions {
  size_t answered_right = 0, answered_wrong = 0, clarified_with_gold = 0, clarified_without = 0, escalated = 0;
  size_t oos_answered = 0, oos_clarified = 0, oos_escalated = 0;

  void Add(const kefu::MatchResult& r, int gold) {
    const bool escalate = r.decision != kefu::MatchDecision::kAnswer && r.decision != kefu::MatchDecision::kClarify;
    if (gold < 0) {
      oos_answered += r.decision == kefu::MatchDecision::kAnswer;
      oos_clarified += r.decision == kefu::MatchDecision::kClarify;
      oos_escalated += escalate;
      return;
    }
    if (r.decision == kefu::MatchDecision::kAnswer) {
      (r.candidates[0].entry == gold ? answered_right : answered_wrong) += 1;
    } else if (r.decision == kefu::MatchDecision::kClarify) {
      bool has = false;
      for (const auto& c : r.candidates) has = has || c.entry == gold;
      (has ? clarified_with_gold : clarified_without) += 1;
    } else {
      ++escalated;
    }
  }
  std::string Json() const {
    char buf[400];
    std::snprintf(buf, sizeof(buf),
                  "{\"answered_right\":%zu,\"answered_wrong\":%zu,\"clarified_with_gold\":%zu,"
                  "\"clarified_without_gold\":%zu,\"escalated\":%zu,\"oos_answered\":%zu,\"oos_clarified\":%zu,"
                  "\"oos_escalated\":%zu}",
                  answered_right, answered_wrong, clarified_with_gold, clarified_without, escalated, oos_answered,
                  oos_clarified, oos_escalated);
    return buf;
  }
};

std::pair<double, double> Percentiles(std::vector<double> v) {
  if (v.empty()) return {0, 0};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
  return {at(0.5), at(0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kefu matcher benchmark: build time, memory, latency and accuracy"};
  std::string train_path, val_path, test_path, clinc, scorer = "auto", scores_out, latencies_out;
  size_t synthetic = 0;
  int examples = 6, rounds = 3;
  int options_budget = kefu::CentroidIndexOptions().postings_budget;
  int options_rescore = kefu::CentroidIndexOptions().rescore_candidates;
  int options_max_terms = kefu::CentroidIndexOptions().max_terms_per_class;
  app.add_option("--train", train_path, "Labelled training questions (one entry per intent)");
  app.add_option("--val", val_path, "Labelled calibration questions (oos rows out of scope)");
  app.add_option("--test", test_path, "Labelled test questions");
  app.add_option("--synthetic", synthetic, "Build a synthetic KB of this many entries instead");
  app.add_option("--clinc", clinc, "CLINC150 folder for --synthetic");
  app.add_option("--examples", examples, "Example questions per synthetic entry (default 6)");
  app.add_option("--scorer", scorer, "auto, linear or centroid");
  app.add_option("--budget", options_budget, "Centroid index: postings budget of stage 1");
  app.add_option("--max-terms", options_max_terms, "Centroid index: terms kept per centroid (0: all)");
  app.add_option("--rescore", options_rescore, "Centroid index: candidates rescored in stage 2");
  kefu::MatcherOptions tuned;
  app.add_option("--unspaced-ngram-max", tuned.features.unspaced_ngram_max, "Character n-grams of unspaced runs: longest");
  app.add_option("--pair-window", tuned.features.pair_window, "Word pairs within this many positions");
  int han_units = static_cast<int>(tuned.features.han_units);
  app.add_option("--han-units", han_units, "Chinese word units: 0 character pairs, 1 words, 2 both");
  app.add_option("--c", tuned.model.c, "Regularisation of the linear model");
  app.add_option("--clarify-band", tuned.clarify_band, "Clarify down to this far below the threshold");
  app.add_option("--holdout-rounds", tuned.holdout_rounds, "Rounds of the holdout calibration (0: auto)");
  app.add_option("--seed", tuned.seed, "Seed of the holdout calibration");
  app.add_option("--holdout-target", tuned.holdout_target_oos_recall, "Out-of-scope recall asked of the holdout calibration");
  app.add_option("--max-passes", tuned.model.max_passes, "Training passes");
  app.add_option("--unknown-word-weight", tuned.unknown_word_weight, "Confidence penalty per unknown word share");
  app.add_option("--unsupported-word-weight", tuned.unsupported_word_weight, "Confidence penalty per unsupported word share");
  app.add_option("--rounds", rounds, "Rounds over the test questions; the first warms up (default 3)");
  app.add_option("--scores-out", scores_out, "Write gold, predicted, confidence per test question (TSV)");
  app.add_option("--latencies-out", latencies_out, "Write the per-question latencies in microseconds");
  CLI11_PARSE(app, argc, argv);

  tuned.features.han_units = static_cast<kefu::HanUnits>(han_units);
  kefu::MatcherOptions options = tuned;
  options.centroid.postings_budget = options_budget;
  options.centroid.rescore_candidates = options_rescore;
  options.centroid.max_terms_per_class = options_max_terms;
  if (scorer == "linear") options.scorer = kefu::ScorerKind::kLinear;
  else if (scorer == "centroid") options.scorer = kefu::ScorerKind::kCentroid;
  else if (scorer != "auto") {
    std::fprintf(stderr, "--scorer: auto, linear or centroid\n");
    return 2;
  }
  kefu::KnowledgeBase kb;
  std::vector<kefu::LabelledQuestion> test, val;
  size_t train_questions = 0;
  if (synthetic > 0) {
    auto s = MakeSynthetic(synthetic, examples, clinc);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
      return 1;
    }
    kb = std::move(s->kb);
    test = std::move(s->test);
    train_questions = kb.entries.size() * examples;
  } else {
    auto train = kefu::LoadLabelledQuestions(train_path);
    auto loaded_test = kefu::LoadLabelledQuestions(test_path);
    if (!train.ok() || !loaded_test.ok()) {
      std::fprintf(stderr, "%s\n", (!train.ok() ? train.status() : loaded_test.status()).ToString().c_str());
      return 1;
    }
    auto from = kefu::KnowledgeBaseFromLabelled(*train, "oos");
    if (!from.ok()) {
      std::fprintf(stderr, "%s\n", from.status().ToString().c_str());
      return 1;
    }
    kb = std::move(*from);
    test = std::move(*loaded_test);
    train_questions = train->size();
    if (!val_path.empty()) {
      auto loaded = kefu::LoadLabelledQuestions(val_path);
      if (!loaded.ok()) {
        std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
        return 1;
      }
      val = std::move(*loaded);
    }
  }
  options.calibrate_on_holdout = val.empty();

  const size_t rss_before = PeakRssBytes();
  const auto build_start = Clock::now();
  const double build_cpu_start = ThreadCpuSeconds();
  auto matcher = kefu::Matcher::Build(kb, options);
  if (!matcher.ok()) {
    std::fprintf(stderr, "%s\n", matcher.status().ToString().c_str());
    return 1;
  }
  const double build_seconds = SecondsSince(build_start);
  const double build_cpu_seconds = ThreadCpuSeconds() - build_cpu_start;
  const auto calibrate_start = Clock::now();
  if (!val.empty()) {
    kefu::Status s = (*matcher)->CalibrateOn(val, "oos");
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  const double calibrate_seconds = SecondsSince(calibrate_start);

  std::vector<kefu::ScoredSample> samples;
  for (const auto& q : test) {
    const int gold = q.intent == "oos" ? -1 : (*matcher)->FindEntry(q.intent);
    const auto top = (*matcher)->Rank(q.text, 1);
    samples.push_back(top.empty() ? kefu::ScoredSample{-1e9f, gold, -1}
                                  : kefu::ScoredSample{top[0].confidence, gold, top[0].entry});
  }
  if (!scores_out.empty()) {
    std::ofstream out(scores_out);
    for (size_t i = 0; i < test.size(); ++i) {
      out << test[i].intent << "\t" << (samples[i].predicted >= 0 ? (*matcher)->entry_id(samples[i].predicted) : "")
          << "\t" << samples[i].confidence << "\n";
    }
  }
  Decisions decisions;
  std::vector<double> micros;
  double cpu_seconds = 0;
  size_t cpu_queries = 0;
  for (int round = 0; round < rounds; ++round) {
    const double cpu_start = ThreadCpuSeconds();
    for (size_t i = 0; i < test.size(); ++i) {
      const auto start = Clock::now();
      const kefu::MatchResult r = (*matcher)->Match(test[i].text);
      const double us = SecondsSince(start) * 1e6;
      if (round == 0) decisions.Add(r, samples[i].gold);
      if (round > 0 || rounds == 1) micros.push_back(us);
      if (r.candidates.size() > 1000) std::abort();  // keeps the call from being optimised away
    }
    if (round > 0 || rounds == 1) {
      cpu_seconds += ThreadCpuSeconds() - cpu_start;
      cpu_queries += test.size();
    }
  }
  if (!latencies_out.empty()) {
    std::ofstream out(latencies_out);
    for (double m : micros) out << m << "\n";
  }
  const auto [p50, p99] = Percentiles(micros);
  const kefu::AccuracyFigures f = kefu::ComputeAccuracy(samples, (*matcher)->threshold());
  std::printf(
      "{\"entries\":%zu,\"train_questions\":%zu,\"scorer\":\"%s\",\"build_seconds\":%.3f,\"build_cpu_seconds\":%.3f,"
      "\"calibrate_seconds\":%.3f,\"cpu_us_per_query_mean\":%.1f,"
      "\"features\":%zu,\"model_bytes\":%zu,\"us_per_query_p50\":%.1f,\"us_per_query_p99\":%.1f,"
      "\"test_questions\":%zu,\"in_scope_accuracy\":%.4f,\"in_scope_accuracy_at_threshold\":%.4f,\"oos_recall\":%.4f,"
      "\"threshold\":%.4f,\"calibration\":\"%s\",\"peak_rss_bytes\":%zu,\"rss_before_build_bytes\":%zu,"
      "\"decisions\":%s}\n",
      kb.entries.size(), train_questions, std::string(kefu::ScorerKindName((*matcher)->scorer())).c_str(),
      build_seconds, build_cpu_seconds, calibrate_seconds, cpu_queries ? cpu_seconds * 1e6 / cpu_queries : 0.0,
      (*matcher)->num_features(), (*matcher)->MemoryBytes(), p50, p99, test.size(),
      f.in_scope_accuracy, f.in_scope_accuracy_at_threshold, f.oos_recall, (*matcher)->threshold(),
      (*matcher)->threshold_source().name.c_str(), PeakRssBytes(), rss_before, decisions.Json().c_str());
  return 0;
}
