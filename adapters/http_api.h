// The HTTP API of kefu (docs/api.md): routes under /v1 over an Engine, with authentication at the
// edge (customer tokens, agent sessions, the admin token) and authorisation in the engine.
//
// The edge owns what HTTP adds: one JSON error shape, request limits, per-IP rate limits, CORS per
// desk, security headers, structured request logs, Prometheus metrics, and live streams (SSE and
// long polls) over Engine::WaitLiveEvents. Every limit is a field of ServerOptions.
//
// Thread-safe: HttpApi's methods may be called from any thread; Serve blocks its caller.
#ifndef KEFU_ADAPTERS_HTTP_API_H_
#define KEFU_ADAPTERS_HTTP_API_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/client_address.h"
#include "adapters/customer_identity.h"
#include "base/status.h"
#include "engine/engine.h"

namespace kefu {

struct ServerOptions {
  // --- Bodies and paths ---
  // Largest body of a JSON route, bytes. Default 64 KiB: a message is at most a few KB of text.
  size_t max_json_body_bytes = size_t{64} << 10;
  // Largest knowledge-base upload (PUT /v1/admin/desks/{desk}/kb), bytes. Default 4 MiB.
  size_t max_kb_body_bytes = size_t{4} << 20;
  // Every route's limit holds whatever the body's framing (adapters/body_guard.h): kefu reads each
  // body itself and keeps at most the route's limit, Content-Length or chunked; compressed bodies
  // (Content-Encoding) are refused (415) and never inflated. A body over its route's limit is read
  // and thrown away up to this many bytes, so that the client reads its 413 on a healthy
  // connection; a longer one (or a Content-Length above it) gets its 413 and the connection closes.
  // Default 64 MiB: discarding costs bandwidth, never memory.
  size_t max_discard_bytes = size_t{64} << 20;
  // Longest request path, bytes; longer is 414 before any route pattern runs (libstdc++'s regex
  // recurses per character). Default 512: the longest real path is under 120.
  size_t max_path_bytes = 512;

  // --- Budgets per client IP (token buckets; 0 turns a budget off) ---
  // Requests per second to /v1, with bursts of `request_burst`. Default 50/s, burst 100: a widget
  // makes a few, an agent console a few more. Over budget: 429 with Retry-After.
  double requests_per_ip_per_second = 50;
  double request_burst = 100;
  // Reverse proxies in front of kefu (kefu serve --trusted-proxy CIDR, "trusted_proxies" in
  // kefu.json): from them only, the client is the right-most untrusted address of
  // X-Forwarded-For (adapters/client_address.h); every budget, log line and per-address cap keys
  // on that client. Default none: the header is ignored and the client is the socket's peer.
  TrustedProxies trusted_proxies;
  // Agent login attempts per minute (passwords are also limited per account by the engine).
  // Default 10: the unauthenticated caller gets a tiny budget.
  double logins_per_ip_per_minute = 10;
  // New conversations per minute. Anonymous web customers have no identity but their address;
  // verified app users are also limited per user by the engine. Default 30.
  double conversations_per_ip_per_minute = 30;

  // --- Connections ---
  // Worker threads. cpp-httplib gives each open connection a thread while it is open (keep-alive
  // idle time, SSE streams, long polls, half-sent requests), so the pool keeps `threads` ready and
  // grows on demand up to `max_threads`, the bound on concurrent connections. Defaults 64 and 1024.
  int threads = 64;
  int max_threads = 1024;
  // Concurrent live streams and long polls; more are refused (503) so that streams cannot take
  // every thread. Default 896 (max_threads - 128).
  int max_streams = 896;
  // Of those, what one customer token or one agent session may hold at once; more are 429. Default
  // 4: a few tabs of the same conversation or console. One token cannot take every slot.
  int max_streams_per_token = 4;
  // Customers' streams from one client address (anyone can start conversations, and so hold
  // tokens); more are 429. Default 64; 0 turns it off. Behind a reverse proxy, --trusted-proxy
  // makes this the real client's address instead of the proxy's.
  int max_customer_streams_per_address = 64;
  // A stream or long poll waits in slices this long, checking between them that its client is
  // still connected: its slot comes back within this long of a hang-up. Default 1,000 ms.
  int stream_liveness_millis = 1000;
  // Per read/write on a socket, seconds: a client that sends nothing for this long is dropped
  // (slow clients). Default 5.
  int read_timeout_seconds = 5;
  int write_timeout_seconds = 5;
  // Idle keep-alive connections close after this many seconds, or after this many requests.
  // Defaults 5 s and 10,000 (cpp-httplib's default of 5 requests would defeat keep-alive).
  int keep_alive_timeout_seconds = 5;
  int keep_alive_max_requests = 10000;

