#include "engine/stats.h"

#include <algorithm>
#include <cmath>

#include "base/json.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

constexpr double kBucketGrowth = 1.05;
constexpr double kFirstBucketMicros = 1000.0;
// Distinct unmatched questions kept. The stored rollup is rewritten at every fold, so this also
// bounds its size (the knowledge loop's gap reports read the events, not this).
constexpr size_t kMaxUnmatched = 1000;

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

bool IsEscalation(const Event& e) {
  return e.type == EventType::kStateChanged && e.to == ConversationState::kQueued &&
         (e.from == ConversationState::kNew || e.from == ConversationState::kBot);
}

// 1 for the states where a conversation is the bot's (not resolved, no person asked for).
int WithBot(ConversationState s) { return s == ConversationState::kNew || s == ConversationState::kBot ? 1 : 0; }

bool IsResolution(const Event& e) { return e.type == EventType::kStateChanged && e.to == ConversationState::kResolved; }
bool ResolvedByBot(const Event& e) { return IsResolution(e) && e.detail != kEscalatedEpisode; }

}  // namespace

void DurationHistogram::Add(int64_t micros) {
  if (micros < 0) micros = 0;
  ++buckets_[BucketOf(micros, kBuckets)];
  ++count_;
  sum_ += micros;
}

void DurationHistogram::Merge(const DurationHistogram& other) {
  for (int b = 0; b < kBuckets; ++b) buckets_[b] += other.buckets_[b];
  count_ += other.count_;
  sum_ += other.sum_;
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

void StatsAccumulator::CountUnmatched(const std::string& question, int64_t n) {
  auto it = unmatched_.find(question);
  if (it != unmatched_.end()) {
    it->second += n;
  } else if (unmatched_.size() < kMaxUnmatched) {
    unmatched_.emplace(question, n);
  }
}

void StatsAccumulator::Add(const Event& e) {
  switch (e.type) {
    case EventType::kStarted:
      ++counts_.conversations;
      ++counts_.bot_open;
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
    case EventType::kUnmatched:
      ++counts_.unmatched;
      CountUnmatched(NormalizeText(e.detail), 1);
      break;
    case EventType::kStateChanged:
      if (IsEscalation(e)) ++counts_.escalations;
      if (e.from == ConversationState::kQueued && e.to == ConversationState::kBot) {
        ++(e.reason == "withdrawn" ? counts_.withdrawn : counts_.deferred);
      }
      if (e.to == ConversationState::kAgent && e.from == ConversationState::kQueued) queue_wait_.Add(e.value);
      counts_.bot_open += WithBot(e.to) - WithBot(e.from);
      if (IsResolution(e)) {
        ++counts_.resolved;
        if (ResolvedByBot(e)) ++counts_.resolved_by_bot;
        if (e.value > 0) handle_time_.Add(e.value);
      }
      break;
    case EventType::kFirstResponse:
      first_response_.Add(e.value);
      break;
    case EventType::kFeedback:
      ++(e.value ? counts_.helpful_feedback : counts_.unhelpful_feedback);
      if (e.value == 0 && !e.reason.empty()) CountUnmatched(NormalizeText(e.reason), 1);  // a KB gap too
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

void StatsAccumulator::Merge(const StatsAccumulator& o) {
  DeskStats& c = counts_;
  const DeskStats& d = o.counts_;
  c.conversations += d.conversations;
  c.customer_messages += d.customer_messages;
  c.bot_answers += d.bot_answers;
  c.bot_clarifications += d.bot_clarifications;
  c.unmatched += d.unmatched;
  c.escalations += d.escalations;
  c.resolved += d.resolved;
  c.resolved_by_bot += d.resolved_by_bot;
  c.transfers += d.transfers;
  c.withdrawn += d.withdrawn;
  c.deferred += d.deferred;
  c.bot_open += d.bot_open;
  c.sla_breaches += d.sla_breaches;
  c.helpful_feedback += d.helpful_feedback;
  c.unhelpful_feedback += d.unhelpful_feedback;
  c.csat_count += d.csat_count;
  csat_sum_ += o.csat_sum_;
  queue_wait_.Merge(o.queue_wait_);
  first_response_.Merge(o.first_response_);
  handle_time_.Merge(o.handle_time_);
  for (const auto& [id, n] : o.intent_hits_) intent_hits_[id] += n;
  for (const auto& [q, n] : o.unmatched_) CountUnmatched(q, n);
}

DeskStats StatsAccumulator::Snapshot(size_t top_n) const {
  DeskStats s = counts_;
  s.bot_open = std::max<int64_t>(0, s.bot_open);  // a rollup older than the count starts it short
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

// ---- Stored form -------------------------------------------------------------------------------

namespace {

// Counters in a fixed order: the stored form is an array, not named fields, to stay small.
std::vector<int64_t*> Counters(DeskStats& c, int64_t* csat_sum) {
  return {&c.conversations, &c.customer_messages, &c.bot_answers, &c.bot_clarifications, &c.unmatched,
          &c.escalations, &c.resolved, &c.resolved_by_bot, &c.transfers, &c.sla_breaches,
          &c.helpful_feedback, &c.unhelpful_feedback, &c.csat_count, csat_sum,
          &c.withdrawn, &c.deferred, &c.bot_open};  // added later: older rollups, shorter, read them as 0
}

// A histogram as [count, sum, bucket, n, bucket, n, ...] (non-empty buckets only).
void WriteHistogram(JsonWriter& w, std::string_view key, int64_t count, int64_t sum, const int64_t* buckets, int n) {
  w.Key(key).BeginArray().Int(count).Int(sum);
  for (int b = 0; b < n; ++b) {
    if (buckets[b] != 0) w.Int(b).Int(buckets[b]);
  }
  w.EndArray();
}

Status ReadInts(const JsonObject& o, std::string_view key, std::vector<int64_t>* out) {
  const rapidjson::Value* a = nullptr;
  KEFU_RETURN_IF_ERROR(o.GetArray(key, Presence::kOptional, &a));
  if (a == nullptr) return Status::OK();
  for (const auto& v : a->GetArray()) {
    int64_t n = 0;
    if (!JsonInt(v, &n)) return Status::Corruption("field '" + std::string(key) + "': not an integer");
    out->push_back(n);
  }
  return Status::OK();
}

Status ReadCounts(const JsonObject& o, std::string_view key, std::map<std::string, int64_t>* map,
                  std::unordered_map<std::string, int64_t>* umap) {
  const rapidjson::Value* obj = nullptr;
  KEFU_RETURN_IF_ERROR(o.GetObject(key, Presence::kOptional, &obj));
  if (obj == nullptr) return Status::OK();
  for (const auto& m : obj->GetObject()) {
    int64_t n = 0;
    if (!JsonInt(m.value, &n)) return Status::Corruption("field '" + std::string(key) + "': not an integer");
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (map) (*map)[name] += n;
    if (umap) (*umap)[name] += n;
  }
  return Status::OK();
}

}  // namespace

std::string StatsAccumulator::Encode() const {
  JsonWriter w;
  w.BeginObject().Key("counts").BeginArray();
  DeskStats copy = counts_;
  int64_t csat = csat_sum_;
  for (int64_t* v : Counters(copy, &csat)) w.Int(*v);
  w.EndArray();
  const DurationHistogram* hs[] = {&queue_wait_, &first_response_, &handle_time_};
  const char* names[] = {"queue_wait", "first_response", "handle_time"};
  for (int i = 0; i < 3; ++i) {
    WriteHistogram(w, names[i], hs[i]->count_, hs[i]->sum_, hs[i]->buckets_.data(), DurationHistogram::kBuckets);
  }
  w.Key("intents").BeginObject();
  for (const auto& [id, n] : intent_hits_) w.Field(id, n);
  w.EndObject().Key("unmatched").BeginObject();
  for (const auto& [q, n] : unmatched_) w.Field(q, n);
  return w.EndObject().EndObject().Take();
}

Result<StatsAccumulator> StatsAccumulator::Decode(std::string_view json) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return Status::Corruption("stats rollup: " + doc.status().message());
  auto o = JsonObject::From(**doc);
  if (!o.ok()) return Status::Corruption("stats rollup: not an object");
  StatsAccumulator a;
  std::vector<int64_t> counts;
  KEFU_RETURN_IF_ERROR(ReadInts(*o, "counts", &counts));
  auto fields = Counters(a.counts_, &a.csat_sum_);
  for (size_t i = 0; i < fields.size() && i < counts.size(); ++i) *fields[i] = counts[i];
  DurationHistogram* hs[] = {&a.queue_wait_, &a.first_response_, &a.handle_time_};
  const char* names[] = {"queue_wait", "first_response", "handle_time"};
  for (int i = 0; i < 3; ++i) {
    std::vector<int64_t> v;
    KEFU_RETURN_IF_ERROR(ReadInts(*o, names[i], &v));
    if (v.size() < 2) continue;
    hs[i]->count_ = v[0];
    hs[i]->sum_ = v[1];
    for (size_t j = 2; j + 1 < v.size(); j += 2) {
      if (v[j] < 0 || v[j] >= DurationHistogram::kBuckets) return Status::Corruption("stats rollup: bucket out of range");
      hs[i]->buckets_[static_cast<size_t>(v[j])] = v[j + 1];
    }
  }
  KEFU_RETURN_IF_ERROR(ReadCounts(*o, "intents", &a.intent_hits_, nullptr));
  KEFU_RETURN_IF_ERROR(ReadCounts(*o, "unmatched", nullptr, &a.unmatched_));
  return a;
}

// ---- Hourly counts -----------------------------------------------------------------------------

void HourCounts::Add(const Event& e) {
  if (e.type == EventType::kStarted) ++conversations;
  if (e.type == EventType::kMessage) ++customer_messages;
  if (e.type == EventType::kBotAnswer) ++bot_answers;
  if (IsEscalation(e)) ++escalations;
  if (IsResolution(e)) ++resolved;
  if (ResolvedByBot(e)) ++resolved_by_bot;
}

void HourCounts::Merge(const HourCounts& o) {
  conversations += o.conversations;
  customer_messages += o.customer_messages;
  bot_answers += o.bot_answers;
  escalations += o.escalations;
  resolved += o.resolved;
  resolved_by_bot += o.resolved_by_bot;
}

std::string EncodeHourCounts(const HourCounts& h) {
  JsonWriter w;
  w.BeginArray().Int(h.hour).Int(h.conversations).Int(h.customer_messages).Int(h.bot_answers);
  return w.Int(h.escalations).Int(h.resolved).Int(h.resolved_by_bot).EndArray().Take();
}

Result<HourCounts> DecodeHourCounts(std::string_view json) {
  auto doc = ParseJson(json);
  if (!doc.ok() || !(*doc)->IsArray() || (*doc)->Size() != 7) return Status::Corruption("hourly stats record");
  int64_t v[7];
  for (rapidjson::SizeType i = 0; i < 7; ++i) {
    if (!JsonInt((**doc)[i], &v[i])) return Status::Corruption("hourly stats record");
  }
  return HourCounts{v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
}

}  // namespace kefu
