// Shared between http_api.cc (the server's plumbing) and http_routes.cc (the routes): not part of
// the adapters' interface.
#ifndef KEFU_ADAPTERS_HTTP_INTERNAL_H_
#define KEFU_ADAPTERS_HTTP_INTERNAL_H_

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/customer_identity.h"
#include "adapters/http_api.h"
#include "adapters/http_metrics.h"
#include "adapters/rate_limiter.h"
#include "adapters/stream_slots.h"
#include "base/json.h"

namespace kefu {

struct HttpApi::Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;  // literal, or "{name}"
  RouteAuth auth = RouteAuth::kPublic;
  size_t max_body = 0;
  Handler handler;
  int metrics_index = 0;
  bool customer_facing = false;  // CORS applies (widget and app routes)
  bool budgeted = false;         // counts against the per-IP request budget (/v1)
};

// What the edge keeps of each desk, rebuilt when the engine's desks change (HttpApi::DeskEdges).
struct DeskEdge {
  std::vector<std::string> allowed_origins;
  DeskIdentity identity;  // signed customers (adapters/customer_identity.h)
  int default_capacity = 3;
};
using DeskEdgeMap = std::map<std::string, DeskEdge, std::less<>>;

struct HttpApi::Impl {
  Impl(const ServerOptions& o)
      : requests(o.requests_per_ip_per_second, o.request_burst),
        logins(o.logins_per_ip_per_minute / 60.0, o.logins_per_ip_per_minute),
        starts(o.conversations_per_ip_per_minute / 60.0, o.conversations_per_ip_per_minute),
        streams({o.max_streams, o.max_streams_per_token, o.max_customer_streams_per_address}) {}

  HttpMetrics metrics;
  RateLimiter requests;
  RateLimiter logins;
  RateLimiter starts;
  std::vector<std::unique_ptr<Route>> routes;
  std::string admin_hash;  // HashToken(admin token); "" when admin routes are off
  std::mutex desks_mu;
  std::shared_ptr<const DeskEdgeMap> desks;  // GUARDED_BY(desks_mu)
  uint64_t desks_version = 0;                // GUARDED_BY(desks_mu) the engine's DesksVersion it reflects
  StreamSlots streams;
  std::atomic<uint64_t> next_request{0};
  std::string request_prefix;
  std::atomic<bool> serving{false};
  std::atomic<bool> serve_done{false};
};

// History pages: the default and the largest a client may ask for.
constexpr size_t kHistoryPage = 200;
constexpr size_t kMaxHistoryPage = 1000;

// The messages as a JSON array of the engine's encodings.
std::string MessagesJson(const std::vector<Message>& messages);

// The client's address: the peer's, or behind a trusted proxy the client it forwards for.
const std::string& ClientAddress(const httplib::Request& req);

// Microseconds of a monotonic clock (rate limits, latencies).
int64_t MonotonicMicros();

// Marks the current request as a stream (SSE, long poll): kept out of the latency histogram.
void MarkStreamingResponse();

// Responses.
void SendJson(httplib::Response& res, int status, std::string body);
void SendError(httplib::Response& res, const Status& status);
void SendHttpError(httplib::Response& res, int http_status, std::string_view code, std::string_view message);

// A request body as one JSON object: `optional` lets an empty body stand for {}; members not in
// `known` are refused, named. InvalidArgument for anything else than a JSON object.
struct JsonBody : JsonObject {
  JsonBody(const JsonObject& object, std::unique_ptr<JsonDocument> document)
      : JsonObject(object), doc(std::move(document)) {}
  std::unique_ptr<JsonDocument> doc;  // what the JsonObject views (heap: stable when moved)
};
Result<JsonBody> ReadJsonBody(const httplib::Request& req, bool optional, std::initializer_list<std::string_view> known);

// Query parameters, checked: an unsigned integer in [0, max] (`fallback` when absent).
Result<uint64_t> QueryUint(const httplib::Request& req, const char* name, uint64_t fallback, uint64_t max);

// A desk's stats as the JSON of GET /v1/admin/desks/{desk}/stats.
std::string StatsJson(std::string_view desk, const DeskStats& s);

// The bearer token of the Authorization header ("" when none).
std::string BearerToken(const httplib::Request& req);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_HTTP_INTERNAL_H_
