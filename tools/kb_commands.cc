#include "tools/kb_commands.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "base/json.h"
#include "kb/import.h"
#include "kb/labelled.h"
#include "kb/matcher.h"
#include "tools/progress.h"

namespace kefu {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void PrintError(const Status& s) { std::fprintf(stderr, "kefu: %s\n", s.message().c_str()); }

int Fail(const Status& s) {
  PrintError(s);
  return 1;
}

size_t PeakRssBytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;
}

Result<std::unique_ptr<Matcher>> BuildMatcher(const KnowledgeBase& kb, const MatcherOptions& options) {
  ProgressBar bar;
  auto matcher = Matcher::Build(kb, options, [&](std::string_view stage, size_t done, size_t total) {
    bar.Update(stage, done, total);
  });
  bar.Finish();
  return matcher;
}

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

const std::string& AnswerFor(const KbEntry& e, const std::string& channel) {
  auto it = e.variants.find(channel);
  return it == e.variants.end() ? e.answer : it->second;
}

std::string FormatResult(const KnowledgeBase& kb, const MatchResult& r, const AskArgs& args) {
  auto entry = [&](const MatchCandidate& c) -> const KbEntry& { return kb.entries[c.entry]; };
  if (args.json) {
    std::string out = "{\"decision\":\"" + std::string(MatchDecisionName(r.decision)) + "\",\"reason\":\"" +
                      std::string(MatchReasonName(r.reason)) + "\"";
    if (r.decision == MatchDecision::kAnswer) {
      out += ",\"answer\":";
      AppendJsonString(AnswerFor(entry(r.candidates[0]), args.channel), &out);
    }
    if (!r.reply.empty()) {
      out += ",\"reply\":";
      AppendJsonString(r.reply, &out);
    }
    out += ",\"candidates\":[";
    for (size_t i = 0; i < r.candidates.size(); ++i) {
      if (i) out += ",";
      out += "{\"id\":";
      AppendJsonString(entry(r.candidates[i]).id, &out);
      out += ",\"title\":";
      AppendJsonString(entry(r.candidates[i]).title, &out);
      char conf[32];
      std::snprintf(conf, sizeof(conf), "%.4f", r.candidates[i].confidence);
      out += std::string(",\"confidence\":") + conf + "}";
    }
    return out + "]}";
  }
  switch (r.decision) {
    case MatchDecision::kAnswer:
      return "[answer " + entry(r.candidates[0]).id + "] " + OneLine(AnswerFor(entry(r.candidates[0]), args.channel));
    case MatchDecision::kClarify: {
      std::string out = "[clarify] ";
      for (size_t i = 0; i < r.candidates.size(); ++i) {
        out += (i ? " | " : "") + std::to_string(i + 1) + ") " + entry(r.candidates[i]).title;
      }
      return out;
    }
    case MatchDecision::kEscalate: {
      std::string out = "[escalate " + std::string(MatchReasonName(r.reason)) + "]";
      if (!r.reply.empty()) out += " " + r.reply;
      if (r.reason == MatchReason::kHandoffEntry) out += " (entry " + entry(r.candidates[0]).id + ")";
      else if (!r.candidates.empty()) out += " (nearest: " + entry(r.candidates[0]).id + ")";
      return out;
    }
    case MatchDecision::kSmallTalk:
    {
      // Built by appending: GCC 12 warns falsely (-Wrestrict) on "[" + std::string(...).
      std::string out = "[";
      out += MatchReasonName(r.reason);
      out += "] ";
      out += r.reply;
      return out;
    }
  }
  return "";
}

// Median and 99th percentile of `v` (sorted in place).
std::pair<double, double> Percentiles(std::vector<double>* v) {
  if (v->empty()) return {0, 0};
  std::sort(v->begin(), v->end());
  auto at = [&](double q) { return (*v)[std::min(v->size() - 1, static_cast<size_t>(q * static_cast<double>(v->size())))]; };
  return {at(0.5), at(0.99)};
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

}  // namespace

int RunAsk(const AskArgs& args) {
  auto kb = LoadKnowledgeBase(args.kb_path);
  if (!kb.ok()) {
    PrintError(kb.status());
    return 1;
  }
  auto matcher = BuildMatcher(*kb, MatcherOptions());
  if (!matcher.ok()) {
    PrintError(matcher.status());
    return 1;
  }
  for (const std::string& q : args.questions) std::cout << FormatResult(*kb, (*matcher)->Match(q), args) << "\n";
  if (!args.questions.empty()) return 0;
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  std::string line;
  while (true) {
    if (terminal) std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::cout << FormatResult(*kb, (*matcher)->Match(line), args) << std::endl;
  }
  return 0;
}

