#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kb/centroid_index.h"

namespace kefu {
namespace {

SparseVector Vec(std::vector<uint32_t> index, std::vector<float> value) {
  SparseVector v;
  v.index = std::move(index);
  v.value = std::move(value);
  return v;
}

// Three classes, each owning two of features 0..5, sharing feature 7 a little; class 3 has no
// rows at all.
struct Problem {
  SparseMatrix x;
  std::vector<int> labels;
};

Problem ThreeClasses() {
  Problem p;
  auto add = [&](SparseVector v, int label) {
    p.x.AddRow(v);
    p.labels.push_back(label);
  };
  add(Vec({0, 1}, {0.8f, 0.6f}), 0);
  add(Vec({0, 7}, {0.9f, 0.4f}), 0);
  add(Vec({2, 3}, {0.6f, 0.8f}), 1);
  add(Vec({2, 7}, {0.7f, 0.7f}), 1);
  add(Vec({4, 5}, {0.7f, 0.7f}), 2);
  add(Vec({5}, {1.0f}), 2);
  return p;
}

std::vector<ClassScore> Top(const CentroidIndex& index, const SparseVector& v, int k) {
  std::vector<ClassScore> out;
  index.TopK(v, k, &out);
  return out;
}

TEST_CASE("each example's class ranks first, with a cosine in (0, 1]") {
  const Problem p = ThreeClasses();
  const CentroidIndex index = CentroidIndex::Build(p.x, p.labels, 4, 8, CentroidIndexOptions());
  CHECK(index.num_classes() == 4);
  for (size_t r = 0; r < p.x.rows(); ++r) {
    SparseVector v;
    for (size_t k = p.x.row_start[r]; k < p.x.row_start[r + 1]; ++k) {
      v.index.push_back(p.x.index[k]);
      v.value.push_back(p.x.value[k]);
    }
    const auto top = Top(index, v, 3);
    REQUIRE(!top.empty());
    CHECK(top[0].label == p.labels[r]);
    CHECK(top[0].score > 0.0f);
    CHECK(top[0].score <= 1.0001f);
  }
}

TEST_CASE("the cosine is exact: a question equal to a one-example centroid scores 1") {
  SparseMatrix x;
  x.AddRow(Vec({1, 3}, {3.0f, 4.0f}));
  x.AddRow(Vec({2}, {1.0f}));
  const CentroidIndex index = CentroidIndex::Build(x, {0, 1}, 2, 4, CentroidIndexOptions());
  const auto top = Top(index, Vec({1, 3}, {0.3f, 0.4f}), 2);  // any scale: the question is normalised
  REQUIRE(top.size() == 1);  // class 1 shares no feature: not a candidate
  CHECK(top[0].label == 0);
  CHECK(top[0].score == doctest::Approx(1.0f).epsilon(1e-4));
  CHECK(Top(index, Vec({1}, {1.0f}), 1)[0].score == doctest::Approx(0.6f).epsilon(1e-3));
}

TEST_CASE("results are best first, ties to the lower class, at most k; k <= 0 gives none") {
  SparseMatrix x;
  x.AddRow(Vec({0}, {1.0f}));
  x.AddRow(Vec({0}, {1.0f}));
  x.AddRow(Vec({0, 1}, {0.6f, 0.8f}));
  const CentroidIndex index = CentroidIndex::Build(x, {2, 0, 1}, 3, 2, CentroidIndexOptions());
  const auto top = Top(index, Vec({0}, {1.0f}), 3);
  REQUIRE(top.size() == 3);
  CHECK(top[0].label == 0);  // classes 0 and 2 tie at 1
  CHECK(top[1].label == 2);
  CHECK(top[2].label == 1);
  CHECK(Top(index, Vec({0}, {1.0f}), 1).size() == 1);
  CHECK(Top(index, Vec({0}, {1.0f}), 0).empty());
  CHECK(Top(index, Vec({0}, {1.0f}), -1).empty());
}

TEST_CASE("a class without examples, features beyond the vocabulary and empty questions score nothing") {
  const Problem p = ThreeClasses();
  const CentroidIndex index = CentroidIndex::Build(p.x, p.labels, 4, 8, CentroidIndexOptions());
  for (const ClassScore& s : Top(index, Vec({0, 2, 4, 7}, {0.5f, 0.5f, 0.5f, 0.5f}), 4)) CHECK(s.label != 3);
  CHECK(Top(index, Vec({6, 100}, {1.0f, 1.0f}), 3).empty());
  CHECK(Top(index, Vec({}, {}), 3).empty());
}

// Many classes sharing common features, so that a small budget leaves lists for stage 2.
Problem ManyClasses(int classes) {
  Problem p;
  for (int c = 0; c < classes; ++c) {
    for (int e = 0; e < 3; ++e) {
      // Feature 0 and 1 are common to all; 2 + c % 7 to a seventh; 10 + c is the class's own.
      p.x.AddRow(Vec({0, 1, static_cast<uint32_t>(2 + c % 7), static_cast<uint32_t>(10 + c)},
                     {0.5f, 0.3f + 0.1f * e, 0.4f, 0.6f + 0.05f * e}));
      p.labels.push_back(c);
    }
  }
  return p;
}

TEST_CASE("two-stage scoring with a small budget gives the exact scores of its candidates") {
  const int classes = 200;
  const Problem p = ManyClasses(classes);
  CentroidIndexOptions exact_options;
  exact_options.postings_budget = 1 << 30;
  CentroidIndexOptions staged_options;
  staged_options.postings_budget = 1;  // walks only the shortest list, then rescores
  staged_options.rescore_candidates = 8;
  const CentroidIndex exact = CentroidIndex::Build(p.x, p.labels, classes, 10 + classes, exact_options);
  const CentroidIndex staged = CentroidIndex::Build(p.x, p.labels, classes, 10 + classes, staged_options);
  for (int c = 0; c < classes; c += 13) {
    const SparseVector q = Vec({0, 1, static_cast<uint32_t>(2 + c % 7), static_cast<uint32_t>(10 + c)},
                               {0.5f, 0.4f, 0.4f, 0.65f});
    const auto a = Top(exact, q, 3);
    const auto b = Top(staged, q, 3);
    REQUIRE(!a.empty());
    REQUIRE(!b.empty());
    CHECK(a[0].label == c);
    CHECK(b[0].label == c);
    CHECK(b[0].score == doctest::Approx(a[0].score).epsilon(1e-3));
  }
}

TEST_CASE("capped postings keep each feature's heaviest classes; pruned centroids keep their heaviest terms") {
  const int classes = 50;
  const Problem p = ManyClasses(classes);
  CentroidIndexOptions capped;
  capped.max_postings_per_feature = 10;
  const CentroidIndex full = CentroidIndex::Build(p.x, p.labels, classes, 10 + classes, CentroidIndexOptions());
  const CentroidIndex cut = CentroidIndex::Build(p.x, p.labels, classes, 10 + classes, capped);
  CHECK(cut.num_postings() < full.num_postings());
  CHECK(cut.MemoryBytes() < full.MemoryBytes());
  CentroidIndexOptions pruned;
  pruned.max_terms_per_class = 2;
  const CentroidIndex small = CentroidIndex::Build(p.x, p.labels, classes, 10 + classes, pruned);
  CHECK(small.num_postings() == 2u * classes);
  // The class's own feature is among its two heaviest terms, so it still ranks first.
  CHECK(Top(small, Vec({10 + 7}, {1.0f}), 1)[0].label == 7);
}

}  // namespace
}  // namespace kefu
