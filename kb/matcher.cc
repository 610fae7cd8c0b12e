#include "kb/matcher.h"

#include <algorithm>
#include <numeric>

#include "kb/normalize.h"

namespace kefu {
namespace {

// The scorer for a KB of `num_classes` entries whose vocabulary has `num_features` features.
ScorerKind ChooseScorer(const MatcherOptions& options, size_t num_features, int num_classes) {
  if (options.scorer != ScorerKind::kAuto) return options.scorer;
  const double cells = static_cast<double>(num_features) * num_classes;
  return cells <= static_cast<double>(options.linear_max_cells) ? ScorerKind::kLinear : ScorerKind::kCentroid;
}

// Trains vocabulary and scorer on `docs` (labels in [0, num_classes)).
MatcherModel TrainOn(const std::vector<const TextFeatures*>& docs, const std::vector<int>& labels, int num_classes,
                     const MatcherOptions& options, int min_df, const Matcher::Progress& progress,
                     std::string_view stage) {
  MatcherModel t;
  t.vectorizer = Vectorizer::Build(docs, min_df);
  t.kind = ChooseScorer(options, t.vectorizer.num_features(), num_classes);
  SparseMatrix x;
  SparseVector v;
  for (const TextFeatures* d : docs) {
    t.vectorizer.Transform(*d, &v);
    x.AddRow(v);
  }
  if (t.kind == ScorerKind::kCentroid) {
    t.centroid = CentroidIndex::Build(x, labels, num_classes, t.vectorizer.num_features(), options.centroid);
    if (progress) progress(stage, 1, 1);
    return t;
  }
  std::function<void(int, int)> on_class;
  if (progress) {
    on_class = [&](int done, int total) { progress(stage, static_cast<size_t>(done), static_cast<size_t>(total)); };
  }
  t.linear = LinearModel::Train(x, labels, num_classes, t.vectorizer.num_features(), options.model, on_class);
  return t;
}

// The best `k` classes by margin (ties to the lower index), confidence = margin - penalty.
std::vector<MatchCandidate> TopCandidates(const std::vector<float>& scores, float penalty, int k) {
  std::vector<MatchCandidate> out;
  k = std::min<int>(k, static_cast<int>(scores.size()));
  if (k <= 0) return out;  // the loop below reads out.back() once out holds k entries
  out.reserve(k + 1);
  for (int c = 0; c < static_cast<int>(scores.size()); ++c) {
    if (static_cast<int>(out.size()) == k && scores[c] <= out.back().confidence) continue;
    auto at = std::upper_bound(out.begin(), out.end(), scores[c],
                               [](float s, const MatchCandidate& m) { return s > m.confidence; });
    out.insert(at, MatchCandidate{c, scores[c]});
    if (static_cast<int>(out.size()) > k) out.pop_back();
  }
  for (MatchCandidate& m : out) m.confidence -= penalty;
  return out;
}

// The share of the word block of `v` (by squared weight) that the scorer counts as evidence for
// `entry`; 0 when `v` has no known word.
float SupportedShare(const MatcherModel& t, const SparseVector& v, int entry) {
  float total = 0, supported = 0;
  for (size_t i = 0; i < v.word_end; ++i) {
    const float w2 = v.value[i] * v.value[i];
    total += w2;
    const bool supports = t.kind == ScorerKind::kCentroid ? t.centroid.Supports(v.index[i], entry)
                                                          : t.linear.Supports(v.index[i], entry);
    if (supports) supported += w2;
  }
  return total > 0 ? supported / total : 0.0f;
}

// Lowers each candidate's confidence by the share of the question's known words that do not
// support it (MatcherOptions::unsupported_word_weight). The order stays the model's.
void PenaliseUnsupported(const MatcherModel& t, const SparseVector& v, float unknown_rate,
                         const MatcherOptions& options, std::vector<MatchCandidate>* candidates) {
  if (options.unsupported_word_weight == 0) return;
  for (MatchCandidate& c : *candidates) {
    const float unsupported = (1.0f - unknown_rate) * (1.0f - SupportedShare(t, v, c.entry));
    c.confidence -= options.unsupported_word_weight * unsupported;
  }
}

// The best `k` entries for features already turned into `v` (with `unknown_rate` from Transform).
std::vector<MatchCandidate> RankVector(const MatcherModel& t, const SparseVector& v, float unknown_rate,
                                       const MatcherOptions& options, int k) {
  const float penalty = options.unknown_word_weight * unknown_rate;
  std::vector<MatchCandidate> out;
  if (t.kind == ScorerKind::kCentroid) {
    thread_local std::vector<ClassScore> top;
    t.centroid.TopK(v, k, &top);
    out.reserve(top.size());
    for (const ClassScore& s : top) {
      out.push_back({s.label, options.centroid_margin_scale * (s.score - 0.5f) - penalty});
    }
  } else {
    thread_local std::vector<float> scores;
    scores.resize(t.linear.num_classes());
    t.linear.Score(v, scores.data());
    out = TopCandidates(scores, penalty, k);
  }
  PenaliseUnsupported(t, v, unknown_rate, options, &out);
  return out;
}

std::vector<MatchCandidate> RankWith(const MatcherModel& t, const TextFeatures& features, const MatcherOptions& options,
                                     int k) {
  thread_local SparseVector v;
  const float unknown_rate = t.vectorizer.Transform(features, &v);
  return RankVector(t, v, unknown_rate, options, k);
}

int AutoMinDf(size_t examples) { return examples >= 5000 ? 2 : 1; }

class Rng {  // splitmix64, for the calibration holdout
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }

