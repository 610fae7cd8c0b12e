// The server's plumbing: hooks into cpp-httplib, the router, limits, authentication, CORS, errors,
// logs and metrics. The routes themselves are in http_routes.cc.
//
// How a request flows through cpp-httplib 0.11.4 (a shared library: limits are runtime calls):
//   pre-routing hook (PreRoute): request id, path length (414), then
//     - methods without a body (GET, HEAD, OPTIONS): routed and answered right there, so no
//       std::regex ever runs on their path;
//     - methods with a body: the headers alone decide (PlanBody, adapters/body_guard.h): refused
//       at once and the connection closed (unknown framing), or read by DispatchWithBody, the one
//       catch-all content-reader route per method, which keeps at most the route's limit (Content-
//       Length or chunked; never inflated), discards the rest, and calls Dispatch. Answering before
//       the body is read would leave the body in the connection as the "next request".
//   error hook: a JSON body for every error cpp-httplib produces itself (400, 413, 414...);
//   exception hook: a generic JSON 500 with the request id, the detail only in the log;
//   logger hook: one JSON line per request on stderr, and the metrics.
#include "adapters/http_api.h"

#include "adapters/body_guard.h"
#include "adapters/elastic_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "adapters/http_internal.h"
#include "base/file.h"

namespace kefu {
namespace {

// The request being served on this thread. cpp-httplib runs a request's hooks, handler, body
// writer and logger on one worker thread, in that order.
struct RequestContext {
  bool active = false;  // set by the pre-routing hook, cleared by the logger
  int64_t start = 0;
  std::string id;
  const HttpApi::Route* route = nullptr;
  bool stream = false;
  BodyPlan body;  // methods with a body: what PreRoute decided
  std::string client;  // ClientAddress: the peer, or the client a trusted proxy forwards for
};
thread_local RequestContext t_request;

bool ExpectsBody(const std::string& method) {
  // The methods whose body cpp-httplib reads (detail::expect_content).
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" || method == "PRI";
}

bool IsParamChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// Splits "/a/b/c" into {"a","b","c"}; false when the path does not start with '/'.
bool SplitPath(std::string_view path, std::vector<std::string_view>* out) {
  if (path.empty() || path[0] != '/') return false;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out->push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return true;
}

std::string_view HttpCodeName(int status) {
  switch (status) {
    case 400: return "invalid_argument";
    case 401: return "unauthenticated";
    case 403: return "permission_denied";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 416: return "range_not_satisfiable";
    case 429: return "resource_exhausted";
    case 501: return "not_implemented";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "invalid_argument";
  }
}

std::string_view HttpDefaultMessage(int status) {
  switch (status) {
    case 400: return "malformed request";
    case 404: return "no such route";
    case 413: return "the request body is too large";
    case 414: return "the request path is too long";
    default: return status >= 500 ? "internal error" : "request refused";
  }
}

std::string UtcNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

// One line, one write: lines of concurrent requests do not interleave.
void WriteLogLine(std::string line) {
  line += '\n';
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

// Sends the response already in `res`, then closes the connection: used when refusing a request
// whose body was not read (it would otherwise be parsed as the next request). A content provider
// that reports failure after writing everything is cpp-httplib's only way to close from a handler.
void CloseAfterResponse(httplib::Response& res) {
  auto body = std::make_shared<std::string>(std::move(res.body));
  res.body.clear();
  res.set_header("Connection", "close");
  res.set_content_provider(body->size(), "application/json",
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;
                           });
}

bool IsPlaceholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool SegmentsMatch(const HttpApi::Route& r, const std::vector<std::string_view>& segments) {
  if (r.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& p = r.segments[i];
    if (IsPlaceholder(p)) {
      if (segments[i].empty() || segments[i].size() > 64 || !std::all_of(segments[i].begin(), segments[i].end(), IsParamChar)) {
        return false;
      }
    } else if (p != segments[i]) {
      return false;
    }
  }
  return true;
}

bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin) {
  for (const std::string& a : allowed) {
    if (a == "*" || a == origin) return true;
  }
  return false;
}

}  // namespace

// ---- Shared helpers (http_internal.h) ----------------------------------------------------------

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int HttpStatusFor(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kUnauthenticated: return 401;
    case Status::Code::kPermissionDenied: return 403;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kConflict: return 409;
    case Status::Code::kResourceExhausted: return 429;
    case Status::Code::kUnavailable: return 503;
    case Status::Code::kIOError: return 503;
    case Status::Code::kCorruption: return 500;
    case Status::Code::kInternal: return 500;
    case Status::Code::kAborted: return 503;  // the engine retried; the client may too
  }
  return 500;
}

