// Per-key token buckets (the key is a client's IP address): how kefu gives each caller a budget.
#ifndef KEFU_ADAPTERS_RATE_LIMITER_H_
#define KEFU_ADAPTERS_RATE_LIMITER_H_

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kefu {

// Thread-safe. Memory is bounded: past `max_keys`, buckets that have refilled are forgotten (a
// forgotten key starts again with a full bucket, which is what it had anyway).
class RateLimiter {
 public:
  // `rate_per_second` tokens per second up to `burst` tokens (at least 1). A rate <= 0 allows all.
  RateLimiter(double rate_per_second, double burst, size_t max_keys = 100000);

  // Takes one token for `key` at `now_micros` (a monotonic clock). Returns 0 when allowed, else the
  // microseconds until a token will be there (for Retry-After).
  int64_t Take(std::string_view key, int64_t now_micros);

  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 16;

  double rate_;   // tokens per microsecond
  double burst_;
  size_t max_keys_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_RATE_LIMITER_H_