 private:
  uint64_t state_;
};

// Scores, for one round of the holdout calibration, the examples of the entries at positions
// [first, last) of `order` (held out: they stand in for questions the KB cannot answer) with a
// model trained without them and without some examples of the other entries (held out as known
// questions). That model uses `scorer`, the final model's: the threshold is compared with that
// scorer's confidences. (Left to kAuto, a KB just above the switch point calibrated a linear
// model, trained on 80% of its entries, for a centroid index: the wrong confidence scale, and a
// slow training for nothing.)
void ScoreHoldoutRound(const std::vector<TextFeatures>& features, const std::vector<int>& labels,
                       const std::vector<int>& order, size_t first, size_t last, const MatcherOptions& options,
                       ScorerKind scorer, Rng* rng, const Matcher::Progress& progress,
                       std::vector<ScoredSample>* samples) {
  std::vector<int> new_label(order.size(), -1);  // -1: held out as unknown
  int kept = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i < first || i >= last) new_label[order[i]] = kept++;
  }
  std::vector<int> train_count(kept, 0);
  std::vector<const TextFeatures*> train_docs;
  std::vector<int> train_labels;
  std::vector<size_t> held;
  for (size_t i = 0; i < features.size(); ++i) {
    const int label = new_label[labels[i]];
    if (label < 0 || (train_count[label] > 0 && rng->Uniform() < options.holdout_examples)) {
      held.push_back(i);
    } else {
      ++train_count[label];
      train_docs.push_back(&features[i]);
      train_labels.push_back(label);
    }
  }
  MatcherOptions held_options = options;
  held_options.scorer = scorer;
  const MatcherModel t = TrainOn(train_docs, train_labels, kept, held_options, AutoMinDf(train_docs.size()), progress,
                                 "calibrating");
  for (size_t i : held) {
    const int gold = new_label[labels[i]];
    const auto top = RankWith(t, features[i], options, 1);
    samples->push_back(top.empty() ? ScoredSample{-1e9f, gold, -1} : ScoredSample{top[0].confidence, gold, top[0].entry});
  }
}

// Calibrates on the KB alone: holdout_rounds rounds (see MatcherOptions), each holding out a
// different share of the entries, their scores pooled.
float CalibrateOnHoldout(const std::vector<TextFeatures>& features, const std::vector<int>& labels, int num_entries,
                         const MatcherOptions& options, ScorerKind scorer, const Matcher::Progress& progress,
                         AccuracyFigures* expected) {
  Rng rng(options.seed);
  std::vector<int> order(num_entries);
  std::iota(order.begin(), order.end(), 0);
  for (int i = num_entries - 1; i > 0; --i) std::swap(order[i], order[rng.Next() % (i + 1)]);
  const size_t held_entries = std::max(1, static_cast<int>(options.holdout_entries * num_entries + 0.5));
  const int rounds = options.holdout_rounds > 0 ? options.holdout_rounds
                     : features.size() <= options.holdout_rounds_below_examples ? 5 : 1;
  std::vector<ScoredSample> samples;
  for (int r = 0; r < rounds; ++r) {
    // Round r holds out the r-th block of held_entries entries, wrapping round the order.
    const size_t first = (r * held_entries) % order.size();
    std::vector<int> rotated(order.begin() + first, order.end());
    rotated.insert(rotated.end(), order.begin(), order.begin() + first);
    ScoreHoldoutRound(features, labels, rotated, 0, std::min(held_entries, rotated.size() - 1), options, scorer,
                      &rng, progress, &samples);
  }
  CalibrationOptions calibration = options.calibration;
  calibration.target_oos_recall = options.holdout_target_oos_recall;
  const float threshold = ChooseThreshold(samples, calibration);
  *expected = ComputeAccuracy(samples, threshold);
  return threshold;
}

}  // namespace