std::string ErrorJson(std::string_view code, std::string_view message, std::string_view reason) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject().Field("code", code).Field("message", message);
  if (!reason.empty()) w.Field("reason", reason);
  return w.EndObject().EndObject().Take();
}

void SendJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.body = std::move(body);
  res.set_header("Content-Type", "application/json");
}

void SendError(httplib::Response& res, const Status& status) {
  const int http = HttpStatusFor(status.code());
  if (http == 401) res.set_header("WWW-Authenticate", "Bearer");
  if (http >= 500) {
    // The detail goes to the log; the caller learns only the kind and the request id.
    WriteLogLine(std::string("{\"time\":\"") + UtcNow() + "\",\"level\":\"error\",\"request_id\":\"" + t_request.id +
                 "\",\"error\":" + [&] { std::string s; AppendJsonString(status.ToString(), &s); return s; }() + "}");
    if (http == 503) {
      // A full or read-only disk: say so (without the server's paths) and when to come back.
      res.set_header("Retry-After", "1");
      const bool storage = status.code() == Status::Code::kIOError ||
                           status.message().find("data directory") != std::string::npos;
      SendJson(res, http, ErrorJson(Status::CodeName(status.code()),
                                    std::string(storage ? "the data directory refused the write (disk full or read-only); "
                                                          "the change is not known to be saved: retry later"
                                                        : "temporarily unavailable; retry later") +
                                        "; request id " + t_request.id));
      return;
    }
    SendJson(res, http, ErrorJson(Status::CodeName(status.code()), "internal error; request id " + t_request.id));
    return;
  }
  SendJson(res, http, ErrorJson(Status::CodeName(status.code()), status.message(), status.reason()));
}

void SendHttpError(httplib::Response& res, int http_status, std::string_view code, std::string_view message) {
  SendJson(res, http_status, ErrorJson(code, message));
}

Result<JsonBody> ReadJsonBody(const httplib::Request& req, bool optional, std::initializer_list<std::string_view> known) {
  std::string_view text = req.body;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (!optional) return Status::InvalidArgument("a JSON object body is required");
    text = "{}";
  } else {
    const std::string type = req.get_header_value("Content-Type");
    if (type.rfind("application/json", 0) != 0) {
      return Status::InvalidArgument("Content-Type must be application/json");
    }
  }
  auto doc = ParseJson(text);
  if (!doc.ok()) return doc.status().WithContext("body");
  auto object = JsonObject::From(**doc);
  if (!object.ok()) return Status::InvalidArgument("body: must be a JSON object");
  JsonBody body(*object, std::move(*doc));
  KEFU_RETURN_IF_ERROR(body.RejectUnknown(known));
  return body;
}

Result<uint64_t> QueryUint(const httplib::Request& req, const char* name, uint64_t fallback, uint64_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  uint64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty() || out > max) {
    return Status::InvalidArgument(std::string("query '") + name + "': expected an integer from 0 to " + std::to_string(max));
  }
  return out;
}

