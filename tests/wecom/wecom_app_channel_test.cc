// The WeCom self-built app channel (企业微信自建应用) against the fake WeCom platform
// (fake_wecom.h), over real sockets: employees' encrypted callbacks reach kefu's HTTP route, the
// adapter reads their name with user/get and answers with message/send from the app's agentid.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>

#include "adapters/wecom/wecom_app_channel.h"
#include "tests/http/http_fixture.h"
#include "tests/wecom/fake_wecom.h"

namespace kefu::testing {
namespace {

constexpr char kDesk[] = "hr";
constexpr int64_t kNow = 1700000000;  // the test clock's seconds at start

// kefu with the HR desk as a WeCom app, a durable store (restarts keep it) and the fake platform.
struct AppWorld {
  ManualClock clock;
  FakeWeCom fake{&clock};
  TempDir dir;
  std::vector<DeskConfig> desks;
  WeComAppOptions options;
  bool start_channel = true;  // false: callbacks are recorded, nothing processes them
  std::unique_ptr<Engine> engine;
  std::unique_ptr<HttpApi> api;
  std::unique_ptr<WeComAppChannel> channel;
  std::thread serving;
  int port = 0;
  int nonce = 0;

  explicit AppWorld(const std::string& identity = "wecom", bool cards = false) {
    clock.Set(kNow * kMicrosPerSecond);
    DeskConfig hr = HrDesk();
    hr.wecom_app.corp_id = kWeComCorpId;
    hr.wecom_app.agent_id = kWeComAgentId;
    hr.wecom_app.secret = kWeComAppSecret;
    hr.wecom_app.token = kWeComToken;
    hr.wecom_app.encoding_aes_key = kWeComAesKey;
    hr.wecom_app.base_url = fake.base_url();
    hr.wecom_app.identity = identity;
    hr.wecom_app.cards = cards;
    desks = {hr, ShopDesk()};
    options.retry_interval_millis = 100;
    options.client.backoff_millis = 5;
    options.log = false;
    fake.AddEmployee("zhangsan", "张三", 7, "人力资源部");
    Start();
  }
  ~AppWorld() { Stop(); }