  // --- Live streams ---
  // A comment line is sent on an idle SSE stream this often, milliseconds (proxies and dead
  // clients). Default 15,000.
  int sse_heartbeat_millis = 15000;
  // Longest long poll, seconds (the client's `timeout` is capped to it). Default 30.
  int max_poll_seconds = 30;

  // --- Authentication ---
  // Signed customers' HS256 JWTs (customer.jwt of the start route): clock skew, the longest
  // lifetime accepted, the longest token (adapters/customer_identity.h).
  IdentityRules identity;
  // The admin token; "" (or one shorter than kMinAdminTokenChars) turns the admin routes off
  // (every call is 401, desk admins' calls aside).
  std::string admin_token;
  // How long an agent token lives, seconds (reported as expires_in; the engine enforces it: keep
  // equal to EngineOptions::agent_session_micros). Default 12 hours.
  int64_t agent_session_seconds = 12 * 3600;

  // --- Logs ---
  // One JSON line per request on stderr. Default on.
  bool log_requests = true;
};

// The HTTP status of an engine Status: the only place where the mapping lives.
// invalid_argument 400, unauthenticated 401, permission_denied 403, not_found 404, conflict 409,
// resource_exhausted 429, unavailable and io_error 503, corruption and internal 500.
int HttpStatusFor(Status::Code code);

// The JSON error body {"error": {"code": ..., "message": ..., "reason"?: ...}} (Status::reason).
std::string ErrorJson(std::string_view code, std::string_view message, std::string_view reason = "");

// Who may call a route.
enum class RouteAuth {
  kPublic,    // anyone (health, metrics, agent login, starting a conversation)
  kCustomer,  // Authorization: Bearer <customer token> of the route's {id} conversation
  kAgent,     // Authorization: Bearer <agent token>
  kAdmin,     // Authorization: Bearer <admin token>
  // The admin token, or the session of an agent with the desk_admin role on the route's {desk}
  // (another desk's: 404). Plain agents and customers: 401.
  kDeskAdmin,
};

// The shortest admin token accepted: 32 characters (a generated one has 43). kefu serve refuses
// to start with a shorter one; HttpApi leaves the admin routes off.
constexpr size_t kMinAdminTokenChars = 32;

class HttpMetrics;
class RateLimiter;

// What a route handler receives: the request, its path parameters, and the caller.
struct HttpCall {
  const httplib::Request& request;
  httplib::Response& response;
  std::vector<std::pair<std::string_view, std::string>> params;  // {name} -> value
  AgentIdentity agent;          // RouteAuth::kAgent, and kDeskAdmin when a desk admin calls
  std::string bearer;           // the token as sent (agent logout)
  std::string request_id;

  // The path parameter `name` ("" when absent).
  const std::string& Param(std::string_view name) const;
};

struct DeskEdge;  // http_internal.h

class HttpApi {
 public:
  using Handler = std::function<void(HttpCall& call)>;

