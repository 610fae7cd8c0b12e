// A kefu HTTP server started in-process on a free port (bind_to_any_port + a serving thread; no
// sleeps, no fixed ports), with clients and an SSE reader that talk to it over real sockets.
#ifndef KEFU_TESTS_HTTP_HTTP_FIXTURE_H_
#define KEFU_TESTS_HTTP_HTTP_FIXTURE_H_

#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http_api.h"
#include "base/json.h"
#include "engine/engine.h"

namespace kefu::testing {

constexpr const char* kAdminToken = "test-admin-token-0123456789abcdefghij";  // at least kMinAdminTokenChars
constexpr const char* kAppSecret = "test-app-secret";

inline DeskConfig ShopDesk() {
  DeskConfig d;
  d.id = "shop";
  d.name = "Shop";
  d.ticket_prefix = "SHOP";
  d.knowledge_bases = {std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json"};
  d.default_team = "general";
  d.allowed_origins = {"https://shop.example"};
  d.app_secret = kAppSecret;
  d.legacy_hmac = true;  // the app channel's tests sign ids with the bare HMAC (identity_jwt_test: JWTs)
  return d;
}

inline DeskConfig HrDesk() {
  DeskConfig d;
  d.id = "hr";
  d.name = "HR";
  d.ticket_prefix = "HR";
  d.knowledge_bases = {std::string(KEFU_SOURCE_DIR) + "/kb/samples/hr-zh.json",
                       std::string(KEFU_SOURCE_DIR) + "/kb/samples/hr-en.json"};
  d.default_team = "hr";
  d.allowed_origins = {"https://hr.example"};
  return d;
}

inline ServerOptions TestServerOptions() {
  ServerOptions o;
  o.admin_token = kAdminToken;
  o.requests_per_ip_per_second = 0;  // tests make many calls from one address; limits_test turns it on
  o.logins_per_ip_per_minute = 0;
  o.conversations_per_ip_per_minute = 0;
  o.sse_heartbeat_millis = 200;  // readers notice a stop quickly
  o.threads = 64;
  o.log_requests = false;
  return o;
}

// A temporary directory, removed with its content.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kefu-http-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

struct TestServer {
  ManualClock clock;
  std::unique_ptr<TempDir> dir;  // LevelDB's directory, when durable
  std::unique_ptr<Engine> engine;
  std::unique_ptr<HttpApi> api;
  std::thread thread;
  int port = 0;

  struct Setup {
    ServerOptions options = TestServerOptions();
    std::vector<DeskConfig> desks = {ShopDesk(), HrDesk()};
    bool leveldb = false;  // a real store in a temp dir instead of LevelDB's in-memory Env
    std::string leveldb_dir;  // with `leveldb`: this directory, kept (a restart); "" a fresh one
    // The engine's options: the cheapest password hashing unless a test needs the real cost.
    EngineOptions engine_options = [] {
      EngineOptions eo;
      eo.password_cost = PasswordCost::kMinimal;
      return eo;
    }();
    // Routes beyond the HTTP API's own (as `kefu serve` adds the channels' and the knowledge loop's).
    std::function<void(HttpApi&, Engine&, Clock&)> extra_routes;
  };

  TestServer() : TestServer(Setup()) {}
  explicit TestServer(Setup setup) {
    KefuConfig config;
    config.desks = setup.desks;
    Result<std::unique_ptr<Store>> store = Status::Internal("unset");
    if (setup.leveldb && !setup.leveldb_dir.empty()) {
      store = OpenLevelDbStore(setup.leveldb_dir + "/store");
    } else if (setup.leveldb) {
      dir = std::make_unique<TempDir>();
      store = OpenLevelDbStore(dir->path + "/store");
    } else {
      store = OpenMemoryStore();
    }
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    auto opened = Engine::Open(config, std::move(*store), &clock, setup.engine_options);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    engine = std::move(*opened);
    api = std::make_unique<HttpApi>(engine.get(), setup.options);
    if (setup.extra_routes) setup.extra_routes(*api, *engine, clock);
    auto bound = api->Bind("127.0.0.1", 0);
    REQUIRE_MESSAGE(bound.ok(), bound.status().ToString());
    port = *bound;
    thread = std::thread([this] { (void)api->Serve(); });
    while (!api->is_running()) std::this_thread::yield();
  }
  ~TestServer() {
    api->Stop();
    thread.join();
    api.reset();
    engine.reset();
  }

  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_read_timeout(30, 0);
    c->set_tcp_nodelay(true);
    return c;
  }
};

inline httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// The body as JSON (the server's output is trusted: the default parser is fine here).
inline rapidjson::Document Json(const httplib::Result& r) {
  rapidjson::Document d;
  REQUIRE(r);
  d.Parse(r->body.c_str());
  REQUIRE_MESSAGE(!d.HasParseError(), r->body);
  return d;
}

inline rapidjson::Document ParseText(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_MESSAGE(!d.HasParseError(), text);
  return d;
}

// The error body's code, checking the shape {"error": {"code", "message"}} and the content type.
inline std::string ErrorCode(const httplib::Result& r) {
  REQUIRE(r);
  CHECK(r->get_header_value("Content-Type").rfind("application/json", 0) == 0);
  rapidjson::Document d;
  d.Parse(r->body.c_str());
  REQUIRE_MESSAGE(!d.HasParseError(), ("not JSON: " + r->body));
  REQUIRE_MESSAGE(d.IsObject(), r->body);
  REQUIRE_MESSAGE(d.HasMember("error"), r->body);
  REQUIRE(d["error"].IsObject());
  REQUIRE(d["error"].HasMember("code"));
  REQUIRE(d["error"]["code"].IsString());
  REQUIRE(d["error"].HasMember("message"));
  REQUIRE(d["error"]["message"].IsString());
  return d["error"]["code"].GetString();
}

inline httplib::Result PostJson(httplib::Client& c, const std::string& path, const std::string& body,
                                const std::string& token = "") {
  return c.Post(path.c_str(), token.empty() ? httplib::Headers{} : Bearer(token), body, "application/json");
}

struct Customer {
  std::string id;
  std::string token;
};

inline Customer StartConversation(httplib::Client& c, const std::string& desk = "shop", const std::string& body = "{}") {
  auto r = PostJson(c, "/v1/desks/" + desk + "/conversations", body);
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 201, r->body);
  auto d = Json(r);
  return {d["conversation_id"].GetString(), d["customer_token"].GetString()};
}

