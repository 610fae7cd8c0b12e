#include "kb/centroid_index.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kefu {
namespace {

// Quantises `w` (>= 0) to 16 bits against `scale` (the largest weight / 65535).
uint16_t Quantise(float w, float scale) {
  const long q = std::lround(w / scale);
  return static_cast<uint16_t>(std::clamp(q, 0L, 65535L));
}

struct Better {  // a functor, so that the sorts inline it
  bool operator()(const ClassScore& a, const ClassScore& b) const {
    return a.score > b.score || (a.score == b.score && a.label < b.label);
  }
};

}  // namespace

CentroidIndex CentroidIndex::Build(const SparseMatrix& x, const std::vector<int>& labels, int num_classes,
                                   size_t num_features, const CentroidIndexOptions& options) {
  CentroidIndex index;
  index.num_classes_ = num_classes;
  index.options_budget_ = static_cast<size_t>(std::max(1, options.postings_budget));
  index.options_rescore_ = static_cast<size_t>(std::max(0, options.rescore_candidates));

  // Class-major centroids first: rows grouped by class, summed into a dense scratch row.
  std::vector<size_t> row_order(x.rows());
  std::iota(row_order.begin(), row_order.end(), 0);
  std::stable_sort(row_order.begin(), row_order.end(), [&](size_t a, size_t b) { return labels[a] < labels[b]; });
  std::vector<float> acc(num_features, 0.0f);
  std::vector<uint32_t> touched;
  std::vector<std::pair<float, uint32_t>> terms;
  index.class_start_.assign(num_classes + 1, 0);
  index.class_scale_.assign(num_classes, 0.0f);
  size_t r = 0;
  for (int c = 0; c < num_classes; ++c) {
    touched.clear();
    for (; r < row_order.size() && labels[row_order[r]] == c; ++r) {
      const size_t row = row_order[r];
      for (size_t k = x.row_start[row]; k < x.row_start[row + 1]; ++k) {
        const uint32_t f = x.index[k];
        if (acc[f] == 0) touched.push_back(f);
        acc[f] += x.value[k];
      }
    }
    terms.clear();
    for (uint32_t f : touched) {
      if (acc[f] > 0) terms.emplace_back(acc[f], f);
      acc[f] = 0;
    }
    if (options.max_terms_per_class > 0 && terms.size() > static_cast<size_t>(options.max_terms_per_class)) {
      std::nth_element(terms.begin(), terms.begin() + options.max_terms_per_class, terms.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      terms.resize(options.max_terms_per_class);
    }
    double norm2 = 0;
    float largest = 0;
    for (const auto& [w, f] : terms) {
      norm2 += static_cast<double>(w) * w;
      largest = std::max(largest, w);
    }
    if (norm2 > 0) {
      const float inv_norm = static_cast<float>(1.0 / std::sqrt(norm2));
      const float scale = largest * inv_norm / 65535.0f;
      index.class_scale_[c] = scale;
      std::sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
      for (const auto& [w, f] : terms) {
        const uint16_t q = Quantise(w * inv_norm, scale);
        if (q == 0) continue;  // a weight that rounds to nothing adds nothing
        index.term_.push_back(f);
        index.term_weight_.push_back(q);
      }
    }
    index.class_start_[c + 1] = index.term_.size();
  }
  index.term_.shrink_to_fit();
  index.term_weight_.shrink_to_fit();

  // Then the postings: a counting sort of the terms by feature keeps classes in order.
  std::vector<size_t> count(num_features + 1, 0);
  for (uint32_t f : index.term_) ++count[f + 1];
  std::partial_sum(count.begin(), count.end(), count.begin());
  std::vector<uint32_t> entry(index.term_.size());
  std::vector<float> weight(index.term_.size());
  std::vector<size_t> fill(count.begin(), count.end() - 1);
  for (int c = 0; c < num_classes; ++c) {
    for (size_t t = index.class_start_[c]; t < index.class_start_[c + 1]; ++t) {
      const size_t at = fill[index.term_[t]]++;
      entry[at] = static_cast<uint32_t>(c);
      weight[at] = index.term_weight_[t] * index.class_scale_[c];
    }
  }
  index.start_.assign(num_features + 1, 0);
  index.scale_.assign(num_features, 0.0f);
  const size_t cap = options.max_postings_per_feature > 0 ? static_cast<size_t>(options.max_postings_per_feature)
                                                          : SIZE_MAX;
  index.entry_.reserve(std::min(entry.size(), cap * num_features));
  index.weight_.reserve(index.entry_.capacity());
  std::vector<std::pair<float, uint32_t>> list;
  for (size_t f = 0; f < num_features; ++f) {
    list.clear();
    for (size_t p = count[f]; p < count[f + 1]; ++p) list.emplace_back(weight[p], entry[p]);
    if (list.size() > cap) {
      std::nth_element(list.begin(), list.begin() + cap, list.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      list.resize(cap);
      std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    }
    float largest = 0;
    for (const auto& [w, e] : list) largest = std::max(largest, w);
    if (largest > 0) {
      const float scale = largest / 65535.0f;
      index.scale_[f] = scale;
      for (const auto& [w, e] : list) {
        const uint16_t q = Quantise(w, scale);
        if (q == 0) continue;
        index.entry_.push_back(e);
        index.weight_.push_back(q);
      }
    }
    index.start_[f + 1] = index.entry_.size();
  }
  index.entry_.shrink_to_fit();
  index.weight_.shrink_to_fit();
  return index;
}

void CentroidIndex::TopK(const SparseVector& v, int k, std::vector<ClassScore>* out) const {
  out->clear();
  if (k <= 0 || num_classes_ == 0) return;
  thread_local std::vector<float> acc;
  thread_local std::vector<uint32_t> touched;
  thread_local std::vector<std::pair<size_t, uint32_t>> by_length;  // (postings, term of v)
  thread_local std::vector<std::pair<uint32_t, float>> query;       // (feature, weight), by feature
  thread_local std::vector<ClassScore> candidates;
  if (acc.size() < static_cast<size_t>(num_classes_)) acc.assign(num_classes_, 0.0f);

  double norm2 = 0;
  by_length.clear();
  query.clear();
  for (size_t i = 0; i < v.index.size(); ++i) {
    norm2 += static_cast<double>(v.value[i]) * v.value[i];
    const uint32_t f = v.index[i];
    if (f + 1 >= start_.size() || v.value[i] <= 0) continue;
    by_length.emplace_back(start_[f + 1] - start_[f], static_cast<uint32_t>(i));
    query.emplace_back(f, v.value[i]);
  }
  if (norm2 <= 0) return;
  const float inv_norm = static_cast<float>(1.0 / std::sqrt(norm2));

  // Stage 1: the shortest lists first, into partial sums. Every stored weight is at least 1 and
  // question weights are positive, so a class's sum is 0 exactly until its first posting.
  std::sort(by_length.begin(), by_length.end());
  touched.clear();
  size_t visited = 0, walked = 0;
  for (; walked < by_length.size() && visited < options_budget_; ++walked) {
    const uint32_t i = by_length[walked].second;
    const uint32_t f = v.index[i];
    const float s = v.value[i] * scale_[f];
    for (size_t p = start_[f]; p < start_[f + 1]; ++p) {
      float& a = acc[entry_[p]];
      if (a == 0) touched.push_back(entry_[p]);
      a += s * static_cast<float>(weight_[p]);
    }
    visited += by_length[walked].first;
  }
  candidates.clear();
  for (uint32_t c : touched) {
    candidates.push_back({static_cast<int>(c), acc[c] * inv_norm});
    acc[c] = 0;
  }
  const bool exact = walked == by_length.size() || options_rescore_ == 0;
  const size_t keep = exact ? static_cast<size_t>(k) : std::max(options_rescore_, static_cast<size_t>(k));
  if (candidates.size() > keep) {
    std::nth_element(candidates.begin(), candidates.begin() + keep, candidates.end(), Better());
    candidates.resize(keep);
  }

  // Stage 2: exact cosines of the best candidates. Each centroid term is tested against a
  // 4096-bit filter of the question's features and, when it passes, looked up in a small
  // open-addressing table of them: both fit in L1, and most terms fail the filter.
  if (!exact) {
    constexpr size_t kSlots = 512;  // > 2x the features of any question the filter is meant for
    thread_local std::vector<std::pair<uint32_t, float>> table(kSlots);
    uint64_t filter[64] = {};
    const bool use_table = query.size() * 2 <= kSlots;
    if (use_table) {
      std::fill(table.begin(), table.end(), std::make_pair(UINT32_MAX, 0.0f));
      for (const auto& [f, w] : query) {
        filter[(f >> 6) & 63] |= uint64_t{1} << (f & 63);
        size_t slot = (f * 2654435761u) & (kSlots - 1);
        while (table[slot].first != UINT32_MAX) slot = (slot + 1) & (kSlots - 1);
        table[slot] = {f, w};
      }
    } else {
      std::sort(query.begin(), query.end());
    }
    for (ClassScore& cand : candidates) {
      float dot = 0;
      const size_t end = class_start_[cand.label + 1];
      for (size_t t = class_start_[cand.label]; t < end; ++t) {
        const uint32_t f = term_[t];
        if (use_table) {
          if (!(filter[(f >> 6) & 63] & (uint64_t{1} << (f & 63)))) continue;
          size_t slot = (f * 2654435761u) & (kSlots - 1);
          while (table[slot].first != f && table[slot].first != UINT32_MAX) slot = (slot + 1) & (kSlots - 1);
          if (table[slot].first == f) dot += static_cast<float>(term_weight_[t]) * table[slot].second;
        } else {
          auto it = std::lower_bound(query.begin(), query.end(), std::make_pair(f, 0.0f),
                                     [](const auto& a, const auto& b) { return a.first < b.first; });
          if (it != query.end() && it->first == f) dot += static_cast<float>(term_weight_[t]) * it->second;
        }
      }
      cand.score = dot * class_scale_[cand.label] * inv_norm;
    }
  }
  std::sort(candidates.begin(), candidates.end(), Better());
  if (candidates.size() > static_cast<size_t>(k)) candidates.resize(k);
  out->assign(candidates.begin(), candidates.end());
}

bool CentroidIndex::Supports(uint32_t f, int c) const {
  const auto begin = term_.begin() + static_cast<std::ptrdiff_t>(class_start_[c]);
  const auto end = term_.begin() + static_cast<std::ptrdiff_t>(class_start_[c + 1]);
  return std::binary_search(begin, end, f);
}

}  // namespace kefu
