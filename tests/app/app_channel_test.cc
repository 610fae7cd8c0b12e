// The app channel over real sockets: signed user ids (one conversation across devices), the web
// conversation that continues in the app after login, replies on the channel last used, and the
// signed push webhook to the app's backend (a local HTTP receiver in the test).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "adapters/app_webhook.h"
#include "engine/auth.h"
#include "tests/http/http_fixture.h"

namespace kefu::testing {
namespace {

std::string AppBody(const std::string& user, const std::string& secret = kAppSecret, const std::string& link = "") {
  std::string body = R"({"channel":"app","customer":{"id":")" + user + R"(","signature":")" + HmacSha256Hex(secret, user) + "\"";
  if (!link.empty()) body += R"(,"link_token":")" + link + "\"";
  return body + "}}";
}

std::string CustomerOf(TestServer& server, const std::string& conversation) {
  auto v = server.engine->GetConversation(conversation);
  REQUIRE(v.ok());
  return v->customer;
}

TEST_CASE("a verified user resumes from any device; every device's token keeps working") {
  TestServer server;
  auto c = server.Client();
  Customer phone = StartConversation(*c, "shop", AppBody("user-7"));
  REQUIRE(Say(*c, phone, "How do I place an order?")->status == 200);
  auto tablet_r = PostJson(*c, "/v1/desks/shop/conversations", AppBody("user-7"));
  REQUIRE(tablet_r->status == 200);
  auto tablet = Json(tablet_r);
  CHECK(tablet["resumed"].GetBool());
  CHECK(std::string(tablet["conversation_id"].GetString()) == phone.id);
  CHECK(tablet["messages"].Size() == 3);  // the history: welcome, question, answer
  const std::string tablet_token = tablet["customer_token"].GetString();
  // Both devices can read and write at the same time.
  CHECK(c->Get(("/v1/conversations/" + phone.id + "/messages").c_str(), Bearer(phone.token))->status == 200);
  CHECK(c->Get(("/v1/conversations/" + phone.id + "/messages").c_str(), Bearer(tablet_token))->status == 200);
  REQUIRE(Say(*c, Customer{phone.id, tablet_token}, "thanks")->status == 200);
  // Devices beyond the limit push the oldest token out.
  for (size_t i = 0; i < kMaxDeviceTokens + 1; ++i) {
    REQUIRE(PostJson(*c, "/v1/desks/shop/conversations", AppBody("user-7"))->status == 200);
  }
  CHECK(c->Get(("/v1/conversations/" + phone.id).c_str(), Bearer(phone.token))->status == 401);
  CHECK(c->Get(("/v1/conversations/" + phone.id).c_str(), Bearer(tablet_token))->status == 401);
}

TEST_CASE("device tokens survive a restart") {
  TestServer::Setup setup;
  setup.leveldb = true;
  auto server = std::make_unique<TestServer>(setup);
  auto c = server->Client();
  Customer phone = StartConversation(*c, "shop", AppBody("user-8"));
  auto tablet = Json(PostJson(*c, "/v1/desks/shop/conversations", AppBody("user-8")));
  const std::string tablet_token = tablet["customer_token"].GetString();
  // Reopen the same store.
  KefuConfig config;
  config.desks = setup.desks;
  const std::string dir = server->dir->path;
  auto keep = std::move(server->dir);
  server.reset();
  auto store = OpenLevelDbStore(dir + "/store");
  REQUIRE(store.ok());
  ManualClock clock;
  EngineOptions eo;
  eo.password_cost = PasswordCost::kMinimal;
  auto engine = Engine::Open(config, std::move(*store), &clock, eo);
  REQUIRE(engine.ok());
  CHECK((*engine)->AuthorizeCustomer(phone.id, phone.token).ok());
  CHECK((*engine)->AuthorizeCustomer(phone.id, tablet_token).ok());
}