inline httplib::Result Say(httplib::Client& c, const Customer& who, const std::string& text) {
  std::string body;
  body = "{\"text\":";
  AppendJsonString(text, &body);
  body += "}";
  return PostJson(c, "/v1/conversations/" + who.id + "/messages", body, who.token);
}

// Creates an agent through the admin route and logs in; returns the agent token.
inline std::string AgentToken(httplib::Client& c, const std::string& desk, const std::string& username) {
  auto created = PostJson(c, "/v1/admin/desks/" + desk + "/agents",
                          "{\"username\":\"" + username + "\",\"password\":\"password-" + username + "\"}", kAdminToken);
  REQUIRE(created);
  REQUIRE_MESSAGE((created->status == 201 || created->status == 409), created->body);
  auto login = PostJson(c, "/v1/agent/login",
                        "{\"desk\":\"" + desk + "\",\"username\":\"" + username + "\",\"password\":\"password-" + username + "\"}");
  REQUIRE(login);
  REQUIRE_MESSAGE(login->status == 200, login->body);
  return Json(login)["token"].GetString();
}

inline void GoOnline(httplib::Client& c, const std::string& token) {
  auto r = c.Put("/v1/agent/presence", Bearer(token), "{\"status\":\"online\"}", "application/json");
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
}

struct SseEvent {
  std::string id;
  std::string type;
  std::string data;
};

// Reads an SSE stream on its own thread with a content receiver, parsing events as they come.
class SseReader {
 public:
  SseReader(int port, std::string path, httplib::Headers headers)
      : thread_([this, port, path = std::move(path), headers = std::move(headers)] {
          httplib::Client c("127.0.0.1", port);
          c.set_read_timeout(30, 0);
          auto r = c.Get(path.c_str(), headers, [this](const char* data, size_t n) { return Receive(data, n); });
          std::lock_guard<std::mutex> lock(mu_);
          if (r) status_ = r->status;
          ended_ = true;
          cv_.notify_all();
        }) {}
  ~SseReader() { Stop(); }

  // Waits up to `timeout` for an event that satisfies `pred` (events already received count).
  bool WaitFor(const std::function<bool(const SseEvent&)>& pred, SseEvent* found = nullptr,
               std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    std::unique_lock<std::mutex> lock(mu_);
    size_t checked = 0;
    return cv_.wait_for(lock, timeout, [&] {
      for (; checked < events_.size(); ++checked) {
        if (pred(events_[checked])) {
          if (found) *found = events_[checked];
          return true;
        }
      }
      return ended_;
    }) && !(ended_ && checked == events_.size());
  }
  bool WaitForType(const std::string& type, SseEvent* found = nullptr) {
    return WaitFor([&](const SseEvent& e) { return e.type == type; }, found);
  }
  std::vector<SseEvent> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  int heartbeats() {
    std::lock_guard<std::mutex> lock(mu_);
    return heartbeats_;
  }
  // Ends the stream at the next chunk (heartbeats come every 200 ms in tests).
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }
  int status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  bool WaitEnded(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ended_; });
  }

 private:
  bool Receive(const char* data, size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    buffer_.append(data, n);
    size_t end;
    while ((end = buffer_.find("\n\n")) != std::string::npos) {
      const std::string block = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      SseEvent e;
      bool any = false;
      size_t pos = 0;
      while (pos <= block.size()) {
        size_t nl = block.find('\n', pos);
        if (nl == std::string::npos) nl = block.size();
        const std::string line = block.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        if (line[0] == ':') {
          ++heartbeats_;
        } else if (line.rfind("id: ", 0) == 0) {
          e.id = line.substr(4);
        } else if (line.rfind("event: ", 0) == 0) {
          e.type = line.substr(7);
          any = true;
        } else if (line.rfind("data: ", 0) == 0) {
          e.data += line.substr(6);
          any = true;
        }
      }
      if (any) events_.push_back(std::move(e));
    }
    cv_.notify_all();
    return !stop_;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  std::vector<SseEvent> events_;
  int heartbeats_ = 0;
  bool stop_ = false;
  bool ended_ = false;
  int status_ = 0;
  std::thread thread_;
};

}  // namespace kefu::testing

#endif  // KEFU_TESTS_HTTP_HTTP_FIXTURE_H_
