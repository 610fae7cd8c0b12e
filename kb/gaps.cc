#include "kb/gaps.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "kb/normalize.h"

namespace kefu {
namespace {

using SparseHashVector = std::unordered_map<uint64_t, double>;

double Dot(const SparseHashVector& a, const SparseHashVector& b) {
  const SparseHashVector& small = a.size() < b.size() ? a : b;
  const SparseHashVector& large = a.size() < b.size() ? b : a;
  double s = 0;
  for (const auto& [h, w] : small) {
    auto it = large.find(h);
    if (it != large.end()) s += w * it->second;
  }
  return s;
}

double Norm(const SparseHashVector& v) {
  double s = 0;
  for (const auto& [h, w] : v) s += w * w;
  return std::sqrt(s);
}

struct Group {
  SparseHashVector centroid;  // sum of member vectors (unit length each)
  std::map<std::string, size_t> texts;  // normalised text -> times asked
  std::map<std::string, std::string> shown;  // normalised text -> first raw text
  std::set<std::string> customers;
  size_t questions = 0;
  int64_t first_seen = INT64_MAX;
  int64_t last_seen = INT64_MIN;
};

}  // namespace

std::vector<Gap> FindGaps(const std::vector<GapQuestion>& questions, const GapOptions& options,
                          const std::vector<std::string>& background) {
  // Features of every question, and document frequencies over the questions and the background.
  std::unordered_map<uint64_t, size_t> df;
  TextFeatures f;
  auto features_of = [&](const std::string& text) {
    ExtractFeatures(text, options.features, &f);
    // Words and character n-grams; word pairs are too sparse in short questions to help grouping.
    std::vector<uint64_t> out;
    for (int b : {kWordBlock, kCharBlock}) out.insert(out.end(), f.hashes[b].begin(), f.hashes[b].end());
    std::vector<uint64_t> distinct = out;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (uint64_t h : distinct) ++df[h];
    return out;
  };
  std::vector<std::vector<uint64_t>> features(questions.size());
  for (size_t i = 0; i < questions.size(); ++i) features[i] = features_of(questions[i].text);
  for (const std::string& text : background) features_of(text);
  const double n = static_cast<double>(questions.size() + background.size());
  std::vector<Group> groups;
  for (size_t i = 0; i < questions.size(); ++i) {
    SparseHashVector v;
    for (uint64_t h : features[i]) v[h] += 1.0;
    for (auto& [h, w] : v) w = (1.0 + std::log(w)) * (std::log((1.0 + n) / (1.0 + static_cast<double>(df[h]))) + 1.0);
    const double norm = Norm(v);
    if (norm == 0) continue;
    for (auto& [h, w] : v) w /= norm;
    int best = -1;
    double best_similarity = options.similarity;
    for (size_t g = 0; g < groups.size(); ++g) {
      const double cn = Norm(groups[g].centroid);
      const double similarity = cn == 0 ? 0 : Dot(v, groups[g].centroid) / cn;
      if (similarity >= best_similarity) {
        best_similarity = similarity;
        best = static_cast<int>(g);
      }
    }
    if (best < 0) {
      groups.emplace_back();
      best = static_cast<int>(groups.size()) - 1;
    }
    Group& g = groups[best];
    for (const auto& [h, w] : v) g.centroid[h] += w;
    const std::string key = NormalizeText(questions[i].text);
    ++g.texts[key];
    g.shown.emplace(key, questions[i].text);
    g.customers.insert(questions[i].customer);
    ++g.questions;
    g.first_seen = std::min(g.first_seen, questions[i].at);
    g.last_seen = std::max(g.last_seen, questions[i].at);
  }
  std::vector<Gap> gaps;
  for (const Group& g : groups) {
    Gap gap;
    std::vector<std::pair<size_t, std::string>> ranked;
    for (const auto& [key, count] : g.texts) ranked.emplace_back(count, key);
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; k < ranked.size() && k < options.max_examples; ++k) gap.examples.push_back(g.shown.at(ranked[k].second));
    gap.questions = g.questions;
    gap.customers = g.customers.size();
    gap.first_seen = g.first_seen;
    gap.last_seen = g.last_seen;
    gaps.push_back(std::move(gap));
  }
  std::stable_sort(gaps.begin(), gaps.end(), [](const Gap& a, const Gap& b) {
    if (a.customers != b.customers) return a.customers > b.customers;
    if (a.questions != b.questions) return a.questions > b.questions;
    return a.last_seen > b.last_seen;
  });
  if (gaps.size() > options.max_gaps) gaps.resize(options.max_gaps);
  return gaps;
}

}  // namespace kefu
