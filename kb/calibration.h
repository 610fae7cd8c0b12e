// Choosing the escalation threshold, and the accuracy figures that judge it. Pure functions
// over scored questions: no model, no I/O.
#ifndef KEFU_KB_CALIBRATION_H_
#define KEFU_KB_CALIBRATION_H_

#include <string_view>
#include <vector>

namespace kefu {

// One question as the matcher saw it.
struct ScoredSample {
  float confidence = 0;  // the matcher's confidence in its best entry
  int gold = -1;         // the right entry, or -1 when the question is out of scope
  int predicted = -1;    // the matcher's best entry
};

// What the threshold is chosen to maximise.
enum class CalibrationObjective {
  // The share of in-scope questions answered correctly, among thresholds that escalate at least
  // `target_oos_recall` of the out-of-scope questions with one standard error to spare
  // (recall - sqrt(recall (1 - recall) / n) >= target, so that a target met on 100 calibration
  // questions is still met on new ones). This is the default: a helpdesk wants the bot to
  // answer all it can, but it must not answer questions it does not know.
  kInScopeAccuracyAtOosRecall,
  // In-scope accuracy at threshold plus out-of-scope recall (both populations weigh the same,
  // whatever their sizes).
  kBalanced,
};

struct CalibrationOptions {
  CalibrationObjective objective = CalibrationObjective::kInScopeAccuracyAtOosRecall;
  // For kInScopeAccuracyAtOosRecall. Default 0.85.
  double target_oos_recall = 0.85;
};

struct AccuracyFigures {
  size_t in_scope = 0;
  size_t out_of_scope = 0;
  double in_scope_accuracy = 0;               // top-1, no rejection
  double in_scope_accuracy_at_threshold = 0;  // right entry and not escalated
  double oos_recall = 0;                      // out-of-scope questions escalated
  double oos_precision = 0;                   // escalated questions that were out of scope
  double overall_accuracy = 0;                // out of scope counted as its own class
  // Questions answered (not escalated) with a wrong entry, in scope or not, over all questions:
  // the confident wrong answers that hurt a helpdesk most.
  double false_answer_rate = 0;
};

// The figures for `samples` when questions with confidence below `threshold` escalate.
// Ratios with an empty denominator are 0.
AccuracyFigures ComputeAccuracy(const std::vector<ScoredSample>& samples, float threshold);

// The threshold that maximises the objective over `samples` (which need both in-scope and
// out-of-scope questions; with none out of scope, returns the lowest confidence). Ties go to
// the lower threshold, which answers more. When no threshold reaches the target recall, the
// one with the highest recall.
float ChooseThreshold(const std::vector<ScoredSample>& samples, const CalibrationOptions& options);

// "in_scope_accuracy_at_oos_recall" or "balanced".
std::string_view CalibrationObjectiveName(CalibrationObjective objective);

}  // namespace kefu

#endif  // KEFU_KB_CALIBRATION_H_
