#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "kb/linear_model.h"

namespace kefu {
namespace {

SparseVector Vec(std::vector<uint32_t> index, std::vector<float> value) {
  SparseVector v;
  v.index = std::move(index);
  v.value = std::move(value);
  return v;
}

// Three classes, each owning two of features 0..5 (feature 6 is never used), with a little
// shared noise on feature 7.
struct Problem {
  std::vector<SparseVector> rows;
  std::vector<int> labels;
  SparseMatrix x;
};

Problem Separable() {
  Problem p;
  auto add = [&](SparseVector v, int label) {
    p.x.AddRow(v);
    p.rows.push_back(std::move(v));
    p.labels.push_back(label);
  };
  add(Vec({0, 1}, {0.8f, 0.6f}), 0);
  add(Vec({0, 7}, {0.9f, 0.4f}), 0);
  add(Vec({1}, {1.0f}), 0);
  add(Vec({2, 3}, {0.6f, 0.8f}), 1);
  add(Vec({2, 7}, {0.7f, 0.7f}), 1);
  add(Vec({3}, {1.0f}), 1);
  add(Vec({4, 5}, {0.7f, 0.7f}), 2);
  add(Vec({5, 7}, {0.9f, 0.4f}), 2);
  add(Vec({4}, {1.0f}), 2);
  return p;
}

int ArgMax(const std::vector<float>& s) { return static_cast<int>(std::max_element(s.begin(), s.end()) - s.begin()); }

TEST_CASE("SparseMatrix stores rows contiguously") {
  SparseMatrix m;
  CHECK(m.rows() == 0);
  m.AddRow(Vec({1, 4}, {0.5f, 2.0f}));
  m.AddRow(Vec({}, {}));
  m.AddRow(Vec({3}, {1.0f}));
  CHECK(m.rows() == 3);
  CHECK(m.row_start == std::vector<size_t>{0, 2, 2, 3});
  CHECK(m.index == std::vector<uint32_t>{1, 4, 3});
  CHECK(m.value == std::vector<float>{0.5f, 2.0f, 1.0f});
}

TEST_CASE("a tiny separable 3-class problem is learned: every row scores highest for its class") {
  const Problem p = Separable();
  const LinearModel model = LinearModel::Train(p.x, p.labels, 3, 8, LinearModelOptions());
  CHECK(model.num_classes() == 3);
  CHECK(model.MemoryBytes() > 0);
  std::vector<float> scores(3);
  for (size_t i = 0; i < p.rows.size(); ++i) {
    CAPTURE(i);
    model.Score(p.rows[i], scores.data());
    CHECK(ArgMax(scores) == p.labels[i]);
    CHECK(scores[p.labels[i]] > 0);  // its own SVM says "this class"
  }
  // Unseen combinations of one class's features still go to that class.
  model.Score(Vec({0, 1}, {0.5f, 0.5f}), scores.data());
  CHECK(ArgMax(scores) == 0);
  model.Score(Vec({5}, {1.0f}), scores.data());
  CHECK(ArgMax(scores) == 2);
}

TEST_CASE("the same seed and data give identical scores") {
  const Problem p = Separable();
  LinearModelOptions options;
  options.seed = 42;
  const LinearModel a = LinearModel::Train(p.x, p.labels, 3, 8, options);
  const LinearModel b = LinearModel::Train(p.x, p.labels, 3, 8, options);
  std::vector<float> sa(3), sb(3);
  for (const SparseVector& row : p.rows) {
    a.Score(row, sa.data());
    b.Score(row, sb.data());
    CHECK(sa == sb);  // bit for bit
  }
  a.Score(SparseVector(), sa.data());
  b.Score(SparseVector(), sb.data());
  CHECK(sa == sb);
}

TEST_CASE("Score with an empty vector gives the biases") {
  // With every row empty only the bias can learn: class 0 has three of four examples, so its
  // bias is positive and class 1's negative.
  SparseMatrix x;
  for (int i = 0; i < 4; ++i) x.AddRow(SparseVector());
  const LinearModel prior = LinearModel::Train(x, {0, 0, 1, 0}, 2, 0, LinearModelOptions());
  std::vector<float> s(2);
  prior.Score(SparseVector(), s.data());
  CHECK(s[0] > 0);
  CHECK(s[1] < 0);

  // On a real model the empty vector's scores are the intercept: a feature with no weight
  // (6 is never used) adds nothing, and any feature adds exactly its weight times its value.
  const Problem p = Separable();
  const LinearModel model = LinearModel::Train(p.x, p.labels, 3, 8, LinearModelOptions());
  std::vector<float> bias(3), unused(3), one(3), two(3);
  model.Score(SparseVector(), bias.data());
  model.Score(Vec({6}, {5.0f}), unused.data());
  CHECK(unused == bias);
  model.Score(Vec({0}, {1.0f}), one.data());
  model.Score(Vec({0}, {2.0f}), two.data());
  for (int c = 0; c < 3; ++c) {
    CAPTURE(c);
    CHECK(two[c] - bias[c] == doctest::Approx(2 * (one[c] - bias[c])).epsilon(1e-5));
  }
}

TEST_CASE("progress is reported per pass and ends at max_passes") {
  const Problem p = Separable();
  LinearModelOptions options;
  options.max_passes = 5;
  std::vector<std::pair<int, int>> calls;
  LinearModel::Train(p.x, p.labels, 3, 8, options, [&](int done, int total) { calls.emplace_back(done, total); });
  REQUIRE_FALSE(calls.empty());
  CHECK(calls.back() == std::make_pair(5, 5));
  for (size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first >= calls[i - 1].first);
  for (const auto& c : calls) CHECK(c.second == 5);
}

}  // namespace
}  // namespace kefu