  void Start() {
    KefuConfig config;
    config.desks = desks;
    auto store = OpenLevelDbStore(dir.path + "/store");
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    EngineOptions eo;
    eo.password_cost = PasswordCost::kMinimal;
    auto opened = Engine::Open(config, std::move(*store), &clock, eo);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    engine = std::move(*opened);
    api = std::make_unique<HttpApi>(engine.get(), TestServerOptions());
    channel = std::make_unique<WeComAppChannel>(engine.get(), &clock, options);
    channel->RegisterRoutes(api.get());
    auto bound = api->Bind("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
    serving = std::thread([this] { (void)api->Serve(); });
    while (!api->is_running()) std::this_thread::yield();
    if (start_channel) REQUIRE(channel->Start().ok());
  }
  void Stop() {
    if (!api) return;
    api->Stop();
    serving.join();
    channel->Stop();
    channel.reset();
    api.reset();
    engine.reset();
  }
  void Restart() {
    Stop();
    Start();
  }

  WeComCrypto Crypto() {
    auto c = WeComCrypto::Create(kWeComToken, kWeComAesKey, kWeComCorpId);
    REQUIRE(c.ok());
    return *c;
  }
  // WeCom delivers `inner` (FakeWeCom::AppText, ...); returns the HTTP status kefu answered.
  int Post(const std::string& inner, bool tamper = false) {
    auto r = FakeWeCom::PostAppCallback(port, kDesk, Crypto(), inner, clock.NowMicros() / kMicrosPerSecond,
                                        std::to_string(++nonce), tamper);
    REQUIRE(r);
    if (r->status == 200) CHECK(r->body.empty());
    return r->status;
  }
  void Settle() { REQUIRE(channel->WaitIdle(std::chrono::seconds(20))); }

  std::string ConversationOf(const std::string& user) {
    auto v = engine->Side("wa").Get(std::string("hr/user/") + user);
    REQUIRE(v.ok());
    REQUIRE(v->has_value());
    return ParseText(**v)["conversation"].GetString();
  }
  int CustomerMessages(const std::string& user) {
    auto h = engine->History(ConversationOf(user), 0, 1000, false);
    REQUIRE(h.ok());
    int n = 0;
    for (const Message& m : *h) n += m.kind == MessageKind::kCustomer;
    return n;
  }
  AgentIdentity OnlineAgent(const std::string& name) {
    Status s = engine->CreateAgent(kDesk, name, "password-" + name, "Agent " + name, {}, 10);
    REQUIRE((s.ok() || s.code() == Status::Code::kConflict));
    auto token = engine->Login(kDesk, name, "password-" + name);
    REQUIRE(token.ok());
    auto id = engine->AuthenticateAgent(*token);
    REQUIRE(id.ok());
    REQUIRE(engine->SetPresence(*id, AgentPresence::kOnline).ok());
    return *id;
  }
  // Waits until a message/send of `text` to `user` was accepted.
  bool WaitSentText(const std::string& user, const std::string& text) {
    for (int i = 0; i < 500; ++i) {
      for (const auto& s : SentTo(user)) {
        if (s.text == text) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  // The accepted message/send calls to `user`, in order.
  std::vector<FakeWeCom::Sent> SentTo(const std::string& user) {
    std::vector<FakeWeCom::Sent> out;
    for (const FakeWeCom::Sent& s : fake.sent()) {
      if (s.api == "message/send" && s.touser == user && s.errcode == 0) out.push_back(s);
    }
    return out;
  }
};

TEST_CASE("the app's URL verification answers the official sample's echostr; a wrong signature is 401") {
  AppWorld w;
  httplib::Client c("127.0.0.1", w.port);
  const std::string query =
      "?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589"
      "&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%"
      "2BFZXvnaqQ%3D%3D";
  w.clock.Set(int64_t{1409659589} * kMicrosPerSecond + 30 * kMicrosPerSecond);
  auto r = c.Get(("/v1/channels/wecom-app/hr/callback" + query).c_str());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "1616140317555161061");
  std::string wrong = query;
  wrong.replace(wrong.find("5c45"), 4, "6c45");
  CHECK(c.Get(("/v1/channels/wecom-app/hr/callback" + wrong).c_str())->status == 401);
  CHECK(c.Get(("/v1/channels/wecom-app/shop/callback" + query).c_str())->status == 404);
}

TEST_CASE("an employee's encrypted question is answered through message/send with the app's agentid") {
  AppWorld w;
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "年假有多少天？", "10001")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  auto sent = w.SentTo("zhangsan");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].agentid == kWeComAgentId);
  CHECK(sent[0].msgtype == "text");
  const std::string conversation = w.ConversationOf("zhangsan");
  auto history = w.engine->History(conversation, 0, 100, false);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 3);  // the welcome (not sent: the question is answered), question, answer
  CHECK((*history)[1].text == "年假有多少天？");
  CHECK((*history)[1].channel == Channel::kWeCom);
  CHECK(sent[0].text.rfind((*history)[2].text.substr(0, 20), 0) == 0);
  auto view = w.engine->GetConversation(conversation);
  REQUIRE(view.ok());
  CHECK(view->customer == std::string("wecom:app/") + kWeComCorpId + "/zhangsan");
  // The same employee later: the same conversation, their name read once a day.
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "谢谢", "10002")) == 200);
  w.Settle();
  CHECK(w.ConversationOf("zhangsan") == conversation);
  CHECK(w.CustomerMessages("zhangsan") == 2);
  CHECK(w.fake.user_get_calls() == 1);
}

