// Counters of the HTTP edge for GET /metrics (Prometheus text format 0.0.4): requests by route
// pattern and status, a latency histogram per route, the matcher's decisions as seen in responses,
// and the engine's gauges (queue length, agents online) and store counters.
#ifndef KEFU_ADAPTERS_HTTP_METRICS_H_
#define KEFU_ADAPTERS_HTTP_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace kefu {

// Thread-safe after the routes are added: Record and CountDecision are lock-free or take a short
// lock; AddRoute must happen before the first Record (at server setup).
class HttpMetrics {
 public:
  HttpMetrics();

  // Registers a route by its pattern; returns its index for Record.
  int AddRoute(std::string_view pattern);

  // One finished request. `route` -1 for requests that matched no route. Streams (SSE, long
  // polls) are counted but kept out of the latency histogram: their duration is the client's.
  void Record(int route, int status, int64_t micros, bool stream);

  // A request that carried X-Forwarded-For: from a trusted proxy (the header named the client) or
  // from any other peer (the header was ignored).
  void CountForwarded(bool trusted_peer);

  // One matcher outcome visible in a customer turn: "answer", "clarify", "escalate", "small_talk".
  void CountDecision(std::string_view desk, std::string_view decision);

  // The exposition text, with the engine's gauges and counters.
  std::string Render(const std::vector<Engine::DeskGauges>& gauges, const EngineStats& engine) const;

  // Upper bounds of the latency buckets, seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

 private:
  struct RouteStats {
    std::string pattern;
    std::array<std::atomic<uint64_t>, 600> by_status{};     // index: HTTP status
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_micros{0};
  };
  std::vector<std::unique_ptr<RouteStats>> routes_;  // [0] is the unmatched pseudo-route
  std::atomic<uint64_t> forwarded_trusted_{0}, forwarded_ignored_{0};
  mutable std::mutex decisions_mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> decisions_;  // GUARDED_BY(decisions_mu_)
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_HTTP_METRICS_H_