int RunKbLint(const std::string& path) {
  auto kb = LoadKnowledgeBase(path);
  if (!kb.ok()) {
    PrintError(kb.status());
    return 1;
  }
  size_t questions = 0, thin = 0;
  for (const KbEntry& e : kb->entries) {
    questions += e.questions.size();
    thin += e.questions.size() < 3;
  }
  std::printf("%s: OK (%zu entries, %zu example questions)\n", path.c_str(), kb->entries.size(), questions);
  if (thin > 0) {
    std::printf("%s: note: %zu entries have fewer than 3 example questions; more paraphrases make matching surer\n",
                path.c_str(), thin);
  }
  const size_t review = std::count_if(kb->entries.begin(), kb->entries.end(), [](const KbEntry& e) {
    return std::find(e.tags.begin(), e.tags.end(), kNeedsReviewTag) != e.tags.end();
  });
  if (review > 0) {
    std::printf("%s: note: %zu entries are tagged %s (imported without a usable answer): review them\n", path.c_str(),
                review, std::string(kNeedsReviewTag).c_str());
  }
  return 0;
}

int RunKbEval(const EvalArgs& args) {
  std::vector<LabelledQuestion> train;
  Result<KnowledgeBase> kb = Status::InvalidArgument("give --kb or --train");
  IntentLabels labels;  // the labels of test and val rows name entries through it
  if (!args.kb_path.empty()) {
    kb = LoadKnowledgeBase(args.kb_path);
    if (!kb.ok()) return Fail(kb.status());
    for (const KbEntry& e : kb->entries) {
      for (const std::string& q : e.questions) train.push_back({q, e.id, 0});
    }
    labels = IntentLabels::Of(*kb);
  } else {
    auto loaded = LoadLabelledQuestions(args.train_path);
    if (!loaded.ok()) return Fail(loaded.status());
    train = std::move(*loaded);
    kb = KnowledgeBaseFromLabelled(train, args.oos_label, &labels);
    if (!kb.ok()) return Fail(kb.status().WithContext(args.train_path));
  }
  auto test = LoadLabelledQuestions(args.test_path);
  if (!test.ok()) return Fail(test.status());
  if (Status s = ResolveLabels(labels, args.oos_label, args.test_path, &*test); !s.ok()) return Fail(s);
  std::vector<LabelledQuestion> val;
  if (!args.val_path.empty()) {
    auto loaded = LoadLabelledQuestions(args.val_path);
    if (!loaded.ok()) return Fail(loaded.status());
    val = std::move(*loaded);
    if (Status s = ResolveLabels(labels, args.oos_label, args.val_path, &val); !s.ok()) return Fail(s);
  }
  MatcherOptions options;
  options.calibrate_on_holdout = val.empty();
  if (args.objective == "balanced") {
    options.calibration.objective = CalibrationObjective::kBalanced;
  } else if (args.objective != "in_scope_accuracy_at_oos_recall") {
    return Fail(Status::InvalidArgument("--objective: expected in_scope_accuracy_at_oos_recall or balanced"));
  }
  options.calibration.target_oos_recall = args.target_oos_recall;

  const auto build_start = Clock::now();
  auto matcher = BuildMatcher(*kb, options);
  if (!matcher.ok()) return Fail(matcher.status());
  if (!val.empty()) {
    Status s = (*matcher)->CalibrateOn(val, args.oos_label);
    if (!s.ok()) return Fail(s.WithContext(args.val_path));
  }
  const double build_seconds = SecondsSince(build_start);

  ProgressBar bar;
  std::vector<ScoredSample> samples;
  std::vector<double> micros;
  samples.reserve(test->size());
  micros.reserve(test->size());
  for (size_t i = 0; i < test->size(); ++i) {
    const LabelledQuestion& q = (*test)[i];
    const auto start = Clock::now();
    const auto top = (*matcher)->Rank(q.text, 1);
    micros.push_back(SecondsSince(start) * 1e6);
    const int gold = q.intent == args.oos_label ? -1 : (*matcher)->FindEntry(q.intent);
    samples.push_back(top.empty() ? ScoredSample{-1e9f, gold, -1} : ScoredSample{top[0].confidence, gold, top[0].entry});
    bar.Update("evaluating", i + 1, test->size());
  }
  bar.Finish();
  const AccuracyFigures f = ComputeAccuracy(samples, (*matcher)->threshold());
  const auto [p50, p99] = Percentiles(&micros);
  const ThresholdSource& source = (*matcher)->threshold_source();

  if (args.json) {
    std::string out = "{";
    auto num = [&](const char* name, const std::string& v) { out += std::string("\"") + name + "\":" + v + ","; };
    num("in_scope_accuracy", Fixed(f.in_scope_accuracy, 4));
    num("in_scope_accuracy_at_threshold", Fixed(f.in_scope_accuracy_at_threshold, 4));
    num("oos_recall", Fixed(f.oos_recall, 4));
    num("oos_precision", Fixed(f.oos_precision, 4));
    num("overall_accuracy", Fixed(f.overall_accuracy, 4));
    num("false_answer_rate", Fixed(f.false_answer_rate, 4));
    num("build_seconds", Fixed(build_seconds, 3));
    num("us_per_query_p50", Fixed(p50, 1));
    num("us_per_query_p99", Fixed(p99, 1));
    num("threshold", Fixed((*matcher)->threshold(), 4));
    out += "\"calibration\":";
    AppendJsonString(source.name, &out);
    out += ",\"calibration_objective\":";
    AppendJsonString(CalibrationObjectiveName(options.calibration.objective), &out);
    out += ",";
    num("calibration_in_scope_accuracy_at_threshold", Fixed(source.expected.in_scope_accuracy_at_threshold, 4));
    num("calibration_oos_recall", Fixed(source.expected.oos_recall, 4));
    num("intents", std::to_string(kb->entries.size()));
    num("train_questions", std::to_string(train.size()));
    num("test_in_scope", std::to_string(f.in_scope));
    num("test_out_of_scope", std::to_string(f.out_of_scope));
    num("features", std::to_string((*matcher)->num_features()));
    num("model_bytes", std::to_string((*matcher)->MemoryBytes()));
    out += "\"peak_rss_bytes\":" + std::to_string(PeakRssBytes()) + "}";
    std::cout << out << "\n";
    return 0;
  }
  std::printf("intents %zu, training questions %zu, test %zu in scope + %zu out of scope\n", kb->entries.size(),
              train.size(), f.in_scope, f.out_of_scope);
  std::printf("in-scope accuracy (top-1)        %.2f%%\n", 100 * f.in_scope_accuracy);
  std::printf("in-scope accuracy at threshold   %.2f%%\n", 100 * f.in_scope_accuracy_at_threshold);
  std::printf("out-of-scope recall              %.2f%%\n", 100 * f.oos_recall);
  std::printf("out-of-scope precision           %.2f%%\n", 100 * f.oos_precision);
  std::printf("overall accuracy                 %.2f%%\n", 100 * f.overall_accuracy);
  std::printf("false answers (answered wrong)   %.2f%%\n", 100 * f.false_answer_rate);
  std::printf("threshold %.4f (%s, %s)\n", (*matcher)->threshold(), source.name.c_str(),
              std::string(CalibrationObjectiveName(options.calibration.objective)).c_str());
  std::printf("build %.3f s; per question p50 %.1f us, p99 %.1f us; peak memory %.1f MB\n", build_seconds, p50, p99,
              static_cast<double>(PeakRssBytes()) / 1e6);
  return 0;
}

