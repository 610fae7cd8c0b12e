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

// The two loops that dominate training and matching, compiled for AVX2 and for the baseline
// ISA, with the best chosen at run time. Not under ThreadSanitizer: the clones' resolver runs while
// the dynamic loader relocates, before TSan's runtime is up, and crashes the process at start.
#if defined(__SANITIZE_THREAD__)
#define KEFU_TARGET_CLONES(...)
#else
#define KEFU_TARGET_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#endif
KEFU_TARGET_CLONES("avx2", "default") void AddScaledRow(float* __restrict acc, const float* __restrict row,
                                                                     float scale, int n) {
  for (int c = 0; c < n; ++c) acc[c] += scale * row[c];
}

// Scoring: for each block of kScoreBlock classes, the margins stay in registers while every
// feature row of the question adds its slice (profiled: the old row-at-a-time loop loaded and
// stored all margins once per feature and was 31% of a Match's instructions).
template <int kBlock>
inline void ScoreBlock(float* __restrict out, const int8_t* __restrict weights, size_t stride,
                       const uint32_t* __restrict index, const float* __restrict scale, size_t n) {
  float acc[kBlock] = {};
  for (size_t k = 0; k < n; ++k) {
    const int8_t* __restrict row = weights + size_t{index[k]} * stride;
    const float s = scale[k];
    for (int c = 0; c < kBlock; ++c) acc[c] += s * static_cast<float>(row[c]);
  }
  for (int c = 0; c < kBlock; ++c) out[c] += acc[c];
}

KEFU_TARGET_CLONES("arch=haswell", "default") void ScoreAllBlocks(
    float* __restrict out, const int8_t* __restrict weights, size_t stride, const uint32_t* __restrict index,
    const float* __restrict scale, size_t n) {
  for (size_t c0 = 0; c0 < stride; c0 += LinearModel::kScoreBlock) {
    ScoreBlock<LinearModel::kScoreBlock>(out + c0, weights + c0, stride, index, scale, n);
  }
}

}  // namespace

void SparseMatrix::AddRow(const SparseVector& v) {
  index.insert(index.end(), v.index.begin(), v.index.end());
  value.insert(value.end(), v.value.begin(), v.value.end());
  row_start.push_back(index.size());
}

