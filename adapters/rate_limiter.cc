#include "adapters/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace kefu {

RateLimiter::RateLimiter(double rate_per_second, double burst, size_t max_keys)
    : rate_(rate_per_second / 1e6), burst_(std::max(1.0, burst)), max_keys_per_shard_(std::max<size_t>(1, max_keys / kShards)) {}

int64_t RateLimiter::Take(std::string_view key, int64_t now_micros) {
  if (rate_ <= 0) return 0;
  Shard& shard = shards_[std::hash<std::string_view>()(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_keys_per_shard_) {
      // Forget the buckets that are full again; they lose nothing.
      std::erase_if(shard.buckets, [&](const auto& kv) {
        return kv.second.tokens + static_cast<double>(now_micros - kv.second.updated) * rate_ >= burst_;
      });
      // Still full: every key is spending. Start over rather than grow without bound.
      if (shard.buckets.size() >= max_keys_per_shard_) shard.buckets.clear();
    }
    it = shard.buckets.emplace(std::string(key), Bucket{burst_, now_micros}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(burst_, b.tokens + static_cast<double>(std::max<int64_t>(0, now_micros - b.updated)) * rate_);
  b.updated = now_micros;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return static_cast<int64_t>(std::ceil((1 - b.tokens) / rate_));
}

}  // namespace kefu