  // Serves `engine`, which must outlive this object. Registers the routes of docs/api.md.
  HttpApi(Engine* engine, ServerOptions options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Adds a route. `pattern` is a path whose segments are literals or {name} placeholders (one
  // segment each, [A-Za-z0-9._-]{1,64}); the pattern is also the route's name in logs and metrics.
  // Bodies over `max_body_bytes` are 413. Call before Serve.
  void AddRoute(std::string_view method, std::string_view pattern, RouteAuth auth, size_t max_body_bytes,
                Handler handler);

  // Where an admin's whole-KB upload (PUT /v1/admin/desks/{desk}/kb, JSON or CSV) goes: straight to
  // the engine by default; the knowledge loop sets itself here (AddKnowledgeRoutes) so that an
  // upload is a version that can be rolled back. Returns the version recorded. Call before Serve.
  using KbUploader = std::function<Result<int>(std::string_view desk, std::string_view language,
                                               const std::string& kb_json, std::string_view author)>;
  void SetKbUploader(KbUploader uploader) { kb_uploader_ = std::move(uploader); }

  // Binds `host`:`port` (0: any free port). Returns the bound port; Unavailable when the address
  // cannot be bound.
  Result<int> Bind(const std::string& host, int port);
  // Accepts connections until Stop; returns after in-flight requests have finished.
  Status Serve();
  // Stops accepting, ends live streams and long polls (Engine::WakeAll), and lets Serve return
  // once the requests in flight are done. Safe from any thread, more than once.
  void Stop();
  bool stopping() const { return stopping_.load(); }
  // True while the accept loop runs (tests wait for it instead of sleeping).
  bool is_running() const;
  // Live streams and long polls open now.
  int open_streams() const;

  const ServerOptions& options() const { return options_; }

  struct Route;  // http_internal.h
  struct Impl;

 private:

  void InstallServerHooks();
  void RegisterRoutes();
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res);
  // The client of a request (ServerOptions::trusted_proxies); counts forwarded requests.
  std::string ClientOf(const httplib::Request& req);
  void Dispatch(const httplib::Request& req, httplib::Response& res);
  void DispatchWithBody(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  const Route* Match(const std::string& path, const std::string& method) const;
  void RunRoute(const Route& route, HttpCall& call);
  // Who may call `route` (route_auth.cc). Sets call.agent for agents and desk admins, and
  // `*conversation_desk` (when not null) for customers' routes.
  Status Authorize(const Route& route, HttpCall& call, std::string* conversation_desk);
  Status AuthorizeAdmin(HttpCall& call, bool desk_admin_too);
  void Preflight(const httplib::Request& req, httplib::Response& res, const std::vector<const Route*>& routes);
  std::vector<std::string> AllowedOrigins(const Route* route, const httplib::Request& req,
                                          std::string_view conversation_desk = {}) const;

  // The desks as the edge sees them, rebuilt from the engine when its desks changed.
  std::shared_ptr<const std::map<std::string, DeskEdge, std::less<>>> DeskEdges() const;
  // The admin API's desk routes (desk_routes.cc).
  void AddDeskRoutes();

  // Route handlers (http_routes.cc).
  void StartConversation(HttpCall& call);
  void PostMessage(HttpCall& call);
  void Metrics(HttpCall& call);
  // Live streams and long polls (live_routes.cc).
  void CustomerEvents(HttpCall& call);
  void CustomerPoll(HttpCall& call);
  void AgentEvents(HttpCall& call);
  void AgentPoll(HttpCall& call);
  // The slot of a stream of the caller's token (and, for a customer, of their address), held
  // while the returned pointer lives; nullptr after answering 503 or 429.
  std::shared_ptr<const void> TakeStreamSlot(HttpCall& call, bool customer);
  // Answers a long poll that must wait: waits with `wait_once` (true when there is something to
  // answer) in slices, up to `wait_micros`, while the client is connected; then sends `answer()`
  // (JSON; "" when the engine failed) chunked. `slot` is held until then.
  void AnswerWhenReady(httplib::Response& res, std::shared_ptr<const void> slot, int64_t wait_micros,
                       std::function<bool(int64_t)> wait_once, std::function<std::string()> answer);

  Engine* engine_;
  ServerOptions options_;
  KbUploader kb_uploader_;
  std::unique_ptr<Impl> impl_;
  httplib::Server server_;
  std::atomic<bool> stopping_{false};
};

// The admin token: `env_value` when non-empty, else the content of <data_dir>/admin_token, else a
// new random token written there with mode 0600. IOError when the file cannot be read or written;
// InvalidArgument (naming where it came from) for a token shorter than kMinAdminTokenChars.
Result<std::string> LoadOrCreateAdminToken(const std::string& data_dir, const char* env_value);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_HTTP_API_H_
