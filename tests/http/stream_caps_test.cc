// Issue 15, item 3: one token cannot hold every live stream. SSE streams and long polls are capped
// per customer token and per agent session (429 beyond), customers' streams per client address,
// and a slot comes back within about a second of its client hanging up (it used to wait for the
// next heartbeat, 15 s by default). Over real sockets.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "tests/http/http_fixture.h"
#include "tests/http/raw_socket.h"

namespace kefu::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A live request over a raw socket from `source`, held open until destroyed (or Close()).
class RawStream {
 public:
  RawStream(int port, const std::string& path, const std::string& token, const char* source = "127.0.0.1")
      : raw_(std::make_unique<RawSocket>(port, source)) {
    REQUIRE(raw_->Send("GET " + path + " HTTP/1.1\r\nHost: kefu\r\nAuthorization: Bearer " + token + "\r\n\r\n"));
    first_ = raw_->Read(5, 12);  // the status line's start: "HTTP/1.1 200"
  }
  int status() const { return StatusOf(first_); }
  void Close() { raw_.reset(); }

 private:
  std::unique_ptr<RawSocket> raw_;
  std::string first_;
};

int Status(httplib::Result r) {
  REQUIRE(r);
  return r->status;
}

TEST_CASE("a customer token holds at most max_streams_per_token live streams; other tokens are not affected") {
  TestServer::Setup setup;
  setup.options.max_streams_per_token = 3;
  TestServer server(setup);
  auto c = server.Client();
  Customer who = StartConversation(*c);
  const std::string events = "/v1/conversations/" + who.id + "/events";
  std::vector<std::unique_ptr<RawStream>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawStream>(server.port, events, who.token));
    CHECK(held.back()->status() == 200);
  }
  auto fourth = c->Get(events.c_str(), Bearer(who.token));
  REQUIRE(fourth);
  CHECK(fourth->status == 429);
  CHECK(ErrorCode(fourth) == "resource_exhausted");
  CHECK(!fourth->get_header_value("Retry-After").empty());
  CHECK(Status(c->Get(("/v1/conversations/" + who.id + "/poll?timeout=0").c_str(), Bearer(who.token))) == 429);
  // Plain requests of the same token, and streams of another token, go on.
  CHECK(Status(c->Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token))) == 200);
  Customer other = StartConversation(*c);
  RawStream theirs(server.port, "/v1/conversations/" + other.id + "/events", other.token);
  CHECK(theirs.status() == 200);
}

TEST_CASE("an agent session holds at most max_streams_per_token live streams") {
  TestServer::Setup setup;
  setup.options.max_streams_per_token = 2;
  TestServer server(setup);
  auto c = server.Client();
  const std::string ana = AgentToken(*c, "shop", "ana");
  RawStream one(server.port, "/v1/agent/events", ana), two(server.port, "/v1/agent/events", ana);
  CHECK(one.status() == 200);
  CHECK(two.status() == 200);
  CHECK(Status(c->Get("/v1/agent/events", Bearer(ana))) == 429);
  CHECK(Status(c->Get("/v1/agent/poll?after=0&timeout=0", Bearer(ana))) == 429);
  // Another session of the same agent (another console tab that logged in) has its own share.
  const std::string again = AgentToken(*c, "shop", "ana");
  RawStream three(server.port, "/v1/agent/events", again);
  CHECK(three.status() == 200);
}

TEST_CASE("customers' streams from one address are capped; another address is not affected") {
  TestServer::Setup setup;
  setup.options.max_customer_streams_per_address = 3;
  TestServer server(setup);
  auto c = server.Client();
  std::vector<std::unique_ptr<RawStream>> held;
  for (int i = 0; i < 3; ++i) {
    Customer who = StartConversation(*c);
    held.push_back(std::make_unique<RawStream>(server.port, "/v1/conversations/" + who.id + "/events", who.token));
    CHECK(held.back()->status() == 200);
  }
  Customer fourth = StartConversation(*c);
  const std::string path = "/v1/conversations/" + fourth.id + "/events";
  RawStream refused(server.port, path, fourth.token);
  CHECK(refused.status() == 429);
  RawStream elsewhere(server.port, path, fourth.token, "127.0.0.2");
  CHECK(elsewhere.status() == 200);
  // Agents' streams are not counted against the address.
  RawStream agent(server.port, "/v1/agent/events", AgentToken(*c, "shop", "ana"));
  CHECK(agent.status() == 200);
}

// Polls until a stream of `token` on `path` is accepted; the milliseconds it took.
int64_t MillisUntilAccepted(int port, const std::string& path, const std::string& token) {
  const auto start = SteadyClock::now();
  while (SteadyClock::now() - start < std::chrono::seconds(20)) {
    RawStream again(port, path, token);
    if (again.status() == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

TEST_CASE("a stream's slot comes back within about a second of its client hanging up, not at the next heartbeat") {
  TestServer::Setup setup;
  setup.options.max_streams = 1;                 // one slot in all: the next stream needs this one back
  setup.options.sse_heartbeat_millis = 15000;    // the default: nothing is written for 15 s
  TestServer server(setup);
  auto c = server.Client();
  Customer who = StartConversation(*c);
  const std::string events = "/v1/conversations/" + who.id + "/events";
  {
    RawStream first(server.port, events, who.token);
    REQUIRE(first.status() == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the first check of the client
    CHECK(RawStream(server.port, events, who.token).status() == 503);
  }  // hangs up
  const int64_t sse = MillisUntilAccepted(server.port, events, who.token);
  MESSAGE("an SSE slot came back " << sse << " ms after its client hung up (heartbeat 15 s)");
  CHECK(sse < 3000);

  // A long poll that would wait 30 s (once the probe's own slot has come back).
  {
    const std::string poll_path = "/v1/conversations/" + who.id + "/poll?after=1&timeout=30";
    auto poll = std::make_unique<RawStream>(server.port, poll_path, who.token);
    for (int i = 0; i < 100 && poll->status() != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      poll = std::make_unique<RawStream>(server.port, poll_path, who.token);
    }
    REQUIRE(poll->status() == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(RawStream(server.port, events, who.token).status() == 503);
  }
  const int64_t polled = MillisUntilAccepted(server.port, events, who.token);
  MESSAGE("a long poll's slot came back " << polled << " ms after its client hung up (timeout 30 s)");
  CHECK(polled < 3000);
}

TEST_CASE("a long poll that has to wait still answers with the messages that arrive") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    auto said = Say(*server.Client(), who, "How do I place an order?");
    CHECK(said->status == 200);
  });
  auto r = c->Get(("/v1/conversations/" + who.id + "/poll?after=1&timeout=20").c_str(), Bearer(who.token));
  later.join();
  REQUIRE(r);
  CHECK(r->status == 200);
  auto d = Json(r);
  CHECK(d["messages"].Size() >= 2);  // the question and the answer
  CHECK(d["conversation"]["state"].IsString());
}

}  // namespace
}  // namespace kefu::testing