TEST_CASE("an unsigned or wrongly signed id is 401 and links nothing") {
  TestServer server;
  auto c = server.Client();
  Customer web = StartConversation(*c, "shop", R"({"channel":"web"})");
  REQUIRE(Say(*c, web, "where is my order")->status == 200);
  const std::string unsigned_body =
      R"({"channel":"app","customer":{"id":"user-9","link_token":")" + web.token + "\"}}";
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", unsigned_body)->status == 401);
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", AppBody("user-9", "wrong-secret", web.token))->status == 401);
  // Signed for someone else.
  const std::string swapped = R"({"channel":"app","customer":{"id":"user-9","signature":")" +
                              HmacSha256Hex(kAppSecret, "user-10") + R"(","link_token":")" + web.token + "\"}}";
  CHECK(PostJson(*c, "/v1/desks/shop/conversations", swapped)->status == 401);
  CHECK(CustomerOf(server, web.id).rfind("web:", 0) == 0);
  // user-9 signs in for real later: a new conversation of theirs, not the web one (no link_token).
  Customer app = StartConversation(*c, "shop", AppBody("user-9"));
  CHECK(app.id != web.id);
  CHECK(CustomerOf(server, web.id).rfind("web:", 0) == 0);
}

TEST_CASE("a web customer who logs in to the app continues the same conversation") {
  TestServer server;
  auto c = server.Client();
  const std::string agent = AgentToken(*c, "shop", "ana");
  GoOnline(*c, agent);
  Customer web = StartConversation(*c, "shop", R"({"channel":"web"})");
  REQUIRE(Say(*c, web, "How do I place an order?")->status == 200);
  REQUIRE(Say(*c, web, "talk to a human")->status == 200);
  auto tickets_before = Json(c->Get(("/v1/conversations/" + web.id + "/tickets").c_str(), Bearer(web.token)));
  REQUIRE(tickets_before["tickets"].Size() == 1);

  auto linked_r = PostJson(*c, "/v1/desks/shop/conversations", AppBody("user-11", kAppSecret, web.token));
  REQUIRE_MESSAGE(linked_r->status == 200, linked_r->body);
  auto linked = Json(linked_r);
  CHECK(linked["resumed"].GetBool());
  CHECK(linked["linked"].GetBool());
  CHECK(std::string(linked["conversation_id"].GetString()) == web.id);
  CHECK(linked["messages"].Size() >= 4);  // the web history comes along
  CHECK(std::string(linked["conversation"]["channel"].GetString()) == "app");
  CHECK(CustomerOf(server, web.id) == "app:user-11");
  const Customer app{web.id, linked["customer_token"].GetString()};
  // The ticket follows the customer; the web tab's token still works.
  auto tickets = Json(c->Get(("/v1/conversations/" + web.id + "/tickets").c_str(), Bearer(app.token)));
  CHECK(tickets["tickets"].Size() == 1);
  CHECK(std::string(tickets["tickets"][0]["customer"].GetString()) == "app:user-11");
  CHECK(c->Get(("/v1/conversations/" + web.id).c_str(), Bearer(web.token))->status == 200);

  // The agent's reply goes out on the channel the customer used last: the app ...
  auto reply = PostJson(*c, "/v1/agent/conversations/" + web.id + "/reply", R"({"text":"Hi, Ana here."})", agent);
  REQUIRE_MESSAGE(reply->status == 201, reply->body);
  CHECK(std::string(Json(reply)["message"]["channel"].GetString()) == "app");
  // ... and the web again once the customer writes from the web tab.
  REQUIRE(PostJson(*c, "/v1/conversations/" + web.id + "/messages", R"({"text":"back on the website","channel":"web"})",
                   web.token)->status == 200);
  reply = PostJson(*c, "/v1/agent/conversations/" + web.id + "/reply", R"({"text":"I see you."})", agent);
  CHECK(std::string(Json(reply)["message"]["channel"].GetString()) == "web");

  // From another device, the verified user finds the same conversation.
  auto other_device = Json(PostJson(*c, "/v1/desks/shop/conversations", AppBody("user-11")));
  CHECK(std::string(other_device["conversation_id"].GetString()) == web.id);
  CHECK_FALSE(other_device["linked"].GetBool());
}