TEST_CASE("转人工 queues the employee; the agent sees their WeCom name and department and the reply goes out") {
  AppWorld w;
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "转人工", "20001")) == 200);
  w.Settle();
  const std::string conversation = w.ConversationOf("zhangsan");
  auto view = w.engine->GetConversation(conversation);
  REQUIRE(view.ok());
  CHECK(view->state == ConversationState::kQueued);
  REQUIRE(w.fake.WaitSent(1));  // told their place in the line
  // The agent's queue (the console's view) names the employee as WeCom knows them.
  REQUIRE(w.engine->CreateAgent(kDesk, "ana", "password-ana", "Ana", {}, 10).ok());
  auto token = w.engine->Login(kDesk, "ana", "password-ana");
  REQUIRE(token.ok());
  httplib::Client c("127.0.0.1", w.port);
  auto queue = c.Get("/v1/agent/queue", {{"Authorization", "Bearer " + *token}});
  REQUIRE(queue);
  REQUIRE_MESSAGE(queue->status == 200, queue->body);
  CHECK(queue->body.find("\"customer_profile\":{\"name\":\"张三\"") != std::string::npos);
  CHECK(queue->body.find("\"department\":\"人力资源部\"") != std::string::npos);
  AgentIdentity ana = w.OnlineAgent("ana");
  auto seen = w.engine->AgentGetConversation(ana, conversation);
  REQUIRE(seen.ok());
  CHECK(seen->customer_profile.name == "张三");
  CHECK(seen->customer_profile.department == "人力资源部");
  if (seen->state == ConversationState::kQueued) REQUIRE(w.engine->Claim(ana, conversation).ok());
  REQUIRE(w.engine->Reply(ana, conversation, "您好，我是人事部的安娜。").ok());
  CHECK(w.WaitSentText("zhangsan", "您好，我是人事部的安娜。"));
  REQUIRE(w.engine->AddNote(ana, conversation, "internal only").ok());
  REQUIRE(w.engine->Resolve(ana, conversation).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const auto& s : w.fake.sent()) CHECK(s.text != "internal only");
}

TEST_CASE("a wrong signature is refused and nothing is processed") {
  AppWorld w;
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "年假有多少天？", "30001"), /*tamper=*/true) == 401);
  w.Settle();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(w.fake.sent().empty());
  CHECK(w.fake.user_get_calls() == 0);
  auto record = w.engine->Side("wa").Get("hr/user/zhangsan");
  REQUIRE(record.ok());
  CHECK(!record->has_value());
  CHECK(w.channel->stats().rejected == 1);
  // A callback from far in the past is refused as well.
  auto r = FakeWeCom::PostAppCallback(w.port, kDesk, w.Crypto(), FakeWeCom::AppText("zhangsan", "hi", "30002"),
                                      kNow - 3600, "1");
  REQUIRE(r);
  CHECK(r->status == 401);
}

TEST_CASE("a repeated callback (the same MsgId) is processed once") {
  AppWorld w;
  const std::string inner = FakeWeCom::AppText("zhangsan", "年假有多少天？", "40001");
  CHECK(w.Post(inner) == 200);
  CHECK(w.Post(inner) == 200);  // WeCom's retry: encrypted anew, same MsgId
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(w.CustomerMessages("zhangsan") == 1);
  CHECK(w.SentTo("zhangsan").size() == 1);
  CHECK(w.channel->stats().duplicates == 1);
}

