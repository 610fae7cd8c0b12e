// Issue 15, `kefu serve` as a process (tests/reliability/kefu_process.h): --trusted-proxy and
// "trusted_proxies" in kefu.json (logs and metrics show the real client; a bad CIDR stops the
// start with a clear message), and the admin token's minimum length (issue 15, items 4 and 7).
#include <doctest/doctest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "tests/http/raw_socket.h"
#include "tests/reliability/kefu_process.h"

namespace kefu::testing {
namespace {

constexpr char kAdmin[] = "serve-edge-admin-token-0123456789abcdef";

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kefu-edge-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// kefu.demo.json with `top_level` fields added and its KB paths made absolute, written to `dir`.
std::string DemoConfig(const std::string& dir, const std::string& top_level) {
  std::string config = ReadFile(std::string(KEFU_SOURCE_DIR) + "/kefu.demo.json");
  REQUIRE(!config.empty());
  for (size_t at = 0; (at = config.find("\"kb/samples/", at)) != std::string::npos;) {
    config.insert(at + 1, std::string(KEFU_SOURCE_DIR) + "/");
    at += 12;
  }
  config.insert(config.find('{') + 1, top_level);
  const std::string path = dir + "/kefu.json";
  std::ofstream(path) << config;
  return path;
}

// A conversation started from `source` with X-Forwarded-For `forwarded`; the status.
int StartFrom(int port, const char* source, const std::string& forwarded) {
  RawSocket raw(port, source);
  REQUIRE(raw.Send("POST /v1/desks/hr/conversations HTTP/1.1\r\nHost: kefu\r\nContent-Type: application/json\r\n"
                   "Content-Length: 2\r\nConnection: close\r\nX-Forwarded-For: " + forwarded + "\r\n\r\n{}"));
  return StatusOf(raw.Read(10));
}

TEST_CASE("kefu serve --trusted-proxy: the logs and metrics show the client the proxy forwards for") {
  TempDir tmp;
  // 127.0.0.2 on the command line, 127.0.0.3 in kefu.json: both are trusted.
  KefuProcess server(tmp.path + "/data", tmp.path,
                     {"--config", DemoConfig(tmp.path, R"("trusted_proxies": ["127.0.0.3/32"],)"), "--trusted-proxy",
                      "127.0.0.2"},
                     {std::string("KEFU_ADMIN_TOKEN=") + kAdmin});
  const int port = server.Start();
  REQUIRE_MESSAGE(port > 0, server.LastStderr());
  CHECK(StartFrom(port, "127.0.0.2", "6.6.6.6, 203.0.113.7") == 201);
  CHECK(StartFrom(port, "127.0.0.3", "203.0.113.8") == 201);
  CHECK(StartFrom(port, "127.0.0.4", "203.0.113.9") == 201);  // not a proxy: its header is ignored
  httplib::Client c("127.0.0.1", port);
  auto metrics = c.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("kefu_http_forwarded_requests_total{peer=\"trusted_proxy\"} 2") != std::string::npos);
  CHECK(metrics->body.find("kefu_http_forwarded_requests_total{peer=\"untrusted\"} 1") != std::string::npos);
  CHECK(server.Terminate() == 0);
  const std::string log = server.LastStderr();
  CHECK_MESSAGE(log.find(R"("ip":"203.0.113.7","peer":"127.0.0.2")") != std::string::npos, log);
  CHECK(log.find(R"("ip":"203.0.113.8","peer":"127.0.0.3")") != std::string::npos);
  CHECK(log.find(R"("ip":"127.0.0.4")") != std::string::npos);
  CHECK(log.find("203.0.113.9") == std::string::npos);
  CHECK(log.find("6.6.6.6") == std::string::npos);
}

TEST_CASE("kefu serve refuses a malformed trusted proxy with a clear message") {
  TempDir tmp;
  KefuProcess flag(tmp.path + "/data", tmp.path, {"--trusted-proxy", "10.0.0.0/33"});
  CHECK(flag.Start() == 0);
  CHECK_MESSAGE(flag.LastStderr().find("trusted proxy '10.0.0.0/33'") != std::string::npos, flag.LastStderr());
  KefuProcess config(tmp.path + "/data", tmp.path, {"--config", DemoConfig(tmp.path, R"("trusted_proxies": ["nginx"],)")});
  CHECK(config.Start() == 0);
  CHECK_MESSAGE(config.LastStderr().find("trusted proxy 'nginx'") != std::string::npos, config.LastStderr());
}

TEST_CASE("kefu serve refuses an admin token shorter than 32 characters, from the environment or the file") {
  TempDir tmp;
  const std::string short_token(31, 'k');
  KefuProcess from_env(tmp.path + "/data", tmp.path, {}, {"KEFU_ADMIN_TOKEN=" + short_token});
  CHECK(from_env.Start() == 0);
  CHECK_MESSAGE(from_env.LastStderr().find("KEFU_ADMIN_TOKEN is 31 characters; an admin token needs at least 32") !=
                    std::string::npos,
                from_env.LastStderr());
  std::filesystem::create_directories(tmp.path + "/data");
  std::ofstream(tmp.path + "/data/admin_token") << short_token << "\n";
  KefuProcess from_file(tmp.path + "/data", tmp.path);
  CHECK(from_file.Start() == 0);
  CHECK_MESSAGE(from_file.LastStderr().find("admin_token is 31 characters") != std::string::npos, from_file.LastStderr());
  // 32 is enough.
  KefuProcess ok(tmp.path + "/data", tmp.path, {}, {"KEFU_ADMIN_TOKEN=" + std::string(32, 'k')});
  const int port = ok.Start();
  REQUIRE_MESSAGE(port > 0, ok.LastStderr());
  httplib::Client c("127.0.0.1", port);
  auto stats = c.Get("/v1/admin/desks/hr/stats", {{"Authorization", "Bearer " + std::string(32, 'k')}});
  REQUIRE(stats);
  CHECK(stats->status == 200);
}

}  // namespace
}  // namespace kefu::testing