std::string BearerToken(const httplib::Request& req) {
  const std::string h = req.get_header_value("Authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (h.size() <= kPrefix.size() || h.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  std::string token = h.substr(kPrefix.size());
  while (!token.empty() && token.back() == ' ') token.pop_back();
  return token;
}

const std::string& HttpCall::Param(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return kEmpty;
}

// ---- HttpApi ---------------------------------------------------------------------------------------

HttpApi::HttpApi(Engine* engine, ServerOptions options)
    : engine_(engine), options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {
  impl_->request_prefix = RandomHex(4);
  // A token shorter than kMinAdminTokenChars leaves the admin routes off (kefu serve refuses to
  // start with one: LoadOrCreateAdminToken).
  if (options_.admin_token.size() >= kMinAdminTokenChars) impl_->admin_hash = HashToken(options_.admin_token);
  InstallServerHooks();
  RegisterRoutes();
}

HttpApi::~HttpApi() { Stop(); }

std::shared_ptr<const DeskEdgeMap> HttpApi::DeskEdges() const {
  const uint64_t version = engine_->DesksVersion();
  std::lock_guard<std::mutex> lock(impl_->desks_mu);
  if (impl_->desks != nullptr && impl_->desks_version == version) return impl_->desks;
  auto edges = std::make_shared<DeskEdgeMap>();
  for (const std::string& id : engine_->DeskIds()) {
    auto config = engine_->GetDeskConfig(id);
    if (!config.ok()) continue;
    DeskEdge& d = (*edges)[id];
    d.allowed_origins = config->allowed_origins;
    d.identity = {config->app_secret, config->legacy_hmac};
    d.default_capacity = config->settings.default_capacity;
  }
  impl_->desks = std::move(edges);
  impl_->desks_version = version;
  return impl_->desks;
}

void HttpApi::InstallServerHooks() {
  const size_t threads = static_cast<size_t>(std::max(2, options_.threads));
  const size_t max_threads = std::max(threads, static_cast<size_t>(std::max(0, options_.max_threads)));
  server_.new_task_queue = [threads, max_threads] { return new ElasticThreadPool(threads, max_threads); };
  server_.set_tcp_nodelay(true);
  // cpp-httplib's own limit only ever sees Content-Length bodies that PlanBody let through; the
  // routes' limits are kept by ReadBody.
  server_.set_payload_max_length(
      std::max({options_.max_discard_bytes, options_.max_kb_body_bytes, options_.max_json_body_bytes}));
  server_.set_read_timeout(options_.read_timeout_seconds, 0);
  server_.set_write_timeout(options_.write_timeout_seconds, 0);
  server_.set_keep_alive_timeout(options_.keep_alive_timeout_seconds);
  server_.set_keep_alive_max_count(static_cast<size_t>(std::max(1, options_.keep_alive_max_requests)));
  server_.set_default_headers({
      {"X-Content-Type-Options", "nosniff"},
      {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
  });

  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return PreRoute(req, res); });
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    DispatchWithBody(req, res, reader);
  };
  // Reached only by methods with a body, whose path PreRoute has already limited in length.
  // Content-reader routes run before cpp-httplib reads anything of the body.
  server_.Post(".*", dispatch);
  server_.Put(".*", dispatch);
  server_.Patch(".*", dispatch);
  server_.Delete(".*", dispatch);

  server_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!t_request.active && !res.has_header("X-Request-Id")) {
      // cpp-httplib refused the request before the pre-routing hook (bad request line, 414).
      static std::atomic<uint64_t> early{0};
      res.set_header("X-Request-Id", "early-" + std::to_string(early.fetch_add(1)));
    }
    // Already an answer: a JSON body, or one that CloseAfterResponse moved into a provider (writing
    // a body here would bypass the provider, and the connection would stay open).
    if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
    SendHttpError(res, res.status, HttpCodeName(res.status), HttpDefaultMessage(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));

  server_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::string line = "{\"time\":\"" + UtcNow() + "\",\"level\":\"error\",\"request_id\":\"" + t_request.id +
                       "\",\"route\":";
    AppendJsonString(t_request.route ? t_request.route->pattern : "-", &line);
    line += ",\"exception\":";
    AppendJsonString(what, &line);
    WriteLogLine(line + "}");
    res.headers.erase("Content-Type");
    SendHttpError(res, 500, "internal", "internal error; request id " + t_request.id);
  });

  server_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    RequestContext& ctx = t_request;
    const int64_t micros = ctx.active ? MonotonicMicros() - ctx.start : -1;
    impl_->metrics.Record(ctx.route ? ctx.route->metrics_index : -1, res.status, micros, ctx.stream);
    if (options_.log_requests) {
      std::string line = "{\"time\":\"" + UtcNow() + "\",\"level\":\"info\",\"request_id\":";
      AppendJsonString(ctx.active ? ctx.id : res.get_header_value("X-Request-Id"), &line);
      line += ",\"method\":";
      AppendJsonString(req.method, &line);
      line += ",\"route\":";
      AppendJsonString(ctx.route ? ctx.route->pattern : (ctx.active ? "unmatched" : "-"), &line);
      line += ",\"status\":" + std::to_string(res.status) + ",\"micros\":" + std::to_string(micros) + ",\"ip\":";
      AppendJsonString(ClientAddress(req), &line);
      if (ClientAddress(req) != req.remote_addr) {  // forwarded by a trusted proxy: which one
        line += ",\"peer\":";
        AppendJsonString(req.remote_addr, &line);
      }
      WriteLogLine(line + "}");
    }
    ctx.active = false;
    ctx.route = nullptr;
  });
}

