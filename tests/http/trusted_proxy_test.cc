// Issue 15, item 4: behind a reverse proxy every request comes from the proxy's address, so the
// per-address budgets would be shared by everyone. With trusted proxies, and only from them, the
// client is the right-most untrusted address of X-Forwarded-For; anyone else's header is ignored.
// Over real sockets from several 127.0.0.0/8 source addresses (the proxy, clients). `kefu serve
// --trusted-proxy` and the logs: tests/abuse/serve_edge_test.cc.
#include <doctest/doctest.h>

#include "adapters/client_address.h"
#include "tests/http/http_fixture.h"
#include "tests/http/raw_socket.h"

namespace kefu::testing {
namespace {

TrustedProxies Trust(const std::vector<std::string>& cidrs) {
  auto t = TrustedProxies::Parse(cidrs);
  REQUIRE_MESSAGE(t.ok(), t.status().ToString());
  return *t;
}

// Starts a conversation on `source`'s connection with X-Forwarded-For `forwarded` ("": none).
int StartFrom(int port, const char* source, const std::string& forwarded) {
  RawSocket raw(port, source);
  std::string head = "POST /v1/desks/shop/conversations HTTP/1.1\r\nHost: kefu\r\nContent-Type: application/json\r\n"
                     "Content-Length: 2\r\nConnection: close\r\n";
  if (!forwarded.empty()) head += "X-Forwarded-For: " + forwarded + "\r\n";
  REQUIRE(raw.Send(head + "\r\n{}"));
  return StatusOf(raw.Read(10));
}

TEST_CASE("the client is the right-most untrusted address of X-Forwarded-For, from trusted peers only") {
  const TrustedProxies t = Trust({"10.0.0.0/8", "192.168.1.7", "fd00::/8"});
  CHECK(t.ClientOf("10.0.0.5", {"6.6.6.6, 203.0.113.9"}) == "203.0.113.9");
  CHECK(t.ClientOf("10.0.0.5", {"203.0.113.9, 10.1.2.3"}) == "203.0.113.9");    // a trusted hop is skipped
  CHECK(t.ClientOf("10.0.0.5", {"203.0.113.9", "10.1.2.3, 192.168.1.7"}) == "203.0.113.9");  // header lines in order
  CHECK(t.ClientOf("198.51.100.2", {"203.0.113.9"}) == "198.51.100.2");        // untrusted peer: ignored
  CHECK(t.ClientOf("10.0.0.5", {}) == "10.0.0.5");                             // no header: the proxy itself
  CHECK(t.ClientOf("10.0.0.5", {"10.9.9.9"}) == "10.9.9.9");                   // all trusted: the left-most
  CHECK(t.ClientOf("10.0.0.5", {"203.0.113.9, unknown"}) == "10.0.0.5");       // garbage: the hop that wrote it
  CHECK(t.ClientOf("10.0.0.5", {"203.0.113.9, 10.2.2.2, x"}) == "10.0.0.5");
  CHECK(t.ClientOf("10.0.0.5", {"[2001:db8::1]:4711"}) == "2001:db8::1");
  CHECK(t.ClientOf("10.0.0.5", {"203.0.113.9:4711"}) == "203.0.113.9");
  CHECK(t.ClientOf("10.0.0.5", {"::FFFF:203.0.113.9"}) == "203.0.113.9");      // IPv4-mapped is IPv4
  CHECK(t.ClientOf("::ffff:10.0.0.5", {"203.0.113.9"}) == "203.0.113.9");      // a dual-stack peer
  CHECK(t.ClientOf("fd00::1", {"2001:db8::7"}) == "2001:db8::7");
  CHECK(t.ClientOf("10.0.0.5", {"203.0.113.9,, "}) == "203.0.113.9");          // empty list elements
  CHECK(TrustedProxies().ClientOf("10.0.0.5", {"203.0.113.9"}) == "10.0.0.5");  // none trusted
  std::string many = "203.0.113.9";
  for (int i = 0; i < 40; ++i) many += ", 10.0.0." + std::to_string(i);
  CHECK(t.ClientOf("10.0.0.5", {many}) != "203.0.113.9");  // at most kMaxHops are read
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "fd00::/129", "host.example", "", "1.2.3.4/8x"}) {
    CHECK_MESSAGE(!TrustedProxies::Parse({bad}).ok(), bad);
  }
}

TEST_CASE("behind a trusted proxy each client has its own budget; without trust the header is ignored") {
  TestServer::Setup setup;
  setup.options.conversations_per_ip_per_minute = 2;
  setup.options.trusted_proxies = Trust({"127.0.0.2/32"});
  TestServer server(setup);
  // Through the proxy (127.0.0.2): two clients, two budgets.
  for (const char* client : {"203.0.113.1", "203.0.113.2"}) {
    CHECK(StartFrom(server.port, "127.0.0.2", client) == 201);
    CHECK(StartFrom(server.port, "127.0.0.2", client) == 201);
  }
  CHECK(StartFrom(server.port, "127.0.0.2", "203.0.113.1") == 429);
  // The left part of the header is the client's to write: it does not escape the budget.
  CHECK(StartFrom(server.port, "127.0.0.2", "6.6.6.6, 203.0.113.1") == 429);
  // The proxy's own budget is untouched by its clients'.
  CHECK(StartFrom(server.port, "127.0.0.2", "") == 201);
  // Any other peer: the header is ignored, whatever it says.
  CHECK(StartFrom(server.port, "127.0.0.3", "203.0.113.50") == 201);
  CHECK(StartFrom(server.port, "127.0.0.3", "203.0.113.51") == 201);
  CHECK(StartFrom(server.port, "127.0.0.3", "203.0.113.52") == 429);
  // /metrics counts both kinds.
  auto metrics = server.Client()->Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("kefu_http_forwarded_requests_total{peer=\"trusted_proxy\"} 6") != std::string::npos);
  CHECK(metrics->body.find("kefu_http_forwarded_requests_total{peer=\"untrusted\"} 3") != std::string::npos);
}

TEST_CASE("customers' stream caps per address key on the client behind a trusted proxy") {
  TestServer::Setup setup;
  setup.options.max_customer_streams_per_address = 1;
  setup.options.trusted_proxies = Trust({"127.0.0.2/32"});
  TestServer server(setup);
  auto c = server.Client();
  auto open = [&](const std::string& forwarded) {
    Customer who = StartConversation(*c);
    auto raw = std::make_unique<RawSocket>(server.port, "127.0.0.2");
    REQUIRE(raw->Send("GET /v1/conversations/" + who.id + "/events HTTP/1.1\r\nHost: kefu\r\nAuthorization: Bearer " +
                      who.token + "\r\nX-Forwarded-For: " + forwarded + "\r\n\r\n"));
    const int status = StatusOf(raw->Read(5, 12));
    return std::make_pair(status, std::move(raw));
  };
  auto a = open("203.0.113.1");
  auto b = open("203.0.113.2");
  auto a2 = open("203.0.113.1");
  CHECK(a.first == 200);
  CHECK(b.first == 200);
  CHECK(a2.first == 429);
}

}  // namespace
}  // namespace kefu::testing