TEST_CASE("what a link token cannot link") {
  TestServer::Setup setup;
  setup.desks[1].app_secret = kAppSecret;  // HR accepts signed ids too
  setup.desks[1].legacy_hmac = true;
  TestServer server(setup);
  auto c = server.Client();
  // Another verified user's conversation is never taken over.
  Customer alice = StartConversation(*c, "shop", AppBody("alice"));
  auto r = Json(PostJson(*c, "/v1/desks/shop/conversations", AppBody("mallory", kAppSecret, alice.token)));
  CHECK_FALSE(r["linked"].GetBool());
  CHECK(std::string(r["conversation_id"].GetString()) != alice.id);
  CHECK(CustomerOf(server, alice.id) == "app:alice");
  // Another desk's web conversation is not linked; an unknown token links nothing; neither fails.
  Customer hr_web = StartConversation(*c, "hr", "{}");
  r = Json(PostJson(*c, "/v1/desks/shop/conversations", AppBody("bob", kAppSecret, hr_web.token)));
  CHECK_FALSE(r["linked"].GetBool());
  CHECK(CustomerOf(server, hr_web.id).rfind("web:", 0) == 0);
  r = Json(PostJson(*c, "/v1/desks/shop/conversations", AppBody("carol", kAppSecret, "not-a-token")));
  CHECK_FALSE(r["linked"].GetBool());
  // The same user id on two desks: two customers, two conversations.
  Customer shop_bob = StartConversation(*c, "shop", AppBody("dave"));
  Customer hr_bob = StartConversation(*c, "hr", AppBody("dave"));
  CHECK(shop_bob.id != hr_bob.id);
  auto again = Json(PostJson(*c, "/v1/desks/hr/conversations", AppBody("dave")));
  CHECK(std::string(again["conversation_id"].GetString()) == hr_bob.id);
}

TEST_CASE("the more recently active conversation wins when a user has both") {
  TestServer server;
  auto c = server.Client();
  Customer own = StartConversation(*c, "shop", AppBody("erin"));
  server.clock.Advance(kMicrosPerMinute);
  Customer web = StartConversation(*c, "shop", "{}");
  REQUIRE(Say(*c, web, "How do I place an order?")->status == 200);
  auto r = Json(PostJson(*c, "/v1/desks/shop/conversations", AppBody("erin", kAppSecret, web.token)));
  CHECK(r["linked"].GetBool());
  CHECK(std::string(r["conversation_id"].GetString()) == web.id);
  // An older web conversation does not replace a newer one of the user.
  Customer old_web = StartConversation(*c, "shop", "{}");
  server.clock.Advance(kMicrosPerMinute);
  REQUIRE(Say(*c, Customer{web.id, r["customer_token"].GetString()}, "thanks")->status == 200);
  auto r2 = Json(PostJson(*c, "/v1/desks/shop/conversations", AppBody("erin", kAppSecret, old_web.token)));
  CHECK_FALSE(r2["linked"].GetBool());
  CHECK(std::string(r2["conversation_id"].GetString()) == web.id);
  CHECK(own.id != web.id);
}

// ---- The push webhook ----------------------------------------------------------------------------

struct Hook {
  std::string delivery, timestamp, signature, event, body;
  std::chrono::steady_clock::time_point at;
};

