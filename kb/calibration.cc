#include "kb/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kefu {

AccuracyFigures ComputeAccuracy(const std::vector<ScoredSample>& samples, float threshold) {
  AccuracyFigures f;
  size_t top1 = 0, answered_right = 0, oos_escalated = 0, escalated = 0, overall = 0, answered_wrong = 0;
  for (const ScoredSample& s : samples) {
    const bool escalate = s.confidence < threshold;
    escalated += escalate;
    if (s.gold >= 0) {
      ++f.in_scope;
      top1 += s.predicted == s.gold;
      const bool right = !escalate && s.predicted == s.gold;
      answered_right += right;
      overall += right;
      answered_wrong += !escalate && !right;
    } else {
      ++f.out_of_scope;
      oos_escalated += escalate;
      overall += escalate;
      answered_wrong += !escalate;
    }
  }
  auto ratio = [](size_t a, size_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); };
  f.in_scope_accuracy = ratio(top1, f.in_scope);
  f.in_scope_accuracy_at_threshold = ratio(answered_right, f.in_scope);
  f.oos_recall = ratio(oos_escalated, f.out_of_scope);
  f.oos_precision = ratio(oos_escalated, escalated);
  f.overall_accuracy = ratio(overall, samples.size());
  f.false_answer_rate = ratio(answered_wrong, samples.size());
  return f;
}

float ChooseThreshold(const std::vector<ScoredSample>& samples, const CalibrationOptions& options) {
  // Candidate thresholds: each distinct confidence (escalate everything strictly below it), plus
  // one above the maximum. Sweeping them in increasing order updates the counts incrementally.
  std::vector<ScoredSample> sorted = samples;
  std::sort(sorted.begin(), sorted.end(),
            [](const ScoredSample& a, const ScoredSample& b) { return a.confidence < b.confidence; });
  size_t n_in = 0, n_oos = 0, right_total = 0;
  for (const ScoredSample& s : sorted) {
    if (s.gold >= 0) {
      ++n_in;
      right_total += s.predicted == s.gold;
    } else {
      ++n_oos;
    }
  }
  if (sorted.empty()) return 0.0f;
  if (n_oos == 0 || n_in == 0) return sorted.front().confidence;
  size_t right_escalated = 0, oos_escalated = 0;
  double best_value = -1, best_recall = -1;
  float best = sorted.front().confidence, best_by_recall = best;
  for (size_t i = 0; i <= sorted.size(); ++i) {
    if (i > 0 && i < sorted.size() && sorted[i].confidence == sorted[i - 1].confidence) continue;
    // Threshold t_i = sorted[i].confidence escalates sorted[0..i).
    const float t = i < sorted.size() ? sorted[i].confidence
                                      : std::nextafter(sorted.back().confidence, std::numeric_limits<float>::infinity());
    const double accuracy = static_cast<double>(right_total - right_escalated) / static_cast<double>(n_in);
    const double recall = static_cast<double>(oos_escalated) / static_cast<double>(n_oos);
    double value = -1;
    if (options.objective == CalibrationObjective::kBalanced) {
      value = accuracy + recall;
    } else if (recall - std::sqrt(recall * (1 - recall) / static_cast<double>(n_oos)) >= options.target_oos_recall) {
      value = accuracy;
    }
    if (value > best_value) {
      best_value = value;
      best = t;
    }
    if (recall > best_recall) {
      best_recall = recall;
      best_by_recall = t;
    }
    // Move past every sample at this confidence.
    for (size_t j = i; j < sorted.size() && sorted[j].confidence == t; ++j) {
      if (sorted[j].gold >= 0) right_escalated += sorted[j].predicted == sorted[j].gold;
      else ++oos_escalated;
    }
  }
  return best_value >= 0 ? best : best_by_recall;
}

std::string_view CalibrationObjectiveName(CalibrationObjective objective) {
  return objective == CalibrationObjective::kBalanced ? "balanced" : "in_scope_accuracy_at_oos_recall";
}

}  // namespace kefu
