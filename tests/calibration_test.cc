#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kb/calibration.h"

namespace kefu {
namespace {

// Hand-made: five in-scope questions (four predicted right) and four out of scope.
//   conf  gold pred
//   0.9    0    0   right
//   0.8    1    1   right
//   0.7   -1    2   out of scope
//   0.6    2    0   wrong
//   0.5    1    1   right
//   0.4   -1    0   out of scope
//   0.3    0    0   right
//   0.2   -1    1   out of scope
//   0.1   -1    0   out of scope
std::vector<ScoredSample> Samples() {
  return {
      {0.6f, 2, 0}, {0.1f, -1, 0}, {0.9f, 0, 0}, {0.4f, -1, 0}, {0.3f, 0, 0},
      {0.8f, 1, 1}, {0.2f, -1, 1}, {0.7f, -1, 2}, {0.5f, 1, 1},
  };
}

TEST_CASE("ComputeAccuracy: every figure at a threshold between samples") {
  // Threshold 0.55 escalates 0.5, 0.4, 0.3, 0.2, 0.1: two in scope (both right), three out of scope.
  const AccuracyFigures f = ComputeAccuracy(Samples(), 0.55f);
  CHECK(f.in_scope == 5);
  CHECK(f.out_of_scope == 4);
  CHECK(f.in_scope_accuracy == doctest::Approx(4.0 / 5));              // 0.9 0.8 0.5 0.3 right, 0.6 wrong
  CHECK(f.in_scope_accuracy_at_threshold == doctest::Approx(2.0 / 5));  // 0.9 and 0.8 answered right
  CHECK(f.oos_recall == doctest::Approx(3.0 / 4));                      // 0.4 0.2 0.1 escalated
  CHECK(f.oos_precision == doctest::Approx(3.0 / 5));                   // of 5 escalated, 3 out of scope
  CHECK(f.overall_accuracy == doctest::Approx(5.0 / 9));                // 2 answered right + 3 escalated
  CHECK(f.false_answer_rate == doctest::Approx(2.0 / 9));               // 0.7 (out of scope), 0.6 (wrong entry)
}

TEST_CASE("ComputeAccuracy: a question at exactly the threshold is answered") {
  // Threshold 0.5 escalates 0.4, 0.3, 0.2, 0.1 (strictly below).
  const AccuracyFigures f = ComputeAccuracy(Samples(), 0.5f);
  CHECK(f.in_scope_accuracy_at_threshold == doctest::Approx(3.0 / 5));  // 0.9 0.8 0.5
  CHECK(f.oos_recall == doctest::Approx(3.0 / 4));
  CHECK(f.oos_precision == doctest::Approx(3.0 / 4));                   // 0.3 is the one in scope
  CHECK(f.overall_accuracy == doctest::Approx(6.0 / 9));
}

TEST_CASE("ComputeAccuracy: the extremes, and empty denominators give 0") {
  const AccuracyFigures none = ComputeAccuracy(Samples(), 0.0f);  // nothing escalated
  CHECK(none.in_scope_accuracy_at_threshold == doctest::Approx(4.0 / 5));
  CHECK(none.oos_recall == 0);
  CHECK(none.oos_precision == 0);  // nothing escalated: 0/0
  CHECK(none.overall_accuracy == doctest::Approx(4.0 / 9));
  CHECK(none.false_answer_rate == doctest::Approx(5.0 / 9));  // four out of scope + one wrong entry

  const AccuracyFigures all = ComputeAccuracy(Samples(), 1.0f);  // everything escalated
  CHECK(all.in_scope_accuracy == doctest::Approx(4.0 / 5));      // top-1 ignores the threshold
  CHECK(all.in_scope_accuracy_at_threshold == 0);
  CHECK(all.oos_recall == 1);
  CHECK(all.oos_precision == doctest::Approx(4.0 / 9));
  CHECK(all.overall_accuracy == doctest::Approx(4.0 / 9));
  CHECK(all.false_answer_rate == 0);

  const AccuracyFigures empty = ComputeAccuracy({}, 0.5f);
  CHECK(empty.in_scope == 0);
  CHECK(empty.out_of_scope == 0);
  CHECK(empty.in_scope_accuracy == 0);
  CHECK(empty.in_scope_accuracy_at_threshold == 0);
  CHECK(empty.oos_recall == 0);
  CHECK(empty.oos_precision == 0);
  CHECK(empty.overall_accuracy == 0);

  const AccuracyFigures only_in = ComputeAccuracy({{0.9f, 0, 0}, {0.1f, 1, 0}}, 0.5f);
  CHECK(only_in.oos_recall == 0);
  CHECK(only_in.oos_precision == 0);  // one escalated, none out of scope
  CHECK(only_in.in_scope_accuracy == doctest::Approx(0.5));
}

// The balanced value (accuracy at threshold + recall) at each candidate threshold of Samples():
//   t    escalated            acc   recall  sum
//   0.1  -                    4/5   0       0.80
//   0.2  .1                   4/5   1/4     1.05
//   0.3  .1 .2                4/5   2/4     1.30
//   0.4  + .3 (right)         3/5   2/4     1.10
//   0.5  + .4                 3/5   3/4     1.35
//   0.6  + .5 (right)         2/5   3/4     1.15
//   0.7  + .6 (wrong)         2/5   3/4     1.15
//   0.8  + .7                 2/5   1       1.40   <- best
//   0.9  + .8 (right)         1/5   1       1.20
//   >0.9 all                  0     1       1.00
TEST_CASE("ChooseThreshold balanced: the threshold with the best accuracy plus recall") {
  CalibrationOptions options;
  options.objective = CalibrationObjective::kBalanced;
  CHECK(ChooseThreshold(Samples(), options) == 0.8f);
}

// With four out-of-scope questions the standard error of recall r is sqrt(r (1 - r) / 4):
//   r = 1/2: 0.5 - 0.25 = 0.25;  r = 3/4: 0.75 - 0.2165 = 0.5335;  r = 1: 1.
TEST_CASE("ChooseThreshold at OOS recall applies the one-standard-error rule") {
  CalibrationOptions options;
  options.objective = CalibrationObjective::kInScopeAccuracyAtOosRecall;

  // Target 0.5: recall 1/2 (t = 0.3, accuracy 4/5) would meet a plain recall >= 0.5, but
  // 0.25 < 0.5 with the standard error taken off. Recall 3/4 qualifies (0.5335): best
  // accuracy among t = 0.5, 0.6, 0.7 is 3/5 at 0.5.
  options.target_oos_recall = 0.5;
  CHECK(ChooseThreshold(Samples(), options) == 0.5f);

  // Target 0.6: recall 3/4 would pass without the rule (0.75 >= 0.6) and give t = 0.5, but
  // 0.5335 < 0.6; only recall 1 qualifies, best accuracy 2/5 at t = 0.8.
  options.target_oos_recall = 0.6;
  CHECK(ChooseThreshold(Samples(), options) == 0.8f);

  // Target 0.25: recall 1/2 qualifies exactly (0.25 >= 0.25): t = 0.3 with accuracy 4/5.
  options.target_oos_recall = 0.25;
  CHECK(ChooseThreshold(Samples(), options) == 0.3f);

  // The default target 0.85 on this data also needs recall 1.
  CHECK(ChooseThreshold(Samples(), CalibrationOptions()) == 0.8f);
}

TEST_CASE("ChooseThreshold: when no threshold reaches the target, the one with the highest recall") {
  CalibrationOptions options;
  options.target_oos_recall = 1.01;  // unreachable
  // Recall 1 is first reached at t = 0.8 (the lower of the thresholds that reach it).
  CHECK(ChooseThreshold(Samples(), options) == 0.8f);
}

TEST_CASE("ChooseThreshold: ties go to the lower threshold") {
  // out of scope 0.2; in scope wrong 0.4; in scope right 0.6.
  //   t = 0.2: acc 1/2, recall 0  -> 0.5
  //   t = 0.4: acc 1/2, recall 1  -> 1.5   <- tie, lower
  //   t = 0.6: acc 1/2, recall 1  -> 1.5   <- tie
  //   t > 0.6: acc 0,   recall 1  -> 1.0
  const std::vector<ScoredSample> samples = {{0.6f, 0, 0}, {0.2f, -1, 0}, {0.4f, 1, 0}};
  CalibrationOptions balanced;
  balanced.objective = CalibrationObjective::kBalanced;
  CHECK(ChooseThreshold(samples, balanced) == 0.4f);
  CHECK(ChooseThreshold(samples, CalibrationOptions()) == 0.4f);
}

TEST_CASE("ChooseThreshold: samples with equal confidence escalate together") {
  // An out-of-scope and a right in-scope question share 0.5; a threshold cannot split them.
  //   t = 0.1: acc 1,   recall 0   -> 1.0
  //   t = 0.5: acc 1,   recall 1/2 -> 1.5   <- best (the lower of a tie)
  //   t = 0.9: acc 1/2, recall 1   -> 1.5
  //   t > 0.9: acc 0,   recall 1   -> 1.0
  const std::vector<ScoredSample> samples = {{0.5f, -1, 0}, {0.9f, 1, 1}, {0.5f, 0, 0}, {0.1f, -1, 1}};
  CalibrationOptions balanced;
  balanced.objective = CalibrationObjective::kBalanced;
  CHECK(ChooseThreshold(samples, balanced) == 0.5f);
  const AccuracyFigures at_09 = ComputeAccuracy(samples, 0.9f);
  CHECK(at_09.in_scope_accuracy_at_threshold == doctest::Approx(0.5));
  CHECK(at_09.oos_recall == 1);
}

TEST_CASE("ChooseThreshold: with no out-of-scope samples, the lowest confidence") {
  const std::vector<ScoredSample> in_only = {{0.7f, 0, 0}, {0.3f, 1, 0}, {0.5f, 1, 1}};
  CHECK(ChooseThreshold(in_only, CalibrationOptions()) == 0.3f);
  CalibrationOptions balanced;
  balanced.objective = CalibrationObjective::kBalanced;
  CHECK(ChooseThreshold(in_only, balanced) == 0.3f);
  // Nothing at all: 0.
  CHECK(ChooseThreshold({}, CalibrationOptions()) == 0.0f);
}

TEST_CASE("ChooseThreshold: when every question is out of scope, escalating everything is the answer") {
  const std::vector<ScoredSample> oos_only = {{0.7f, -1, 0}, {-0.3f, -1, 0}};
  // The contract asks for both kinds; with none in scope the lowest confidence comes back.
  CHECK(ChooseThreshold(oos_only, CalibrationOptions()) == -0.3f);
}

TEST_CASE("the chosen threshold meets the target on its own data") {
  CalibrationOptions options;
  options.target_oos_recall = 0.5;
  const float t = ChooseThreshold(Samples(), options);
  const AccuracyFigures f = ComputeAccuracy(Samples(), t);
  CHECK(f.oos_recall - std::sqrt(f.oos_recall * (1 - f.oos_recall) / 4) >= 0.5);
}

TEST_CASE("CalibrationObjectiveName") {
  CHECK(CalibrationObjectiveName(CalibrationObjective::kBalanced) == "balanced");
  CHECK(CalibrationObjectiveName(CalibrationObjective::kInScopeAccuracyAtOosRecall) == "in_scope_accuracy_at_oos_recall");
}

}  // namespace
}  // namespace kefu