TEST_CASE("kefu restarted between the callback and the reply still replies") {
  AppWorld w;
  w.Stop();
  w.start_channel = false;  // kefu answers the callback, then stops before processing it
  w.Start();
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "年假有多少天？", "50001")) == 200);
  CHECK(w.fake.sent().empty());
  w.start_channel = true;
  w.Restart();
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  CHECK(w.SentTo("zhangsan").size() == 1);
  CHECK(w.CustomerMessages("zhangsan") == 1);

  // The reply could not go out (rate limited) when kefu stopped: it goes out after the restart.
  w.fake.FailNext("message/send", 1000, 200, 45009);
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "病假怎么请？", "50002")) == 200);
  w.Settle();
  w.Stop();
  w.fake.FailNext("message/send", 0, 200);
  w.Start();
  REQUIRE(w.fake.WaitSent(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(w.SentTo("zhangsan").size() == 2);
  CHECK(w.CustomerMessages("zhangsan") == 2);
}

TEST_CASE("rate limits (45009, 45033) and an expired token keep replies in order; nothing is dropped") {
  AppWorld w;
  w.fake.FailNext("message/send", 5, 200, 45009);  // beyond the client's own retries
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "年假有多少天？", "60001")) == 200);
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "病假怎么请？", "60002")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(2));
  w.fake.ExpireTokens();
  w.fake.FailNext("message/send", 2, 200, 45033);
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "谢谢", "60003")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto sent = w.SentTo("zhangsan");
  auto history = w.engine->History(w.ConversationOf("zhangsan"), 0, 100, false);
  REQUIRE(history.ok());
  std::vector<std::string> replies;
  for (const Message& m : *history) {
    if (m.kind != MessageKind::kCustomer && m.seq > 1) replies.push_back(m.text);
  }
  REQUIRE(sent.size() == replies.size());
  for (size_t i = 0; i < sent.size(); ++i) CHECK(sent[i].text.rfind(replies[i].substr(0, 12), 0) == 0);
  CHECK(w.channel->stats().deferred >= 1);
}

TEST_CASE("enter_agent greets once a day; other events are accepted and ignored") {
  AppWorld w;
  CHECK(w.Post(FakeWeCom::AppEvent("zhangsan", "enter_agent", kNow)) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  CHECK(w.SentTo("zhangsan").at(0).text == HrDesk().welcome_zh);
  CHECK(w.Post(FakeWeCom::AppEvent("zhangsan", "enter_agent", kNow + 60)) == 200);
  CHECK(w.Post(FakeWeCom::AppEvent("zhangsan", "view", kNow + 61)) == 200);
  CHECK(w.Post(FakeWeCom::AppEvent("zhangsan", "subscribe", kNow + 62)) == 200);
  std::string located = FakeWeCom::AppEvent("zhangsan", "location_select", kNow + 63);  // nests elements
  located.insert(located.find("<AgentID>"), "<SendLocationInfo><Location_X>23.1</Location_X><Label>" +
                                                XmlCdata("办公室") + "</Label></SendLocationInfo>");
  CHECK(w.Post(located) == 200);
  w.Settle();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(w.SentTo("zhangsan").size() == 1);
  w.clock.Advance(25 * kMicrosPerHour);
  CHECK(w.Post(FakeWeCom::AppEvent("zhangsan", "enter_agent", kNow + 25 * 3600)) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(2));
  CHECK(w.SentTo("zhangsan").size() == 2);
}

TEST_CASE("a greeting that cannot go out does not hold up the employee's question") {
  AppWorld w;
  w.fake.FailNext("message/send", 3, 200, 45009);  // the greeting outlives the client's retries
  CHECK(w.Post(FakeWeCom::AppEvent("zhangsan", "enter_agent", kNow)) == 200);
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "年假有多少天？", "75001")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  CHECK(w.CustomerMessages("zhangsan") == 1);
  // The next time the employee opens the app, the greeting is tried again.
  CHECK(w.Post(FakeWeCom::AppEvent("zhangsan", "enter_agent", kNow + 5)) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(2));
  CHECK(w.SentTo("zhangsan").back().text == HrDesk().welcome_zh);
}

TEST_CASE("an image from an employee is never dropped: a placeholder reaches a person") {
  AppWorld w;
  CHECK(w.Post(FakeWeCom::AppMedia("zhangsan", "image", "70001")) == 200);
  w.Settle();
  auto history = w.engine->History(w.ConversationOf("zhangsan"), 0, 100, false);
  REQUIRE(history.ok());
  REQUIRE(history->size() >= 2);
  CHECK((*history)[1].text.find("图片 image") != std::string::npos);
  auto view = w.engine->GetConversation(w.ConversationOf("zhangsan"));
  REQUIRE(view.ok());
  CHECK((view->state == ConversationState::kQueued || view->state == ConversationState::kAgent));
}