std::string_view ScorerKindName(ScorerKind kind) {
  switch (kind) {
    case ScorerKind::kAuto: return "auto";
    case ScorerKind::kLinear: return "linear";
    case ScorerKind::kCentroid: return "centroid";
  }
  return "auto";
}

std::string_view MatchDecisionName(MatchDecision d) {
  switch (d) {
    case MatchDecision::kAnswer: return "answer";
    case MatchDecision::kClarify: return "clarify";
    case MatchDecision::kEscalate: return "escalate";
    case MatchDecision::kSmallTalk: return "small_talk";
  }
  return "escalate";
}

std::string_view MatchReasonName(MatchReason r) {
  switch (r) {
    case MatchReason::kConfident: return "confident";
    case MatchReason::kAmbiguous: return "ambiguous";
    case MatchReason::kLowConfidence: return "low_confidence";
    case MatchReason::kAskedForPerson: return "asked_for_person";
    case MatchReason::kHandoffEntry: return "handoff_entry";
    case MatchReason::kEmptyQuestion: return "empty_question";
    case MatchReason::kGreeting: return "greeting";
    case MatchReason::kThanks: return "thanks";
  }
  return "low_confidence";
}

Result<std::unique_ptr<Matcher>> Matcher::Build(const KnowledgeBase& kb, const MatcherOptions& options,
                                                const Progress& progress) {
  if (kb.entries.empty()) return Status::InvalidArgument("the knowledge base has no entries");
  auto rules = RuleSet::Build();
  if (!rules.ok()) return rules.status();
  std::unique_ptr<Matcher> m(new Matcher());
  m->options_ = options;
  m->language_ = kb.language;
  m->rules_ = std::move(*rules);
  std::vector<TextFeatures> features;
  std::vector<int> labels;
  size_t total = 0;
  for (const KbEntry& e : kb.entries) total += e.questions.size() + (options.titles_as_examples ? 1 : 0);
  features.reserve(total);
  for (size_t i = 0; i < kb.entries.size(); ++i) {
    const KbEntry& e = kb.entries[i];
    m->entry_ids_.push_back(e.id);
    m->handoff_.push_back(e.handoff);
    auto add = [&](const std::string& text) {
      features.emplace_back();
      ExtractFeatures(text, options.features, &features.back());
      labels.push_back(static_cast<int>(i));
      if (progress && features.size() % 1000 == 0) progress("reading examples", features.size(), total);
    };
    for (const std::string& q : e.questions) add(q);
    if (options.titles_as_examples) add(e.title);
  }
  const int num_entries = static_cast<int>(kb.entries.size());
  std::vector<const TextFeatures*> docs;
  for (const TextFeatures& f : features) docs.push_back(&f);
  const int min_df = options.min_df > 0 ? options.min_df : AutoMinDf(features.size());
  m->model_ = TrainOn(docs, labels, num_entries, options, min_df, progress, "training");
  docs = {};

  if (kb.settings.answer_threshold) {
    m->threshold_ = static_cast<float>(*kb.settings.answer_threshold);
    m->threshold_source_.name = "kb setting";
  } else if (num_entries >= 3 && options.calibrate_on_holdout) {
    m->threshold_ = CalibrateOnHoldout(features, labels, num_entries, options, m->model_.kind, progress,
                                       &m->threshold_source_.expected);
    m->threshold_source_.name = "kb holdout";
  } else {
    // Too few entries to hold any out: answer when the model leans towards an entry at all.
    m->threshold_ = 0.0f;
    m->threshold_source_.name = "default";
  }
  return m;
}

