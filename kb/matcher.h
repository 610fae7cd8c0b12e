// The matcher: the bot's brain. Built from a knowledge base, it decides for each question
// whether to answer (one entry), clarify (offer two or three close entries) or escalate to a
// person. Rules run first; then a linear model over word, word-pair and character features
// scores every entry; a calibrated confidence threshold decides.
#ifndef KEFU_KB_MATCHER_H_
#define KEFU_KB_MATCHER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kb/calibration.h"
#include "kb/centroid_index.h"
#include "kb/text_features.h"
#include "kb/knowledge_base.h"
#include "kb/labelled.h"
#include "kb/linear_model.h"
#include "kb/rules.h"

namespace kefu {

enum class MatchDecision { kAnswer, kClarify, kEscalate, kSmallTalk };

// Why the matcher decided as it did.
enum class MatchReason {
  kConfident,         // answer: the best entry is clear
  kAmbiguous,         // clarify: several entries are close
  kLowConfidence,     // escalate: nothing in the KB fits
  kAskedForPerson,    // escalate: a handoff rule matched ("转人工", "talk to a human")
  kHandoffEntry,      // escalate: the best entry is marked handoff
  kEmptyQuestion,     // small talk: no words at all; the bot asks what the question is
  kGreeting,          // small talk
  kThanks,            // small talk
};

std::string_view MatchDecisionName(MatchDecision d);  // "answer", "clarify", "escalate", "small_talk"
std::string_view MatchReasonName(MatchReason r);      // "confident", "ambiguous", ...

struct MatchCandidate {
  int entry = -1;         // index into the KB's entries
  float confidence = 0;   // the model's margin minus the unknown-word penalty
};

struct MatchResult {
  MatchDecision decision = MatchDecision::kEscalate;
  MatchReason reason = MatchReason::kLowConfidence;
  // answer: the entry first; clarify: the 2-3 choices; escalate: the nearest entries, best
  // first (for agents' suggestions). Empty for small talk and rules.
  std::vector<MatchCandidate> candidates;
  // The small-talk reply or the rule's acknowledgement, in the KB's language.
  std::string reply;
};

// How the matcher scores the entries.
enum class ScorerKind {
  kAuto,      // the linear model up to MatcherOptions::linear_max_cells, the centroid index above
  kLinear,    // one-vs-rest linear SVMs (linear_model.h): the most accurate; memory and training
              // time grow with features x entries
  kCentroid,  // nearest centroid through an inverted index (centroid_index.h): grows with the
              // KB's text only, for KBs of thousands to hundreds of thousands of entries
};

std::string_view ScorerKindName(ScorerKind kind);  // "auto", "linear", "centroid"

struct MatcherOptions {
  FeatureOptions features;
  ScorerKind scorer = ScorerKind::kAuto;
  // kAuto takes the linear model while features x entries (the cells of its dense weight
  // matrix) is at most this, and the centroid index above. Default 2^27 (134M cells: a 134 MB
  // int8 model, trained through a 537 MB float matrix): about 2,000 entries of 10 examples.
  // Measured at that size (docs/performance.md): the linear model is still about 4 points more
  // accurate but takes about 60 s to train; beyond it both its memory and its training time
  // grow with the square of the KB, while the centroid index builds in seconds.
  size_t linear_max_cells = size_t{1} << 27;
  LinearModelOptions model;
  CentroidIndexOptions centroid;
  // Features seen in fewer examples are dropped. 0 (default) picks 2 for KBs of 5,000 or more
  // examples (rare n-grams there are mostly noise and memory) and 1 below.
  int min_df = 0;
  // Use each entry's title as one more example question. Default true.
  bool titles_as_examples = true;
  // Confidence = best margin - unknown_word_weight * share of the question's words the KB has
  // never seen. Default 2: unknown words are the clearest sign of an out-of-scope question.
  // The centroid index's margin is centroid_margin_scale * (cosine - 0.5), on the same scale.
  float unknown_word_weight = 2.0f;
  // ... minus unsupported_word_weight * the share of the question's known words (by TF-IDF
  // weight, scaled by the share of known words) that the entry's model does not count as evidence
  // for it (a weight of 0 or below). An answer needs evidence beyond one shared keyword: "what's
  // the wifi password" shares only "password" with the password-reset entry.
  float unsupported_word_weight = 0.0f;
  // Default 2: cosines in [0, 1] become margins in [-1, 1] like the SVMs'.
  float centroid_margin_scale = 2.0f;
  // Clarify when the runner-up is within this of the best. Default 0.25.
  float clarify_margin = 0.25f;
  // ... and the best is at least the threshold minus this. Default 0.25.
  float clarify_band = 0.25f;
  // How many candidates a result carries. Default 3.
  int max_candidates = 3;
  CalibrationOptions calibration;
  // The out-of-scope recall asked of the holdout calibration. Default 0.6: held-out entries are
  // nearer to the KB than real out-of-scope questions, so a lower target on them still escalated
  // 85% of CLINC150's out-of-scope validation questions (and 0.85 here escalated 97% of them
  // but also 15% of the questions the bot gets right).
  double holdout_target_oos_recall = 0.6;
  // For calibration without out-of-scope examples: the share of entries held out as stand-ins
  // for unknown questions, and of the remaining examples held out as known questions. 0.2 each.
  double holdout_entries = 0.2;
  double holdout_examples = 0.2;
  // Rounds of the holdout calibration, each holding out the next holdout_entries share of the
  // entries (five rounds: every entry once), their scores pooled. 0 (default) picks 5 for KBs
  // of at most holdout_rounds_below_examples examples and 1 above: in a small KB one round's
  // stand-ins are a handful of topics and the threshold moves with which ones were drawn, and
  // training is cheap; a large KB has stand-ins enough, and four more trainings would double
  // its build time.
  int holdout_rounds = 0;
  size_t holdout_rounds_below_examples = 5000;
  // False skips the holdout calibration (for callers that calibrate with CalibrateOn next);
  // the threshold is then 0 until they do.
  bool calibrate_on_holdout = true;
  uint64_t seed = 1;
};

// Where the threshold came from.
struct ThresholdSource {
  std::string name;  // "kb setting", "validation", "kb holdout"
  AccuracyFigures expected;  // the figures on the calibration data (empty for "kb setting")
};

// The trained part of a matcher: the features' vocabulary and one of the two scorers.
struct MatcherModel {
  Vectorizer vectorizer;
  ScorerKind kind = ScorerKind::kLinear;  // kLinear or kCentroid, never kAuto
  LinearModel linear;                     // when kind is kLinear
  CentroidIndex centroid;                 // when kind is kCentroid
  size_t MemoryBytes() const {
    return vectorizer.MemoryBytes() + linear.MemoryBytes() + centroid.MemoryBytes();
  }
};

// An immutable, thread-safe matcher over one KB. It keeps a copy of what it needs from the KB.
class Matcher {
 public:
  using Progress = std::function<void(std::string_view stage, size_t done, size_t total)>;