void HttpApi::AddRoute(std::string_view method, std::string_view pattern, RouteAuth auth, size_t max_body_bytes,
                       Handler handler) {
  auto r = std::make_unique<Route>();
  r->method = std::string(method);
  r->pattern = std::string(pattern);
  std::vector<std::string_view> segments;
  SplitPath(pattern, &segments);
  for (std::string_view s : segments) r->segments.emplace_back(s);
  r->auth = auth;
  r->max_body = max_body_bytes;
  r->handler = std::move(handler);
  r->metrics_index = impl_->metrics.AddRoute(r->method + " " + r->pattern);
  r->customer_facing = pattern.rfind("/v1/desks/", 0) == 0 || pattern.rfind("/v1/conversations/", 0) == 0;
  r->budgeted = pattern.rfind("/v1/", 0) == 0;
  impl_->routes.push_back(std::move(r));
}

httplib::Server::HandlerResponse HttpApi::PreRoute(const httplib::Request& req, httplib::Response& res) {
  RequestContext& ctx = t_request;
  ctx.active = true;
  ctx.start = MonotonicMicros();
  ctx.route = nullptr;
  ctx.stream = false;
  char counter[24];
  std::snprintf(counter, sizeof counter, "%010llx",
                static_cast<unsigned long long>(impl_->next_request.fetch_add(1, std::memory_order_relaxed)));
  ctx.id = impl_->request_prefix + "-" + counter;
  res.set_header("X-Request-Id", ctx.id);
  ctx.client = ClientOf(req);

  if (req.path.size() > options_.max_path_bytes) {
    SendHttpError(res, 414, "uri_too_long",
                  "the request path is longer than " + std::to_string(options_.max_path_bytes) + " bytes");
    if (ExpectsBody(req.method)) CloseAfterResponse(res);
    return httplib::Server::HandlerResponse::Handled;
  }
  if (ExpectsBody(req.method)) {
    ctx.route = Match(req.path, req.method);  // so that a refusal is logged under the route
    ctx.body = PlanBody(req, ctx.route != nullptr, ctx.route ? ctx.route->max_body : 0, options_.max_discard_bytes);
    if (req.method == "PRI" && ctx.body.action == BodyPlan::Action::kRead) {
      // cpp-httplib has no content reader for PRI: it would read the body whole.
      ctx.body = {BodyPlan::Action::kRefuseNow, 0, 405, "method_not_allowed", "PRI is not served"};
    }
    switch (ctx.body.action) {
      case BodyPlan::Action::kNone:
        break;  // no body: a request without Content-Length or Transfer-Encoding has none (RFC 9112, 6.3)
      case BodyPlan::Action::kRefuseNow:
        SendHttpError(res, ctx.body.status, ctx.body.code, ctx.body.message);
        CloseAfterResponse(res);
        return httplib::Server::HandlerResponse::Handled;
      case BodyPlan::Action::kRead:
        // cpp-httplib decides from these headers, after this hook, whether to inflate or parse the
        // body: a refused body must reach DispatchWithBody as plain bytes. The Request is
        // cpp-httplib's own, non-const object; only the hook's signature is const.
        if (ctx.body.status != 0) DisarmRefusedBody(const_cast<httplib::Request&>(req));
        return httplib::Server::HandlerResponse::Unhandled;
    }
  }
  Dispatch(req, res);
  return httplib::Server::HandlerResponse::Handled;
}

void HttpApi::DispatchWithBody(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  const BodyPlan& plan = t_request.body;
  const bool routed = t_request.route != nullptr;
  std::string body;
  const BodyRead read = ReadBody(reader, plan.keep, options_.max_discard_bytes, &body);
  if (plan.status != 0) {
    SendHttpError(res, plan.status, plan.code, plan.message);
  } else if (routed && read.over) {
    SendHttpError(res, 413, "payload_too_large", "the request body is larger than " + std::to_string(plan.keep) + " bytes");
  } else if (routed && !read.complete) {
    SendHttpError(res, 400, "invalid_argument", "the request body could not be read to its end");
  } else {
    // The body as the routes read it (req.body); cpp-httplib's non-const Request, as above. An
    // unrouted request's body was discarded: the router answers 404 or 405.
    const_cast<httplib::Request&>(req).body = std::move(body);
    Dispatch(req, res);
  }
  if (!read.complete) CloseAfterResponse(res);  // the rest of the body is still in the connection
}

