#include "adapters/http_metrics.h"

#include <cstdio>

namespace kefu {
namespace {

// Label values are route patterns and desk ids ([a-z0-9-{}/._]); escape anyway.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

HttpMetrics::HttpMetrics() { AddRoute("unmatched"); }

int HttpMetrics::AddRoute(std::string_view pattern) {
  auto r = std::make_unique<RouteStats>();
  r->pattern = std::string(pattern);
  routes_.push_back(std::move(r));
  return static_cast<int>(routes_.size()) - 1;
}

void HttpMetrics::Record(int route, int status, int64_t micros, bool stream) {
  RouteStats& r = *routes_[route < 0 || route >= static_cast<int>(routes_.size()) ? 0 : route];
  if (status >= 0 && status < 600) r.by_status[status].fetch_add(1, std::memory_order_relaxed);
  if (stream || micros < 0) return;
  size_t b = 0;
  while (b < kBuckets.size() && static_cast<double>(micros) > kBuckets[b] * 1e6) ++b;
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
  r.sum_micros.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
}

void HttpMetrics::CountForwarded(bool trusted_peer) {
  (trusted_peer ? forwarded_trusted_ : forwarded_ignored_).fetch_add(1, std::memory_order_relaxed);
}

void HttpMetrics::CountDecision(std::string_view desk, std::string_view decision) {
  std::lock_guard<std::mutex> lock(decisions_mu_);
  ++decisions_[{std::string(desk), std::string(decision)}];
}

std::string HttpMetrics::Render(const std::vector<Engine::DeskGauges>& gauges, const EngineStats& engine) const {
  std::string out;
  out += "# HELP kefu_http_requests_total HTTP requests by route pattern and status.\n";
  out += "# TYPE kefu_http_requests_total counter\n";
  for (const auto& r : routes_) {
    for (size_t s = 0; s < r->by_status.size(); ++s) {
      const uint64_t n = r->by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "kefu_http_requests_total{route=\"" + Label(r->pattern) + "\",status=\"" + std::to_string(s) + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  out += "# HELP kefu_http_request_duration_seconds Time from routing to the last byte of the response (streams excluded).\n";
  out += "# TYPE kefu_http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) {
    const uint64_t count = r->count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    const std::string route = "route=\"" + Label(r->pattern) + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += r->buckets[b].load(std::memory_order_relaxed);
      const std::string le = b < kBuckets.size() ? Seconds(kBuckets[b]) : "+Inf";
      out += "kefu_http_request_duration_seconds_bucket{" + route + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "kefu_http_request_duration_seconds_sum{" + route + "} " +
           Seconds(static_cast<double>(r->sum_micros.load(std::memory_order_relaxed)) / 1e6) + "\n";
    out += "kefu_http_request_duration_seconds_count{" + route + "} " + std::to_string(count) + "\n";
  }
  out += "# HELP kefu_http_forwarded_requests_total Requests with X-Forwarded-For: from a trusted proxy (the client is "
         "the header's) or from another peer (the header is ignored).\n# TYPE kefu_http_forwarded_requests_total counter\n";
  out += "kefu_http_forwarded_requests_total{peer=\"trusted_proxy\"} " + std::to_string(forwarded_trusted_.load()) + "\n";
  out += "kefu_http_forwarded_requests_total{peer=\"untrusted\"} " + std::to_string(forwarded_ignored_.load()) + "\n";
  out += "# HELP kefu_matcher_decisions_total The bot's decisions on customer messages, per desk.\n";
  out += "# TYPE kefu_matcher_decisions_total counter\n";
  {
    std::lock_guard<std::mutex> lock(decisions_mu_);
    for (const auto& [key, n] : decisions_) {
      out += "kefu_matcher_decisions_total{desk=\"" + Label(key.first) + "\",decision=\"" + Label(key.second) + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  out += "# HELP kefu_queue_length Conversations waiting for a person, per desk.\n# TYPE kefu_queue_length gauge\n";
  for (const auto& g : gauges) out += "kefu_queue_length{desk=\"" + Label(g.desk) + "\"} " + std::to_string(g.queued) + "\n";
  out += "# HELP kefu_agents_online Agents online, per desk.\n# TYPE kefu_agents_online gauge\n";
  for (const auto& g : gauges) out += "kefu_agents_online{desk=\"" + Label(g.desk) + "\"} " + std::to_string(g.agents_online) + "\n";
  out += "# HELP kefu_conversations_serving Conversations agents are serving, per desk.\n# TYPE kefu_conversations_serving gauge\n";
  for (const auto& g : gauges) out += "kefu_conversations_serving{desk=\"" + Label(g.desk) + "\"} " + std::to_string(g.serving) + "\n";
  out += "# HELP kefu_store_writes_total Synced store writes (group commits).\n# TYPE kefu_store_writes_total counter\n";
  out += "kefu_store_writes_total " + std::to_string(engine.store_writes) + "\n";
  out += "# HELP kefu_store_batches_total Engine changes written (batches carried by the group commits).\n# TYPE kefu_store_batches_total counter\n";
  out += "kefu_store_batches_total " + std::to_string(engine.store_batches) + "\n";
  return out;
}

}  // namespace kefu