int RunKbBench(const std::string& train_path, const std::string& test_path, bool json) {
  auto train = LoadLabelledQuestions(train_path);
  if (!train.ok()) return Fail(train.status());
  auto test = LoadLabelledQuestions(test_path);
  if (!test.ok()) return Fail(test.status());
  auto kb = KnowledgeBaseFromLabelled(*train, "oos");
  if (!kb.ok()) return Fail(kb.status().WithContext(train_path));
  const size_t rss_before = PeakRssBytes();
  const auto build_start = Clock::now();
  auto matcher = BuildMatcher(*kb, MatcherOptions());
  if (!matcher.ok()) return Fail(matcher.status());
  const double build_seconds = SecondsSince(build_start);
  // Three rounds over the test questions; the first warms the caches.
  std::vector<double> micros;
  size_t answered = 0;
  ProgressBar bar;
  const auto run_start = Clock::now();
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < test->size(); ++i) {
      const auto start = Clock::now();
      const MatchResult r = (*matcher)->Match((*test)[i].text);
      if (round > 0) micros.push_back(SecondsSince(start) * 1e6);
      answered += r.decision == MatchDecision::kAnswer;
      bar.Update("matching", round * test->size() + i + 1, 3 * test->size());
    }
  }
  bar.Finish();
  const double run_seconds = SecondsSince(run_start);
  double mean = 0;
  for (double m : micros) mean += m;
  mean /= std::max<size_t>(1, micros.size());
  const auto [p50, p99] = Percentiles(&micros);
  const double qps = static_cast<double>(3 * test->size()) / run_seconds;
  if (json) {
    std::printf("{\"entries\":%zu,\"train_questions\":%zu,\"build_seconds\":%.3f,\"us_per_query_p50\":%.1f,"
                "\"us_per_query_p99\":%.1f,\"us_per_query_mean\":%.1f,\"queries_per_second\":%.0f,"
                "\"features\":%zu,\"model_bytes\":%zu,\"peak_rss_bytes\":%zu,\"rss_before_build_bytes\":%zu}\n",
                kb->entries.size(), train->size(), build_seconds, p50, p99, mean, qps, (*matcher)->num_features(),
                (*matcher)->MemoryBytes(), PeakRssBytes(), rss_before);
    return 0;
  }
  std::printf("%zu entries from %zu questions: build %.3f s, %zu features, model %.1f MB\n", kb->entries.size(),
              train->size(), build_seconds, (*matcher)->num_features(),
              static_cast<double>((*matcher)->MemoryBytes()) / 1e6);
  std::printf("match (rules + model + decision), one thread: p50 %.1f us, p99 %.1f us, mean %.1f us, %.0f questions/s\n",
              p50, p99, mean, qps);
  std::printf("peak memory %.1f MB\n", static_cast<double>(PeakRssBytes()) / 1e6);
  return 0;
}

}  // namespace kefu
