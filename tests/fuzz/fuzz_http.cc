// The request bodies of every HTTP route family, through the real server: an in-memory engine and
// HttpApi on a loopback port, one keep-alive client, valid tokens (so that the handlers and their
// JSON readers run, not just the authentication). The first byte picks the route, the rest is the
// body (or the query string). Property: no input is a 500 (a handler that threw or an engine
// error that is a bug); 503 only for a full stream table.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/http_api.h"
#include "base/json.h"
#include "engine/engine.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using kefu::fuzz::Expect;

constexpr const char* kAdmin = "fuzz-admin-token-0123456789abcdefghij";

struct Server {
  kefu::ManualClock clock;
  std::unique_ptr<kefu::Engine> engine;
  std::unique_ptr<kefu::HttpApi> api;
  std::unique_ptr<httplib::Client> client;
  std::string conversation, customer_token, agent_token, ticket = "SHOP-1001";
};

std::string Field(const std::string& json, const char* name) {
  auto doc = kefu::ParseJson(json);
  Expect(doc.ok());
  auto obj = kefu::JsonObject::From(**doc);
  Expect(obj.ok());
  std::string out;
  Expect(obj->GetString(name, kefu::Presence::kRequired, &out).ok());
  return out;
}

Server& Shared() {
  static Server* s = [] {
    auto* out = new Server();
    kefu::DeskConfig d;
    d.id = "shop";
    d.name = "Shop";
    d.ticket_prefix = "SHOP";
    d.knowledge_bases = {std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json"};
    d.default_team = "general";
    d.allowed_origins = {"https://shop.example"};
    d.app_secret = "fuzz-app-secret";
    d.legacy_hmac = true;  // both identity paths: the bare HMAC and JWTs
    kefu::KefuConfig config;
    config.desks = {d};
    auto store = kefu::OpenMemoryStore();
    Expect(store.ok());
    kefu::EngineOptions eo;
    eo.password_cost = kefu::PasswordCost::kMinimal;
    auto engine = kefu::Engine::Open(config, std::move(*store), &out->clock, eo);
    Expect(engine.ok());
    out->engine = std::move(*engine);
    kefu::ServerOptions so;
    so.admin_token = kAdmin;
    so.requests_per_ip_per_second = 0;
    so.logins_per_ip_per_minute = 0;
    so.conversations_per_ip_per_minute = 0;
    so.log_requests = false;
    so.threads = 8;
    so.max_poll_seconds = 0;
    out->api = std::make_unique<kefu::HttpApi>(out->engine.get(), so);
    auto port = out->api->Bind("127.0.0.1", 0);
    Expect(port.ok());
    std::thread([api = out->api.get()] { (void)api->Serve(); }).detach();
    while (!out->api->is_running()) std::this_thread::yield();
    out->client = std::make_unique<httplib::Client>("127.0.0.1", *port);
    out->client->set_keep_alive(true);
    out->client->set_read_timeout(20, 0);
    auto started = out->client->Post("/v1/desks/shop/conversations", "{}", "application/json");
    Expect(started && started->status == 201);
    out->conversation = Field(started->body, "conversation_id");
    out->customer_token = Field(started->body, "customer_token");
    const httplib::Headers admin = {{"Authorization", std::string("Bearer ") + kAdmin}};
    auto created = out->client->Post("/v1/admin/desks/shop/agents", admin,
                                     R"({"username":"ana","password":"password-ana","capacity":100})", "application/json");
    Expect(created && created->status == 201);
    auto login = out->client->Post("/v1/agent/login", R"({"desk":"shop","username":"ana","password":"password-ana"})",
                                   "application/json");
    Expect(login && login->status == 200);
    out->agent_token = Field(login->body, "token");
    const httplib::Headers customer = {{"Authorization", "Bearer " + out->customer_token}};
    auto handoff = out->client->Post(("/v1/conversations/" + out->conversation + "/handoff").c_str(), customer, "{}",
                                     "application/json");
    Expect(handoff && handoff->status == 200);  // opens ticket SHOP-1001
    return out;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& s = Shared();
  kefu::fuzz::FuzzInput in(data, size);
  const uint8_t route = in.Byte();
  const std::string body(in.Rest());
  const std::string conv = "/v1/conversations/" + s.conversation;
  const std::string agent_conv = "/v1/agent/conversations/" + s.conversation;
  const httplib::Headers customer = {{"Authorization", "Bearer " + s.customer_token}};
  const httplib::Headers agent = {{"Authorization", "Bearer " + s.agent_token}};
  const httplib::Headers admin = {{"Authorization", std::string("Bearer ") + kAdmin}};
  const httplib::Headers none;
  struct Call {
    const char* method;
    std::string path;
    const httplib::Headers* headers;
  };
  const std::vector<Call> calls = {
      {"POST", "/v1/desks/shop/conversations", &none},
      {"POST", conv + "/messages", &customer},
      {"POST", conv + "/feedback", &customer},
      {"POST", conv + "/handoff", &customer},
      {"POST", conv + "/csat", &customer},
      {"POST", "/v1/agent/login", &none},
      {"PUT", "/v1/agent/presence", &agent},
      {"POST", agent_conv + "/claim", &agent},
      {"POST", agent_conv + "/reply", &agent},
      {"POST", agent_conv + "/note", &agent},
      {"POST", agent_conv + "/transfer", &agent},
      {"POST", agent_conv + "/resolve", &agent},
      {"POST", agent_conv + "/tickets", &agent},
      {"PATCH", "/v1/agent/tickets/" + s.ticket, &agent},
      {"POST", "/v1/agent/heartbeat", &agent},
      {"POST", "/v1/admin/desks/shop/agents", &admin},
      {"PUT", "/v1/admin/desks/shop/kb?language=en", &admin},
      {"GET", conv + "/messages?", &customer},
      {"GET", conv + "/poll?timeout=0&", &customer},
      {"GET", agent_conv + "/messages?", &agent},
      {"GET", "/v1/agent/tickets?", &agent},
      {"GET", "/v1/agent/poll?timeout=0&", &agent},
  };
  const Call& call = calls[route % calls.size()];
  auto send = [&]() -> httplib::Result {
    if (std::string_view(call.method) == "GET") {
      std::string query;
      for (char ch : body) {  // a query string the client sends as is
        if (static_cast<unsigned char>(ch) > 0x20 && static_cast<unsigned char>(ch) < 0x7f && ch != '#') query += ch;
      }
      return s.client->Get((call.path + query).c_str(), *call.headers);
    }
    if (std::string_view(call.method) == "PUT") {
      return s.client->Put(call.path.c_str(), *call.headers, body, "application/json");
    }
    if (std::string_view(call.method) == "PATCH") {
      return s.client->Patch(call.path.c_str(), *call.headers, body, "application/json");
    }
    return s.client->Post(call.path.c_str(), *call.headers, body, "application/json");
  };
  httplib::Result r = send();
  Expect(static_cast<bool>(r));
  Expect(r->status < 500 || r->status == 503);
  return 0;
}
