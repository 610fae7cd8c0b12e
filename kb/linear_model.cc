#include "kb/linear_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kefu {
namespace {

class Rng {  // xorshift64*: deterministic and fast; quality is ample for shuffling
 public:
  explicit Rng(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ULL) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }

 private:
  uint64_t state_;
};

// Solves one binary problem (y = +1 for rows labelled `positive`) and returns w (with the
// bias as the last element, treated as a feature of constant value 1).
std::vector<float> TrainBinary(const SparseMatrix& x, const std::vector<int>& labels, int positive,
                               size_t num_features, const std::vector<float>& row_norm2,
                               const LinearModelOptions& options) {
  const size_t n = x.rows();
  const double diag = 0.5 / options.c;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<float> w(num_features + 1, 0.0f);
  std::vector<double> alpha(n, 0.0);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(options.seed + static_cast<uint64_t>(positive));
  size_t active = n;
  double pg_max_old = kInf;
  for (int pass = 0; pass < options.max_passes; ++pass) {
    double pg_max = -kInf, pg_min = kInf;
    for (size_t s = 0; s < active; ++s) {
      std::swap(order[s], order[s + rng.Next() % (active - s)]);
    }
    for (size_t s = 0; s < active; ++s) {
      const size_t i = order[s];
      const double y = labels[i] == positive ? 1.0 : -1.0;
      const size_t begin = x.row_start[i], end = x.row_start[i + 1];
      double dot = w[num_features];
      for (size_t k = begin; k < end; ++k) dot += static_cast<double>(w[x.index[k]]) * x.value[k];
      const double g = y * dot - 1.0 + alpha[i] * diag;
      double pg = 0;
      if (alpha[i] == 0) {
        if (g > pg_max_old) {  // shrink: this example is safely outside the margin
          --active;
          std::swap(order[s], order[active]);
          --s;
          continue;
        }
        if (g < 0) pg = g;
      } else {
        pg = g;
      }
      pg_max = std::max(pg_max, pg);
      pg_min = std::min(pg_min, pg);
      if (std::fabs(pg) > 1e-12) {
        const double old = alpha[i];
        alpha[i] = std::max(alpha[i] - g / (row_norm2[i] + 1.0 + diag), 0.0);
        const float d = static_cast<float>((alpha[i] - old) * y);
        for (size_t k = begin; k < end; ++k) w[x.index[k]] += d * x.value[k];
        w[num_features] += d;
      }
    }
    if (pg_max - pg_min <= options.epsilon) {
      if (active == n) break;
      active = n;  // converged on the active set: check once more on all examples
      pg_max_old = kInf;
      continue;
    }
    pg_max_old = pg_max <= 0 ? kInf : pg_max;
  }
  return w;
}

}  // namespace

void SparseMatrix::AddRow(const SparseVector& v) {
  index.insert(index.end(), v.index.begin(), v.index.end());
  value.insert(value.end(), v.value.begin(), v.value.end());
  row_start.push_back(index.size());
}

LinearModel LinearModel::Train(const SparseMatrix& x, const std::vector<int>& labels, int num_classes,
                               size_t num_features, const LinearModelOptions& options,
                               const std::function<void(int, int)>& progress) {
  LinearModel model;
  model.num_classes_ = num_classes;
  model.num_features_ = num_features;
  model.weights_.assign(num_features * static_cast<size_t>(num_classes), 0.0f);
  model.bias_.assign(num_classes, 0.0f);
  std::vector<float> row_norm2(x.rows());
  for (size_t i = 0; i < x.rows(); ++i) {
    double s = 0;
    for (size_t k = x.row_start[i]; k < x.row_start[i + 1]; ++k) s += static_cast<double>(x.value[k]) * x.value[k];
    row_norm2[i] = static_cast<float>(s);
  }
  for (int c = 0; c < num_classes; ++c) {
    std::vector<float> w = TrainBinary(x, labels, c, num_features, row_norm2, options);
    for (size_t f = 0; f < num_features; ++f) model.weights_[f * num_classes + c] = w[f];
    model.bias_[c] = w[num_features];
    if (progress) progress(c + 1, num_classes);
  }
  return model;
}

void LinearModel::Score(const SparseVector& v, float* scores) const {
  const int nc = num_classes_;
  std::copy(bias_.begin(), bias_.end(), scores);
  for (size_t k = 0; k < v.index.size(); ++k) {
    const float value = v.value[k];
    const float* row = weights_.data() + static_cast<size_t>(v.index[k]) * nc;
    for (int c = 0; c < nc; ++c) scores[c] += value * row[c];
  }
}

}  // namespace kefu
