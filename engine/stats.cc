#include "engine/stats.h"

#include <algorithm>
#include <cmath>

#include "kb/normalize.h"

namespace kefu {
namespace {

constexpr double kBucketGrowth = 1.05;
constexpr double kFirstBucketMicros = 1000.0;
constexpr size_t kMaxUnmatched = 10000;

int BucketOf(int64_t micros, int buckets) {
  if (micros <= kFirstBucketMicros) return 0;
  const int b = 1 + static_cast<int>(std::log(static_cast<double>(micros) / kFirstBucketMicros) / std::log(kBucketGrowth));
  return std::min(b, buckets - 1);
}

int64_t BucketUpper(int b) { return static_cast<int64_t>(kFirstBucketMicros * std::pow(kBucketGrowth, b)); }

std::vector<std::pair<std::string, int64_t>> Top(const auto& counts, size_t n) {
  std::vector<std::pair<std::string, int64_t>> v(counts.begin(), counts.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

}  // namespace

void DurationHistogram::Add(int64_t micros) {
  if (micros < 0) micros = 0;
  ++buckets_[BucketOf(micros, kBuckets)];
  ++count_;
  sum_ += micros;
}

int64_t DurationHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  int64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return BucketUpper(b);
  }
  return BucketUpper(kBuckets - 1);
}

void StatsAccumulator::Add(const Event& e) {
  switch (e.type) {
    case EventType::kStarted:
      ++counts_.conversations;
      open_[e.conversation];
      break;
    case EventType::kMessage:
      ++counts_.customer_messages;
      break;
    case EventType::kBotAnswer:
      ++counts_.bot_answers;
      ++intent_hits_[e.detail];
      break;
    case EventType::kBotClarify:
      ++counts_.bot_clarifications;
      break;
    case EventType::kUnmatched: {
      ++counts_.unmatched;
      const std::string key = NormalizeText(e.detail);
      auto it = unmatched_.find(key);
      if (it != unmatched_.end()) ++it->second;
      else if (unmatched_.size() < kMaxUnmatched) unmatched_.emplace(key, 1);
      break;
    }
    case EventType::kStateChanged: {
      Episode& ep = open_[e.conversation];
      if (e.to == ConversationState::kQueued) {
        if (!ep.escalated) ++counts_.escalations;
        ep.escalated = true;
        ep.queued_at = e.at;
      } else if (e.to == ConversationState::kAgent && e.from != ConversationState::kAgent) {
        if (e.from == ConversationState::kQueued) queue_wait_.Add(e.at - ep.queued_at);
        if (e.from == ConversationState::kResolved) ep.escalated = true;  // reopened straight to the agent
        ep.assigned_at = e.at;
      } else if (e.to == ConversationState::kResolved) {
        ++counts_.resolved;
        if (!ep.escalated) ++counts_.resolved_by_bot;
        if (ep.assigned_at != 0) handle_time_.Add(e.at - ep.assigned_at);
        open_.erase(e.conversation);
      }
      break;
    }
    case EventType::kFirstResponse:
      first_response_.Add(e.value);
      break;
    case EventType::kFeedback:
      ++(e.value ? counts_.helpful_feedback : counts_.unhelpful_feedback);
      break;
    case EventType::kCsat:
      ++counts_.csat_count;
      csat_sum_ += e.value;
      break;
    case EventType::kSlaBreached:
      ++counts_.sla_breaches;
      break;
    case EventType::kTransferred:
      ++counts_.transfers;
      break;
    case EventType::kAssigned:
    case EventType::kTicket:
      break;
  }
}

DeskStats StatsAccumulator::Snapshot(size_t top_n) const {
  DeskStats s = counts_;
  auto ratio = [](int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); };
  s.bot_resolution_rate = ratio(s.resolved_by_bot, s.resolved);
  s.escalation_rate = ratio(s.escalations, s.conversations);
  s.kb_hit_rate = ratio(s.bot_answers, s.bot_answers + s.bot_clarifications + s.unmatched);
  s.queue_wait_p50 = queue_wait_.Quantile(0.5);
  s.queue_wait_p90 = queue_wait_.Quantile(0.9);
  s.first_response_p50 = first_response_.Quantile(0.5);
  s.first_response_p90 = first_response_.Quantile(0.9);
  s.handle_time_p50 = handle_time_.Quantile(0.5);
  s.handle_time_mean = handle_time_.Mean();
  s.csat_average = ratio(csat_sum_, s.csat_count);
  s.intent_hits = Top(intent_hits_, top_n);
  s.top_unmatched = Top(unmatched_, top_n);
  return s;
}

}  // namespace kefu