// All classes are trained together: one pass over the examples computes every class's margin
// for an example at once (a few contiguous rows of the feature-major weights), which is the
// same dual coordinate descent as one-vs-rest class by class, interleaved.
LinearModel LinearModel::Train(const SparseMatrix& x, const std::vector<int>& labels, int num_classes,
                               size_t num_features, const LinearModelOptions& options,
                               const std::function<void(int, int)>& progress) {
  const size_t n = x.rows();
  const int nc = num_classes;
  const float diag = static_cast<float>(0.5 / options.c);
  std::vector<float> w(num_features * nc, 0.0f);
  std::vector<float> bias(nc, 0.0f);
  std::vector<float> alpha(n * nc, 0.0f);
  std::vector<float> qd(n);
  for (size_t i = 0; i < n; ++i) {
    double s = 1.0 + diag;  // the bias is a feature of value 1
    for (size_t k = x.row_start[i]; k < x.row_start[i + 1]; ++k) s += static_cast<double>(x.value[k]) * x.value[k];
    qd[i] = static_cast<float>(s);
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(options.seed);
  std::vector<float> margin(nc), delta(nc), pg_max(nc), pg_min(nc);
  // The largest projected gradient of each example at its last visit. Examples that satisfied
  // every class's optimality condition closely are skipped until the next full pass: most
  // examples sit far outside most classes' margins, and revisiting them changes nothing.
  std::vector<float> violation(n, std::numeric_limits<float>::infinity());
  for (int pass = 0; pass < options.max_passes; ++pass) {
    const bool full_pass = pass % 4 == 0 || pass + 1 == options.max_passes;
    std::fill(pg_max.begin(), pg_max.end(), -std::numeric_limits<float>::infinity());
    std::fill(pg_min.begin(), pg_min.end(), std::numeric_limits<float>::infinity());
    for (size_t s = 0; s + 1 < n; ++s) std::swap(order[s], order[s + rng.Next() % (n - s)]);
    for (size_t i : order) {
      if (!full_pass && violation[i] < options.shrink_tolerance) continue;
      const size_t begin = x.row_start[i], end = x.row_start[i + 1];
      std::copy(bias.begin(), bias.end(), margin.begin());
      for (size_t k = begin; k < end; ++k) AddScaledRow(margin.data(), &w[size_t{x.index[k]} * nc], x.value[k], nc);
      float* a = &alpha[i * nc];
      bool any = false;
      float largest = 0;
      for (int c = 0; c < nc; ++c) {
        const float y = labels[i] == c ? 1.0f : -1.0f;
        const float g = y * margin[c] - 1.0f + a[c] * diag;
        const float pg = a[c] == 0.0f ? std::min(g, 0.0f) : g;
        pg_max[c] = std::max(pg_max[c], pg);
        pg_min[c] = std::min(pg_min[c], pg);
        largest = std::max(largest, std::fabs(pg));
        delta[c] = 0.0f;
        if (std::fabs(pg) > 1e-12f) {
          const float updated = std::max(a[c] - g / qd[i], 0.0f);
          delta[c] = (updated - a[c]) * y;
          a[c] = updated;
          any = true;
        }
      }
      violation[i] = largest;
      if (!any) continue;
      for (size_t k = begin; k < end; ++k) AddScaledRow(&w[size_t{x.index[k]} * nc], delta.data(), x.value[k], nc);
      for (int c = 0; c < nc; ++c) bias[c] += delta[c];
    }
    float worst = 0;
    for (int c = 0; c < nc; ++c) worst = std::max(worst, pg_max[c] - pg_min[c]);
    if (progress) progress(std::min(pass + 1, options.max_passes), options.max_passes);
    if (full_pass && worst <= options.epsilon) break;
  }
  if (progress) progress(options.max_passes, options.max_passes);

  LinearModel model;
  model.num_classes_ = nc;
  model.num_features_ = num_features;
  model.stride_ = (static_cast<size_t>(nc) + kScoreBlock - 1) / kScoreBlock * kScoreBlock;
  model.bias_ = std::move(bias);
  model.weights_.assign(num_features * model.stride_, 0);
  model.row_scale_.assign(num_features, 0.0f);
  for (size_t f = 0; f < num_features; ++f) {
    const float* row = &w[f * nc];
    float largest = 0;
    for (int c = 0; c < nc; ++c) largest = std::max(largest, std::fabs(row[c]));
    if (largest == 0) continue;
    model.row_scale_[f] = largest / 127.0f;
    for (int c = 0; c < nc; ++c) {
      model.weights_[f * model.stride_ + c] = static_cast<int8_t>(std::lround(row[c] / model.row_scale_[f]));
    }
  }
  return model;
}

void LinearModel::Score(const SparseVector& v, float* scores) const {
  const int nc = num_classes_;
  thread_local std::vector<float> padded, scale;
  padded.assign(stride_, 0.0f);
  std::copy(bias_.begin(), bias_.end(), padded.begin());
  scale.resize(v.index.size());
  // Rows are scattered over a matrix larger than the caches: request them all up front.
  for (size_t k = 0; k < v.index.size(); ++k) {
    const uint32_t f = v.index[k];
    const int8_t* row = weights_.data() + size_t{f} * stride_;
    for (size_t offset = 0; offset < stride_; offset += 64) __builtin_prefetch(row + offset);
    scale[k] = v.value[k] * row_scale_[f];
  }
  ScoreAllBlocks(padded.data(), weights_.data(), stride_, v.index.data(), scale.data(), v.index.size());
  std::copy(padded.begin(), padded.begin() + nc, scores);
}

}  // namespace kefu