// The app's backend: records every request and answers with the scripted statuses (then 200).
class Receiver {
 public:
  Receiver() {
    server_.Post("/push", [this](const httplib::Request& req, httplib::Response& res) {
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
      std::lock_guard<std::mutex> lock(mu_);
      hooks_.push_back({req.get_header_value("X-Kefu-Delivery"), req.get_header_value("X-Kefu-Timestamp"),
                        req.get_header_value("X-Kefu-Signature"), req.get_header_value("X-Kefu-Event"), req.body,
                        std::chrono::steady_clock::now()});
      res.status = script_.empty() ? 200 : script_.front();
      if (!script_.empty()) script_.erase(script_.begin());
      cv_.notify_all();
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/push"; }
  void Script(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(statuses);
  }
  void Delay(int ms) { delay_ms_ = ms; }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return hooks_.size() >= n; });
  }
  std::vector<Hook> hooks() {
    std::lock_guard<std::mutex> lock(mu_);
    return hooks_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> delay_ms_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> script_;
  std::vector<Hook> hooks_;
};

constexpr char kHookSecret[] = "hook-secret";

struct HookWorld {
  Receiver receiver;
  std::unique_ptr<TestServer> server;
  std::unique_ptr<AppWebhookSender> sender;
  std::string agent;

  explicit HookWorld(AppWebhookOptions options = FastOptions()) {
    TestServer::Setup setup;
    setup.desks[0].app_webhook.url = receiver.url();
    setup.desks[0].app_webhook.secret = kHookSecret;
    server = std::make_unique<TestServer>(setup);
    sender = std::make_unique<AppWebhookSender>(server->engine.get(), options);
    REQUIRE(sender->enabled());
    REQUIRE(sender->Start().ok());
    auto c = server->Client();
    agent = AgentToken(*c, "shop", "ana");
    GoOnline(*c, agent);
  }
  ~HookWorld() {
    sender->Stop();
    sender.reset();
    server.reset();
  }
  static AppWebhookOptions FastOptions() {
    AppWebhookOptions o;
    o.initial_backoff_millis = 50;
    o.max_backoff_millis = 400;
    o.max_attempts = 4;
    o.log = false;
    return o;
  }
  // A verified app user talking to the agent; returns the conversation.
  Customer AppUserWithAgent(const std::string& user) {
    auto c = server->Client();
    Customer who = StartConversation(*c, "shop", AppBody(user));
    REQUIRE(Say(*c, who, "talk to a human")->status == 200);
    return who;
  }
  httplib::Result Reply(const std::string& conversation, const std::string& text) {
    auto c = server->Client();
    return PostJson(*c, "/v1/agent/conversations/" + conversation + "/reply", R"({"text":")" + text + "\"}", agent);
  }
};

TEST_CASE("an agent's reply to an app user is pushed to the app's backend, signed") {
  HookWorld w;
  Customer who = w.AppUserWithAgent("user-21");
  REQUIRE(w.receiver.WaitFor(1));  // "Agent ana has joined" (a system message)
  REQUIRE(w.Reply(who.id, "Hello from Ana")->status == 201);
  REQUIRE(w.receiver.WaitFor(2));
  const Hook h = w.receiver.hooks()[1];
  CHECK(h.event == "message");
  CHECK(h.signature == AppWebhookSender::Signature(kHookSecret, h.timestamp, h.body));
  CHECK(h.signature.rfind("sha256=", 0) == 0);
  CHECK(h.signature == "sha256=" + HmacSha256Hex(kHookSecret, h.timestamp + "." + h.body));
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::abs(std::stoll(h.timestamp) - now) < 60);
  auto body = ParseText(h.body);
  CHECK(std::string(body["user_id"].GetString()) == "user-21");
  CHECK(std::string(body["conversation_id"].GetString()) == who.id);
  CHECK(std::string(body["desk"].GetString()) == "shop");
  CHECK(std::string(body["message"]["kind"].GetString()) == "agent");
  CHECK(std::string(body["message"]["text"].GetString()) == "Hello from Ana");
  CHECK(h.delivery == who.id + "-" + std::to_string(body["message"]["seq"].GetInt()));
}

