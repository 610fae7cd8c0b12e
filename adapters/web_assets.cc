#include "adapters/web_assets.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "adapters/customer_identity.h"
#include "adapters/http_api.h"
#include "adapters/http_internal.h"

namespace kefu {
namespace {

struct WebRoute {
  const char* path;
  const char* file;
  const char* content_type;
  bool page;  // HTML: gets kWebPageCsp instead of the API's default-src 'none'
};

constexpr WebRoute kWebRoutes[] = {
    {"/", "demo-hr.html", "text/html; charset=utf-8", true},
    {"/zh", "demo-hr-zh.html", "text/html; charset=utf-8", true},
    {"/shop", "demo-shop.html", "text/html; charset=utf-8", true},
    {"/console", "console.html", "text/html; charset=utf-8", true},
    {"/widget.js", "widget.js", "text/javascript; charset=utf-8", false},
    {"/console.js", "console.js", "text/javascript; charset=utf-8", false},
    {"/console_i18n.js", "console_i18n.js", "text/javascript; charset=utf-8", false},
    {"/console_work.js", "console_work.js", "text/javascript; charset=utf-8", false},
    {"/console_live.js", "console_live.js", "text/javascript; charset=utf-8", false},
    {"/console_dashboard.js", "console_dashboard.js", "text/javascript; charset=utf-8", false},
    {"/console_knowledge.js", "console_knowledge.js", "text/javascript; charset=utf-8", false},
    {"/console.css", "console.css", "text/css; charset=utf-8", false},
    {"/demo.css", "demo.css", "text/css; charset=utf-8", false},
    {"/favicon.svg", "favicon.svg", "image/svg+xml", false},
};

// Sets `name` to `value`, replacing the server's default (headers are a multimap).
void ReplaceHeader(httplib::Response& res, const char* name, std::string_view value) {
  res.headers.erase(name);
  res.set_header(name, std::string(value));
}

// If-None-Match may list several ETags, or be "*".
bool EtagMatches(const std::string& if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  return if_none_match.find(etag) != std::string::npos;
}

void ServeAsset(HttpCall& call, const WebRoute& route, const WebAsset& asset) {
  httplib::Response& res = call.response;
  ReplaceHeader(res, "Cache-Control", "no-cache");
  res.set_header("ETag", std::string(asset.etag));
  if (route.page) ReplaceHeader(res, "Content-Security-Policy", kWebPageCsp);
  // The widget is loaded by other sites' pages (a <script> needs no CORS).
  if (!route.page) res.set_header("Cross-Origin-Resource-Policy", "cross-origin");
  if (EtagMatches(call.request.get_header_value("If-None-Match"), asset.etag)) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(asset.content.data(), asset.content.size(), route.content_type);
}

// Where demo-intranet.html takes the JWT (inside an attribute: base64url needs no escaping).
constexpr std::string_view kJwtPlaceholder = "{{demo_employee_jwt}}";

}  // namespace

void ServeDemoIntranet(HttpCall& call, std::string_view hr_secret, int64_t now_seconds) {
  httplib::Response& res = call.response;
  const WebAsset* page = FindWebAsset("demo-intranet.html");
  if (hr_secret != kDemoAppSecret || page == nullptr) return SendError(res, Status::NotFound("no such page"));
  CustomerIdentity employee;
  employee.user_id = std::string(kDemoEmployeeId);
  employee.name = "Wang Fang";
  employee.email = "wang.fang@acme.example";
  employee.department = "Finance";
  auto jwt = SignIdentityJwt(employee, hr_secret, now_seconds, kDemoJwtLifetimeSeconds);
  if (!jwt.ok()) return SendError(res, jwt.status());
  std::string html(page->content);
  const size_t at = html.find(kJwtPlaceholder);
  assert(at != std::string::npos && "demo-intranet.html has the placeholder");
  if (at != std::string::npos) html.replace(at, kJwtPlaceholder.size(), *jwt);
  ReplaceHeader(res, "Cache-Control", "no-store");  // a fresh JWT each time
  ReplaceHeader(res, "Content-Security-Policy", kWebPageCsp);
  res.status = 200;
  res.set_content(html, "text/html; charset=utf-8");
}

const WebAsset* FindWebAsset(std::string_view name) {
  const auto& assets = EmbeddedWebAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), name,
                             [](const WebAsset& a, std::string_view n) { return a.name < n; });
  return it != assets.end() && it->name == name ? &*it : nullptr;
}

void AddWebRoutes(HttpApi* api) {
  for (const WebRoute& route : kWebRoutes) {
    const WebAsset* asset = FindWebAsset(route.file);
    assert(asset != nullptr && "adapters/meson.build embeds every file of kWebRoutes");
    if (asset == nullptr) continue;
    api->AddRoute("GET", route.path, RouteAuth::kPublic, 0,
                  [&route, asset](HttpCall& call) { ServeAsset(call, route, *asset); });
  }
}

}  // namespace kefu