  // Trains the model on the KB's examples and calibrates the threshold from them (or takes the
  // KB's answer_threshold setting). InvalidArgument when a rule pattern is bad.
  static Result<std::unique_ptr<Matcher>> Build(const KnowledgeBase& kb, const MatcherOptions& options,
                                                const Progress& progress = nullptr);

  // Decides for one question (raw customer text). Thread-safe.
  MatchResult Match(std::string_view question) const;

  // The model's best `k` entries for a question with their confidences, best first; no rules,
  // no threshold. Thread-safe.
  std::vector<MatchCandidate> Rank(std::string_view question, int k) const;

  // Re-calibrates the threshold on labelled questions; those whose intent is `oos_label` or not
  // an entry id count as out of scope. InvalidArgument when there is nothing to calibrate on.
  Status CalibrateOn(const std::vector<LabelledQuestion>& questions, std::string_view oos_label);

  // Scores labelled questions (out of scope as above) without deciding.
  std::vector<ScoredSample> ScoreLabelled(const std::vector<LabelledQuestion>& questions,
                                          std::string_view oos_label) const;

  float threshold() const { return threshold_; }
  const ThresholdSource& threshold_source() const { return threshold_source_; }
  size_t num_entries() const { return entry_ids_.size(); }
  const std::string& entry_id(int entry) const { return entry_ids_[entry]; }
  // Index of the entry with `id`, or -1.
  int FindEntry(std::string_view id) const;
  size_t num_features() const { return model_.vectorizer.num_features(); }
  // The scorer Build chose: kLinear or kCentroid.
  ScorerKind scorer() const { return model_.kind; }
  size_t MemoryBytes() const { return model_.MemoryBytes(); }

 private:
  Matcher() = default;
  std::vector<MatchCandidate> RankNormalized(std::string_view normalized, int k) const;

  MatcherOptions options_;
  std::string language_;
  std::vector<std::string> entry_ids_;
  std::vector<bool> handoff_;
  std::unique_ptr<RuleSet> rules_;
  MatcherModel model_;
  float threshold_ = 0;
  ThresholdSource threshold_source_;
};

}  // namespace kefu

#endif  // KEFU_KB_MATCHER_H_