std::vector<MatchCandidate> Matcher::Rank(std::string_view question, int k) const {
  return RankNormalized(NormalizeText(question), k);
}

std::vector<MatchCandidate> Matcher::RankNormalized(std::string_view normalized, int k) const {
  thread_local TextFeatures features;
  ExtractNormalizedFeatures(normalized, options_.features, &features);
  thread_local SparseVector v;
  const float unknown_rate = model_.vectorizer.Transform(features, &v);
  if (v.index.empty()) return {};
  return RankVector(model_, v, unknown_rate, options_, k);
}

MatchResult Matcher::Match(std::string_view question) const {
  MatchResult r;
  const std::string normalized = NormalizeText(question);
  if (normalized.empty()) {
    r.decision = MatchDecision::kSmallTalk;
    r.reason = MatchReason::kEmptyQuestion;
    r.reply = language_.rfind("zh", 0) == 0 ? "请问您想咨询什么问题？" : "Could you tell me a bit more about your question?";
    return r;
  }
  const RuleKind rule = rules_->Match(normalized);
  if (rule != RuleKind::kNone) {
    r.decision = rule == RuleKind::kHandoff ? MatchDecision::kEscalate : MatchDecision::kSmallTalk;
    r.reason = rule == RuleKind::kHandoff    ? MatchReason::kAskedForPerson
               : rule == RuleKind::kGreeting ? MatchReason::kGreeting
                                             : MatchReason::kThanks;
    r.reply = RuleReply(rule, language_);
    return r;
  }
  r.candidates = RankNormalized(normalized, options_.max_candidates);
  if (r.candidates.empty()) {
    r.decision = MatchDecision::kEscalate;
    r.reason = MatchReason::kLowConfidence;
    return r;
  }
  const float best = r.candidates[0].confidence;
  const float floor = threshold_ - options_.clarify_band;
  size_t close = 0;
  for (const MatchCandidate& c : r.candidates) {
    close += c.confidence >= best - options_.clarify_margin && c.confidence >= floor;
  }
  if (best >= floor && close >= 2) {
    r.decision = MatchDecision::kClarify;
    r.reason = MatchReason::kAmbiguous;
    r.candidates.resize(close);
  } else if (best >= threshold_) {
    const bool handoff = handoff_[r.candidates[0].entry];
    r.decision = handoff ? MatchDecision::kEscalate : MatchDecision::kAnswer;
    r.reason = handoff ? MatchReason::kHandoffEntry : MatchReason::kConfident;
    r.candidates.resize(1);
  } else {
    r.decision = MatchDecision::kEscalate;
    r.reason = MatchReason::kLowConfidence;
  }
  return r;
}

int Matcher::FindEntry(std::string_view id) const {
  for (size_t i = 0; i < entry_ids_.size(); ++i) {
    if (entry_ids_[i] == id) return static_cast<int>(i);
  }
  return -1;
}

std::vector<ScoredSample> Matcher::ScoreLabelled(const std::vector<LabelledQuestion>& questions,
                                                 std::string_view oos_label) const {
  std::vector<ScoredSample> samples;
  samples.reserve(questions.size());
  for (const LabelledQuestion& q : questions) {
    const int gold = q.intent == oos_label ? -1 : FindEntry(q.intent);
    const auto top = Rank(q.text, 1);
    samples.push_back(top.empty() ? ScoredSample{-1e9f, gold, -1} : ScoredSample{top[0].confidence, gold, top[0].entry});
  }
  return samples;
}

Status Matcher::CalibrateOn(const std::vector<LabelledQuestion>& questions, std::string_view oos_label) {
  const std::vector<ScoredSample> samples = ScoreLabelled(questions, oos_label);
  bool any_in = false, any_oos = false;
  for (const ScoredSample& s : samples) {
    any_in = any_in || s.gold >= 0;
    any_oos = any_oos || s.gold < 0;
  }
  if (!any_in) return Status::InvalidArgument("the calibration questions have no in-scope question");
  if (any_oos) {
    threshold_ = ChooseThreshold(samples, options_.calibration);
  }
  // Without out-of-scope questions the holdout threshold stays; the figures still describe it.
  threshold_source_.name = any_oos ? "validation" : threshold_source_.name;
  threshold_source_.expected = ComputeAccuracy(samples, threshold_);
  return Status::OK();
}

}  // namespace kefu
