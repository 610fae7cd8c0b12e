// Issue 15, `kefu serve` as a process (tests/reliability/kefu_process.h): --trusted-proxy and
// "trusted_proxies" in kefu.json (logs and metrics show the real client; a bad CIDR stops the
// start with a clear message), and the admin token's minimum length.
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

}  // namespace
}  // namespace kefu::testing