TEST_CASE("the webhook retries with backoff, gives up on a final status, and never blocks the engine") {
  HookWorld w;
  Customer who = w.AppUserWithAgent("user-22");
  REQUIRE(w.receiver.WaitFor(1));
  w.receiver.Script({500, 503});
  REQUIRE(w.Reply(who.id, "first")->status == 201);
  REQUIRE(w.receiver.WaitFor(4));
  auto hooks = w.receiver.hooks();
  CHECK(hooks[1].delivery == hooks[2].delivery);
  CHECK(hooks[2].delivery == hooks[3].delivery);
  CHECK(hooks[2].at - hooks[1].at >= std::chrono::milliseconds(45));   // 50 ms
  CHECK(hooks[3].at - hooks[2].at >= std::chrono::milliseconds(95));   // then 100 ms
  // The receiver records a request before kefu has read the answer.
  for (int i = 0; i < 100 && w.sender->stats().delivered < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(w.sender->stats().retries == 2);
  CHECK(w.sender->stats().delivered == 2);

  w.receiver.Script({400});
  REQUIRE(w.Reply(who.id, "refused for good")->status == 201);
  REQUIRE(w.receiver.WaitFor(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(w.receiver.hooks().size() == 5);  // no retry after a 400
  CHECK(w.sender->stats().failed == 1);

  w.receiver.Script({500, 500, 500, 500});
  REQUIRE(w.Reply(who.id, "never arrives")->status == 201);
  REQUIRE(w.receiver.WaitFor(9));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(w.receiver.hooks().size() == 9);  // max_attempts 4
  CHECK(w.sender->stats().failed == 2);

  // A backend that takes its time does not slow the agent's reply down.
  w.receiver.Delay(1500);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(w.Reply(who.id, "slow backend")->status == 201);
  REQUIRE(w.Reply(who.id, "still fast")->status == 201);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(700));
  REQUIRE(w.receiver.WaitFor(11, std::chrono::seconds(15)));
}

TEST_CASE("no webhook for web customers, bot messages, or an app user now on the web") {
  HookWorld w;
  auto c = w.server->Client();
  Customer web = StartConversation(*c, "shop", "{}");
  REQUIRE(Say(*c, web, "How do I place an order?")->status == 200);  // a bot answer
  REQUIRE(Say(*c, web, "talk to a human")->status == 200);
  REQUIRE(w.Reply(web.id, "web only")->status == 201);
  Customer app = StartConversation(*c, "shop", AppBody("user-23"));
  REQUIRE(Say(*c, app, "How do I place an order?")->status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(w.receiver.hooks().empty());
  // The app user writes from the website: replies follow them there, not to the phone.
  REQUIRE(PostJson(*c, "/v1/conversations/" + app.id + "/messages", R"({"text":"talk to a human","channel":"web"})",
                   app.token)->status == 200);
  REQUIRE(w.Reply(app.id, "to the web")->status == 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(w.receiver.hooks().empty());
}

TEST_CASE("kefu.json: app_webhook needs a url and a secret of its own") {
  auto parse = [](const std::string& desk_extra) {
    return ParseConfig(R"({"desks":[{"id":"shop","knowledge_bases":["x.json"])" + desk_extra + "}]}", "kefu.json", "");
  };
  auto ok = parse(R"(,"app_secret":"s","app_webhook":{"url":"https://app.example.com/kefu","secret":"h"})");
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ok->desks[0].app_webhook.url == "https://app.example.com/kefu");
  CHECK_FALSE(parse(R"(,"app_webhook":{"url":"https://app.example.com/kefu"})").ok());  // nothing to sign with
  // The desk's identity secret is never the webhook's by default (issue 15).
  CHECK_FALSE(parse(R"(,"app_secret":"s","app_webhook":{"url":"https://app.example.com/kefu"})").ok());
  CHECK_FALSE(parse(R"(,"app_secret":"s","app_webhook":{"url":"app.example.com"})").ok());
  CHECK_FALSE(parse(R"(,"app_secret":"s","app_webhook":{"url":"https://a","retries":3})").ok());
}

}  // namespace
}  // namespace kefu::testing