// A question the HR bot answers with two or more KB entries to choose from.
std::string ClarifiedQuestion(Engine* engine) {
  const char* candidates[] = {"假", "休假", "请假和年假", "工资和个税", "leave", "pay", "假期", "报销"};
  for (const char* q : candidates) {
    StartRequest s;
    s.desk = kDesk;
    auto started = engine->StartConversation(s);
    REQUIRE(started.ok());
    CustomerMessageRequest m;
    m.conversation_id = started->conversation_id;
    m.text = q;
    auto turn = engine->PostCustomerMessage(m);
    REQUIRE(turn.ok());
    const Message& reply = turn->messages.back();
    if (reply.kind == MessageKind::kBot && reply.choices.size() >= 2 && !reply.choices[1].entry_id.empty()) return q;
  }
  FAIL("no candidate question makes the HR bot clarify");
  return "";
}

TEST_CASE("clarify choices go out numbered, and a bare number picks that choice") {
  AppWorld w;
  const std::string question = ClarifiedQuestion(w.engine.get());
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", question, "90001")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  const std::string menu = w.SentTo("zhangsan").back().text;
  CHECK(menu.find("\n1. ") != std::string::npos);
  CHECK(menu.find("\n2. ") != std::string::npos);
  auto history = w.engine->History(w.ConversationOf("zhangsan"), 0, 100, false);
  REQUIRE(history.ok());
  const std::string entry = history->back().choices.at(1).entry_id;
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", " 2 ", "90002")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(2));
  history = w.engine->History(w.ConversationOf("zhangsan"), 0, 100, false);
  REQUIRE(history.ok());
  CHECK(history->back().kind == MessageKind::kBot);
  CHECK(history->back().entry_id == entry);
}

TEST_CASE("with cards, clarify choices are a button card and a click picks that choice") {
  AppWorld w("wecom", /*cards=*/true);
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", ClarifiedQuestion(w.engine.get()), "95001")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  const FakeWeCom::Sent card = w.SentTo("zhangsan").back();
  CHECK(card.msgtype == "template_card");
  CHECK(card.agentid == kWeComAgentId);
  REQUIRE(card.menu.size() >= 2);
  const std::string entry = card.menu[1].first;
  CHECK(w.Post(FakeWeCom::AppCardClick("zhangsan", card.msgid, entry)) == 200);
  CHECK(w.Post(FakeWeCom::AppCardClick("zhangsan", card.msgid, entry)) == 200);  // WeCom's retry
  w.Settle();
  REQUIRE(w.fake.WaitSent(2));
  auto history = w.engine->History(w.ConversationOf("zhangsan"), 0, 100, false);
  REQUIRE(history.ok());
  CHECK(history->back().kind == MessageKind::kBot);
  CHECK(history->back().entry_id == entry);
  CHECK(w.CustomerMessages("zhangsan") == 2);
}

TEST_CASE("with identity app the employee is the signed app user: one conversation with the intranet widget") {
  AppWorld w("app");
  StartRequest web;
  web.desk = kDesk;
  web.channel = Channel::kWeb;
  web.verified_user = "zhangsan";  // the intranet's JWT sub is the WeCom UserID
  auto started = w.engine->StartConversation(web);
  REQUIRE(started.ok());
  CHECK(w.Post(FakeWeCom::AppText("zhangsan", "年假有多少天？", "80001")) == 200);
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  CHECK(w.ConversationOf("zhangsan") == started->conversation_id);
  auto view = w.engine->GetConversation(started->conversation_id);
  REQUIRE(view.ok());
  CHECK(view->customer == "app:zhangsan");
}

}  // namespace
}  // namespace kefu::testing