const HttpApi::Route* HttpApi::Match(const std::string& path, const std::string& method) const {
  std::vector<std::string_view> segments;
  if (!SplitPath(path, &segments)) return nullptr;
  for (const auto& r : impl_->routes) {
    if (r->method == method && SegmentsMatch(*r, segments)) return r.get();
  }
  return nullptr;
}

void HttpApi::Dispatch(const httplib::Request& req, httplib::Response& res) {
  std::vector<std::string_view> segments;
  if (!SplitPath(req.path, &segments)) {
    SendHttpError(res, 404, "not_found", "no such route");
    return;
  }
  const std::string& method = req.method == "HEAD" ? std::string("GET") : req.method;
  const Route* found = nullptr;
  std::vector<const Route*> same_path;  // routes of the path, any method (405, CORS preflight)
  HttpCall call{req, res, {}, {}, {}, t_request.id};
  for (const auto& r : impl_->routes) {
    if (!SegmentsMatch(*r, segments)) continue;
    same_path.push_back(r.get());
    if (found == nullptr && r->method == method) found = r.get();
  }
  if (found == nullptr) {
    if (req.method == "OPTIONS" && !same_path.empty()) {
      Preflight(req, res, same_path);
      return;
    }
    if (same_path.empty()) {
      SendHttpError(res, 404, "not_found", "no such route");
      return;
    }
    std::string allow;
    for (const Route* r : same_path) allow += (allow.empty() ? "" : ", ") + r->method;
    res.set_header("Allow", allow);
    SendHttpError(res, 405, "method_not_allowed", "allowed: " + allow);
    return;
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& p = found->segments[i];
    if (IsPlaceholder(p)) {
      call.params.emplace_back(std::string_view(p).substr(1, p.size() - 2), std::string(segments[i]));
    }
  }
  t_request.route = found;
  RunRoute(*found, call);
}

void HttpApi::Preflight(const httplib::Request& req, httplib::Response& res, const std::vector<const Route*>& routes) {
  t_request.route = routes.front();
  const std::string origin = req.get_header_value("Origin");
  std::string methods;
  for (const Route* r : routes) methods += r->method + ", ";
  methods += "OPTIONS";
  if (origin.empty()) {
    res.set_header("Allow", methods);
    res.status = 204;
    return;
  }
  if (!routes.front()->customer_facing) {
    SendHttpError(res, 403, "permission_denied", "cross-origin calls are not allowed on this route");
    return;
  }
  if (!OriginAllowed(AllowedOrigins(routes.front(), req), origin)) {
    SendHttpError(res, 403, "permission_denied", "origin not allowed");
    return;
  }
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Access-Control-Allow-Methods", methods);
  res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID");
  res.set_header("Access-Control-Max-Age", "600");
  res.set_header("Vary", "Origin");
  res.status = 204;
}

std::vector<std::string> HttpApi::AllowedOrigins(const Route* route, const httplib::Request& req,
                                                 std::string_view conversation_desk) const {
  // A desk's route (start): that desk. A conversation's route: the conversation's desk once the
  // caller is authenticated, else (preflight, errors) any desk's origins, so that a preflight
  // does not reveal which desk a conversation belongs to.
  std::string_view desk = conversation_desk;
  if (desk.empty() && route->pattern.rfind("/v1/desks/", 0) == 0) {
    std::vector<std::string_view> segments;
    SplitPath(req.path, &segments);
    if (segments.size() > 2) desk = segments[2];
  }
  std::vector<std::string> out;
  const auto desks = DeskEdges();
  if (!desk.empty()) {
    auto it = desks->find(desk);
    if (it != desks->end()) out = it->second.allowed_origins;
    return out;
  }
  for (const auto& [id, d] : *desks) out.insert(out.end(), d.allowed_origins.begin(), d.allowed_origins.end());
  return out;
}

