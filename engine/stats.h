// Desk statistics computed from events only (never from the test or the UI): deflection, transfer
// rate, waits, human first-response and handle times, CSAT, the KB's hits and gaps. Bot time never
// counts as human first-response or resolution time: both clocks start at escalation.
//
// Each event carries what its stats need (a state change to `agent` carries the queue wait, one to
// `resolved` the handle time and whether the episode went to a person), so the fold is
// commutative: events can be folded in any order and in parts, and folds merged. That is how the
// engine keeps stats without replaying history: events are folded into a stored rollup as they
// age (engine_timers.cc), and a snapshot is the rollup plus the few events not folded yet.
#ifndef KEFU_ENGINE_STATS_H_
#define KEFU_ENGINE_STATS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/model.h"

namespace kefu {

// Percentiles of durations in bounded memory: logarithmic buckets 5% wide from 1 ms to ~10 days.
class DurationHistogram {
 public:
  void Add(int64_t micros);
  void Merge(const DurationHistogram& other);
  int64_t count() const { return count_; }
  // The q-quantile (0..1) in microseconds, within one bucket's 5%; 0 when empty.
  int64_t Quantile(double q) const;
  int64_t Mean() const { return count_ == 0 ? 0 : sum_ / count_; }

 private:
  friend class StatsAccumulator;  // stores the buckets
  static constexpr int kBuckets = 500;
  std::array<int64_t, kBuckets> buckets_{};
  int64_t count_ = 0;
  int64_t sum_ = 0;
};

struct DeskStats {
  int64_t conversations = 0;        // started
  int64_t customer_messages = 0;
  int64_t bot_answers = 0;          // questions the bot answered from the KB
  int64_t bot_clarifications = 0;
  int64_t unmatched = 0;            // questions the bot could not answer
  int64_t bot_open = 0;             // conversations with the bot now, not resolved yet ("still open")
  int64_t escalations = 0;          // episodes that went to a person
  int64_t resolved = 0;             // resolutions
  int64_t resolved_by_bot = 0;      // resolutions with no escalation in the episode
  int64_t transfers = 0;            // agent-to-agent or agent-to-team transfers
  int64_t withdrawn = 0;            // customers who left the line before a person served them
  int64_t deferred = 0;             // waiting customers turned into tickets: gone, or the desk closed
  int64_t sla_breaches = 0;
  int64_t helpful_feedback = 0;
  int64_t unhelpful_feedback = 0;
  double bot_resolution_rate = 0;   // resolved_by_bot / resolved
  double escalation_rate = 0;       // escalations / conversations
  double kb_hit_rate = 0;           // bot_answers / questions the model saw
  int64_t queue_wait_p50 = 0, queue_wait_p90 = 0;          // microseconds, queue to agent
  int64_t first_response_p50 = 0, first_response_p90 = 0;  // escalation to first agent reply
  int64_t handle_time_p50 = 0, handle_time_mean = 0;       // agent assignment to resolution
  int64_t csat_count = 0;
  double csat_average = 0;
  std::vector<std::pair<std::string, int64_t>> intent_hits;       // entry id, answers; most first
  // Questions the bot could not answer (it escalated them) or whose answer a customer voted
  // unhelpful: question, times asked; most first.
  std::vector<std::pair<std::string, int64_t>> top_unmatched;
};

// The detail of a state change to `resolved` whose episode went to a person (its value is the
// handle time when an agent served it).
inline constexpr std::string_view kEscalatedEpisode = "escalated";

// Counts of one hour of a desk, for charts.
struct HourCounts {
  int64_t hour = 0;  // microseconds since the epoch at the start of the hour
  int64_t conversations = 0;
  int64_t customer_messages = 0;
  int64_t bot_answers = 0;
  int64_t escalations = 0;
  int64_t resolved = 0;
  int64_t resolved_by_bot = 0;
  void Add(const Event& e);
  void Merge(const HourCounts& other);
};
std::string EncodeHourCounts(const HourCounts& h);
Result<HourCounts> DecodeHourCounts(std::string_view json);

// Folds a desk's events, in any order, into its stats. Memory is bounded: durations go to
// histograms, unmatched questions are capped. Not thread-safe.
class StatsAccumulator {
 public:
  void Add(const Event& e);
  void Merge(const StatsAccumulator& other);
  DeskStats Snapshot(size_t top_n = 10) const;

  // The accumulator as stored (compact JSON), and back (Corruption on bad data).
  std::string Encode() const;
  static Result<StatsAccumulator> Decode(std::string_view json);

 private:
  void CountUnmatched(const std::string& question, int64_t n);

  DeskStats counts_;
  DurationHistogram queue_wait_, first_response_, handle_time_;
  int64_t csat_sum_ = 0;
  std::map<std::string, int64_t> intent_hits_;
  std::unordered_map<std::string, int64_t> unmatched_;
};

}  // namespace kefu

#endif  // KEFU_ENGINE_STATS_H_
