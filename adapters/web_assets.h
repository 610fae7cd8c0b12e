// The web channel's static files (adapters/web/: the chat widget, its demo pages and the agent
// console), embedded in the binary at build time by adapters/web/embed_assets.py, and the GET
// routes that serve them. Pages carry their own Content-Security-Policy (scripts, styles and API
// calls from kefu's own origin only, no inline scripts); scripts and styles keep the API's strict
// default. Every file is revalidated by ETag (Cache-Control: no-cache), so an upgrade of kefu
// reaches browsers at once.
//
// Thread-safe: the assets are immutable.
#ifndef KEFU_ADAPTERS_WEB_ASSETS_H_
#define KEFU_ADAPTERS_WEB_ASSETS_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace kefu {

class HttpApi;
struct HttpCall;

// One embedded file of adapters/web/.
struct WebAsset {
  std::string_view name;     // base name, e.g. "widget.js"
  std::string_view content;  // the file's bytes (static storage)
  std::string_view etag;     // quoted strong ETag: a hash of the content
};

// Every embedded file, sorted by name (generated code).
const std::vector<WebAsset>& EmbeddedWebAssets();

// The embedded file `name`, or nullptr.
const WebAsset* FindWebAsset(std::string_view name);

// The Content-Security-Policy of the HTML pages (demo pages, console).
inline constexpr std::string_view kWebPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The app_secret of the demo desks, published in kefu.demo.json and the docs: a desk that signs
// with it has no secret. Only such a desk gets the demo intranet page's signed employee.
inline constexpr std::string_view kDemoAppSecret = "demo-app-secret-change-me";

// The employee the demo intranet page signs in: sub "emp-1024", Wang Fang of Finance.
inline constexpr std::string_view kDemoEmployeeId = "emp-1024";

// How long the demo page's JWT is valid, seconds: a tab left open longer meets the widget's
// "sign in again" message, as on a real intranet.
inline constexpr int64_t kDemoJwtLifetimeSeconds = 3600;

// GET /intranet: the demo intranet page (demo-intranet.html) with the HR widget signed in as the
// demo employee, the way an intranet's backend renders it (docs/web.md): an HS256 JWT minted at
// `now_seconds` with `hr_secret` goes into the script tag's data-user-jwt. 404 unless `hr_secret`
// is kDemoAppSecret, so a desk with a real secret never signs anybody here. Never cached.
void ServeDemoIntranet(HttpCall& call, std::string_view hr_secret, int64_t now_seconds);

// Registers the public GET routes of the web channel on `api` (call before Serve):
//   /            demo intranet page with the HR desk's widget     (demo-hr.html)
//   /zh          the same page in Chinese                         (demo-hr-zh.html)
//   /shop        demo shop page with the shop desk's widget        (demo-shop.html)
//   (/intranet, the signed demo page, is registered by HttpApi: it needs the HR desk's secret)
//   /console     agent console                                     (console.html)
//   /widget.js, /console.js, /console.css, /demo.css, /favicon.svg
// A file missing from the build is a programmer error (asserted).
void AddWebRoutes(HttpApi* api);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WEB_ASSETS_H_