void HttpApi::RunRoute(const Route& route, HttpCall& call) {
  const httplib::Request& req = call.request;
  httplib::Response& res = call.response;
  if (route.budgeted && impl_->requests.enabled()) {
    const int64_t wait = impl_->requests.Take(ClientAddress(req), MonotonicMicros());
    if (wait > 0) {
      res.set_header("Retry-After", std::to_string((wait + kMicrosPerSecond - 1) / kMicrosPerSecond));
      SendHttpError(res, 429, "resource_exhausted", "too many requests from this address; slow down");
      return;
    }
  }
  const std::string origin = route.customer_facing ? req.get_header_value("Origin") : std::string();
  std::string conversation_desk;
  auto allow_origin = [&] {
    if (origin.empty() || !OriginAllowed(AllowedOrigins(&route, req, conversation_desk), origin)) return;
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
    res.set_header("Vary", "Origin");
  };
  if (req.body.size() > route.max_body) {
    allow_origin();
    SendHttpError(res, 413, "payload_too_large",
                  "the request body is larger than " + std::to_string(route.max_body) + " bytes");
    return;
  }
  call.bearer = BearerToken(req);
  const Status auth = Authorize(route, call, origin.empty() ? nullptr : &conversation_desk);
  allow_origin();
  if (!auth.ok()) {
    SendError(res, auth);
    return;
  }
  route.handler(call);
}

void MarkStreamingResponse() { t_request.stream = true; }

const std::string& ClientAddress(const httplib::Request& req) {
  return t_request.active && !t_request.client.empty() ? t_request.client : req.remote_addr;
}

std::string HttpApi::ClientOf(const httplib::Request& req) {
  const size_t n = req.get_header_value_count("X-Forwarded-For");
  if (n == 0) return req.remote_addr;
  std::vector<std::string> forwarded;
  for (size_t i = 0; i < n; ++i) forwarded.push_back(req.get_header_value("X-Forwarded-For", i));
  const std::string client = options_.trusted_proxies.ClientOf(req.remote_addr, forwarded);
  auto peer = IpAddress::Parse(req.remote_addr);
  impl_->metrics.CountForwarded(peer && options_.trusted_proxies.Contains(*peer));
  return client;
}

Result<int> HttpApi::Bind(const std::string& host, int port) {
  int bound = -1;
  if (port == 0) {
    bound = server_.bind_to_any_port(host);
  } else if (server_.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
  }
  return bound;
}

Status HttpApi::Serve() {
  impl_->serving = true;
  if (stopping_) {
    impl_->serve_done = true;
    return Status::OK();
  }
  const bool ok = server_.listen_after_bind();
  impl_->serve_done = true;
  if (!ok && !stopping_) return Status::Unavailable("the server stopped listening");
  return Status::OK();
}

void HttpApi::Stop() {
  stopping_ = true;
  engine_->WakeAll();
  // Woken streams and long polls write their last words (a long poll its whole answer) and give
  // their slots back; cpp-httplib's stop() would cut a chunked answer still being written, so wait
  // for them first, a little (a client that does not read cannot hold the shutdown up).
  const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (impl_->streams.open() > 0 && std::chrono::steady_clock::now() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Serve may be between its check of stopping_ and the start of its accept loop: cpp-httplib's
  // stop() does nothing until the loop runs.
  while (impl_->serving && !impl_->serve_done && !server_.is_running()) std::this_thread::yield();
  server_.stop();
}

bool HttpApi::is_running() const { return server_.is_running(); }

int HttpApi::open_streams() const { return impl_->streams.open(); }

// ---- Admin token -----------------------------------------------------------------------------------

namespace {

Status CheckAdminTokenLength(const std::string& token, const std::string& where) {
  if (token.size() >= kMinAdminTokenChars) return Status::OK();
  return Status::InvalidArgument(where + " is " + std::to_string(token.size()) + " characters; an admin token needs at least " +
                                 std::to_string(kMinAdminTokenChars) + " (make one with: openssl rand -base64 32)");
}

}  // namespace

Result<std::string> LoadOrCreateAdminToken(const std::string& data_dir, const char* env_value) {
  if (env_value != nullptr && env_value[0] != '\0') {
    KEFU_RETURN_IF_ERROR(CheckAdminTokenLength(env_value, "KEFU_ADMIN_TOKEN"));
    return std::string(env_value);
  }
  const std::string path = data_dir + "/admin_token";
  auto existing = ReadFileToString(path, 4096);
  if (existing.ok()) {
    std::string token = *existing;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (!token.empty()) {
      KEFU_RETURN_IF_ERROR(CheckAdminTokenLength(token, path));
      return token;
    }
  } else if (existing.status().code() != Status::Code::kNotFound) {
    return Status::IOError(path + ": " + existing.status().message());
  }
  const std::string token = RandomToken();
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  const std::string content = token + "\n";
  const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                       ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(path + ": cannot write the admin token: " + std::strerror(errno));
  }
  return token;
}

}  // namespace kefu
