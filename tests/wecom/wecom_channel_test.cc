// The WeCom channel against a fake WeCom platform (fake_wecom.h), all over real sockets: WeCom's
// callbacks reach kefu's HTTP route, the adapter pulls with sync_msg and answers with send_msg.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>

#include "adapters/wecom/wecom_channel.h"
#include "tests/http/http_fixture.h"
#include "tests/wecom/fake_wecom.h"

namespace kefu::testing {
namespace {

constexpr char kDesk[] = "hr";

std::string Url(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// kefu with the HR desk on WeCom, a durable store (restarts keep it) and the fake platform.
struct World {
  ManualClock clock;
  FakeWeCom fake{&clock};
  TempDir dir;
  std::vector<DeskConfig> desks;
  WeComOptions options;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<HttpApi> api;
  std::unique_ptr<WeComChannel> channel;
  std::thread serving;
  int port = 0;

  World() {
    DeskConfig hr = HrDesk();
    hr.wecom.corp_id = kWeComCorpId;
    hr.wecom.secret = kWeComSecret;
    hr.wecom.token = kWeComToken;
    hr.wecom.encoding_aes_key = kWeComAesKey;
    hr.wecom.base_url = fake.base_url();
    desks = {hr, ShopDesk()};
    options.retry_interval_millis = 100;
    options.client.backoff_millis = 5;
    options.log = false;
    Start();
  }
  ~World() { Stop(); }

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
    channel = std::make_unique<WeComChannel>(engine.get(), &clock, options);
    channel->RegisterRoutes(api.get());
    auto bound = api->Bind("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
    serving = std::thread([this] { (void)api->Serve(); });
    while (!api->is_running()) std::this_thread::yield();
    REQUIRE(channel->Start().ok());
  }
  // A shutdown as `kefu serve` does it.
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

  WeComCrypto Crypto(const char* corp = kWeComCorpId) {
    auto c = WeComCrypto::Create(kWeComToken, kWeComAesKey, corp);
    REQUIRE(c.ok());
    return *c;
  }
  // WeCom announces new messages; kefu answers 200 and pulls.
  void Announce(const std::string& token = "ENCCALLBACKTOKEN") {
    auto r = FakeWeCom::PostCallback(port, kDesk, Crypto(), token, false, clock.NowMicros() / kMicrosPerSecond);
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 200, r->body);
    CHECK(r->body.empty());
    Settle();
  }
  void Settle() { REQUIRE(channel->WaitIdle(std::chrono::seconds(20))); }

  std::string ConversationOf(const std::string& user) {
    auto v = engine->Side("w").Get(std::string("hr/user/") + kOpenKfId + "/" + user);
    REQUIRE(v.ok());
    REQUIRE(v->has_value());
    auto doc = ParseText(**v);
    return doc["conversation"].GetString();
  }
  std::vector<Message> History(const std::string& user) {
    auto h = engine->History(ConversationOf(user), 0, 1000, false);
    REQUIRE(h.ok());
    return *h;
  }
  int CustomerMessages(const std::string& user) {
    int n = 0;
    for (const Message& m : History(user)) n += m.kind == MessageKind::kCustomer;
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
  // The accepted send_msg calls to `user`, in order.
  std::vector<FakeWeCom::Sent> SentTo(const std::string& user) {
    std::vector<FakeWeCom::Sent> out;
    for (const FakeWeCom::Sent& s : fake.sent()) {
      if (s.touser == user && s.errcode == 0) out.push_back(s);
    }
    return out;
  }
};

TEST_CASE("URL verification answers the decrypted echostr; a wrong signature is 401") {
  World w;
  httplib::Client c("127.0.0.1", w.port);
  // The official sample of the WeCom documentation, URL-encoded as WeCom sends it.
  const std::string official =
      "/v1/channels/wecom/hr/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589"
      "&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%"
      "2BFZXvnaqQ%3D%3D";
  w.clock.Set(int64_t{1409659589} * kMicrosPerSecond + 30 * kMicrosPerSecond);  // when WeCom sent it
  auto r = c.Get(official.c_str());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "1616140317555161061");
  w.clock.Set(int64_t{1700000000} * kMicrosPerSecond);
  // An echostr with '+' left unescaped still works ('+' is read back from the space).
  WeComCrypto crypto = w.Crypto();
  std::string echostr;
  for (int i = 0; echostr.find('+') == std::string::npos && i < 200; ++i) echostr = crypto.Encrypt("echo-" + std::to_string(i));
  REQUIRE(echostr.find('+') != std::string::npos);
  const std::string sig = crypto.Signature("1700000000", "42", echostr);
  std::string raw_plus = echostr;
  for (size_t p = 0; (p = raw_plus.find('/', p)) != std::string::npos;) raw_plus.replace(p, 1, "%2F");
  for (size_t p = 0; (p = raw_plus.find('=', p)) != std::string::npos;) raw_plus.replace(p, 1, "%3D");
  r = c.Get(("/v1/channels/wecom/hr/callback?msg_signature=" + sig + "&timestamp=1700000000&nonce=42&echostr=" + raw_plus).c_str());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.rfind("echo-", 0) == 0);
  // Wrong signature, another corp, a desk without WeCom, missing parameters.
  r = c.Get(("/v1/channels/wecom/hr/callback?msg_signature=" + std::string(40, 'a') +
             "&timestamp=1700000000&nonce=42&echostr=" + Url(echostr)).c_str());
  CHECK(r->status == 401);
  WeComCrypto other = w.Crypto("wx0000000000000000");
  const std::string foreign = other.Encrypt("hello");
  r = c.Get(("/v1/channels/wecom/hr/callback?msg_signature=" + other.Signature("1", "2", foreign) +
             "&timestamp=1&nonce=2&echostr=" + Url(foreign)).c_str());
  CHECK(r->status == 401);
  CHECK(c.Get(official.substr(0, official.find("hr/")).append("shop/callback?x=1").c_str())->status == 404);
  CHECK(c.Get("/v1/channels/wecom/hr/callback")->status == 400);
  CHECK(w.channel->stats().rejected >= 3);
}

TEST_CASE("a customer's text is pulled with sync_msg and answered by the bot with send_msg") {
  World w;
  w.fake.AddText("wmUSER1", "年假有多少天？");
  w.Announce("CALLBACKTOKEN1");
  REQUIRE(w.fake.WaitSent(1));
  auto sent = w.SentTo("wmUSER1");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].api == "send_msg");
  CHECK(sent[0].open_kfid == kOpenKfId);
  CHECK(!sent[0].text.empty());
  CHECK(w.fake.sync_tokens().front() == "CALLBACKTOKEN1");  // the callback's Token goes with the pull
  auto history = w.History("wmUSER1");
  REQUIRE(history.size() == 3);  // welcome (not sent: no enter_session code), the question, the answer
  CHECK(history[1].kind == MessageKind::kCustomer);
  CHECK(history[1].channel == Channel::kWeCom);
  CHECK(history[2].kind == MessageKind::kBot);
  CHECK(sent[0].text.rfind(history[2].text.substr(0, 20), 0) == 0);
  auto view = w.engine->GetConversation(w.ConversationOf("wmUSER1"));
  REQUIRE(view.ok());
  CHECK(view->customer == std::string("wecom:") + kOpenKfId + "/wmUSER1");
  CHECK(view->channel == Channel::kWeCom);
  CHECK(ConversationViewJson(*view).find("\"service_state\":1") != std::string::npos);  // 由智能助手接待
  CHECK(w.fake.rule_violations() == 0);

  // The same customer again: the same conversation.
  w.fake.AddText("wmUSER1", "谢谢");
  w.Announce();
  CHECK(w.CustomerMessages("wmUSER1") == 2);
}

TEST_CASE("a callback without OpenKfId (the form WeCom documented first) pulls every account of the desk") {
  World w;
  w.fake.AddText("wmUSER7", "How many days of annual leave do I get?");
  auto r = FakeWeCom::PostCallback(w.port, kDesk, w.Crypto(), "CALLBACKTOKEN7", false,
                                   w.clock.NowMicros() / kMicrosPerSecond, /*open_kfid=*/"");
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  w.Settle();
  REQUIRE(w.fake.WaitSent(1));
  CHECK(w.SentTo("wmUSER7").size() == 1);  // the message names its account: the reply goes there
  CHECK(w.CustomerMessages("wmUSER7") == 1);
  CHECK(w.fake.sync_tokens().back() == "CALLBACKTOKEN7");
  // A restart, and the same form again: nothing is processed twice.
  w.Restart();
  r = FakeWeCom::PostCallback(w.port, kDesk, w.Crypto(), "CALLBACKTOKEN8", false,
                              w.clock.NowMicros() / kMicrosPerSecond, "");
  REQUIRE(r);
  w.Settle();
  CHECK(w.CustomerMessages("wmUSER7") == 1);
}

TEST_CASE("an image or a voice message is never dropped: it shows in the conversation and reaches a person") {
  World w;
  w.fake.AddMedia("wmPIC", "image");
  w.Announce();
  REQUIRE(w.fake.WaitSent(1));
  auto history = w.History("wmPIC");
  REQUIRE(history.size() >= 2);
  CHECK(history[1].kind == MessageKind::kCustomer);
  CHECK(history[1].text.find("图片 image") != std::string::npos);
  w.fake.AddMedia("wmPIC", "voice");
  w.Announce();
  CHECK(w.CustomerMessages("wmPIC") == 2);
  auto view = w.engine->GetConversation(w.ConversationOf("wmPIC"));
  REQUIRE(view.ok());
  MESSAGE("state after an image and a voice message: " << ConversationViewJson(*view));
  CHECK((view->state == ConversationState::kQueued || view->state == ConversationState::kAgent));
}

TEST_CASE("enter_session gets the desk's welcome through send_msg_on_event") {
  World w;
  w.fake.AddEnterSession("wmNEW", "WELCOMECODE1");
  w.fake.AddEnterSession("wmQUIET", "");  // no code: WeCom sends nothing, neither does kefu
  w.Announce();
  REQUIRE(w.fake.WaitSent(1));
  auto sent = w.fake.sent();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].api == "send_msg_on_event");
  CHECK(sent[0].code == "WELCOMECODE1");
  CHECK(sent[0].text == HrDesk().welcome_zh);
  // The welcome is not sent a second time with the first answer.
  w.fake.AddText("wmNEW", "年假有多少天？");
  w.Announce();
  REQUIRE(w.fake.WaitSent(2));
  auto to_new = w.SentTo("wmNEW");  // send_msg_on_event names no user: only the answer is here
  REQUIRE(to_new.size() == 1);
  CHECK(to_new[0].api == "send_msg");
  CHECK(to_new[0].text != HrDesk().welcome_zh);
}

TEST_CASE("a clarify goes out as a msgmenu and the click comes back as the choice") {
  World w;
  // Find a question the HR bot clarifies (the menu ids are KB entry ids).
  const char* candidates[] = {"假", "休假", "请假和年假", "工资和个税", "leave", "pay", "假期", "报销"};
  std::string question;
  for (const char* q : candidates) {
    StartRequest s;
    s.desk = kDesk;
    auto started = w.engine->StartConversation(s);
    REQUIRE(started.ok());
    CustomerMessageRequest m;
    m.conversation_id = started->conversation_id;
    m.text = q;
    auto turn = w.engine->PostCustomerMessage(m);
    REQUIRE(turn.ok());
    const Message& reply = turn->messages.back();
    if (reply.kind == MessageKind::kBot && !reply.choices.empty() && !reply.choices[0].entry_id.empty()) {
      question = q;
      break;
    }
  }
  REQUIRE_MESSAGE(!question.empty(), "no candidate question makes the HR bot clarify");
  w.fake.AddText("wmMENU", question);
  w.Announce();
  REQUIRE(w.fake.WaitSent(1));
  auto sent = w.SentTo("wmMENU");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].msgtype == "msgmenu");
  REQUIRE(sent[0].menu.size() >= 2);
  const auto [entry, title] = sent[0].menu[1];
  // The customer clicks the second item: WeCom sends its text with the item's id as menu_id.
  w.fake.AddText("wmMENU", title, entry);
  w.Announce();
  REQUIRE(w.fake.WaitSent(2));
  auto history = w.History("wmMENU");
  CHECK(history.back().kind == MessageKind::kBot);
  CHECK(history.back().entry_id == entry);
  CHECK(w.SentTo("wmMENU").back().text.find(history.back().text.substr(0, 12)) == 0);
  // A click on a menu of an entry that no longer exists is read as its text.
  w.fake.AddText("wmMENU", "年假有多少天？", "no.such.entry");
  w.Announce();
  CHECK(w.CustomerMessages("wmMENU") == 3);
}

TEST_CASE("escalation, then the agent's reply is delivered to WeCom asynchronously") {
  World w;
  AgentIdentity ana = w.OnlineAgent("ana");
  w.fake.AddText("wmESC", "转人工");
  w.Announce();
  const std::string conversation = w.ConversationOf("wmESC");
  auto view = w.engine->GetConversation(conversation);
  REQUIRE(view.ok());
  CHECK(view->state == ConversationState::kAgent);
  CHECK(ConversationViewJson(*view).find("\"service_state\":3") != std::string::npos);  // 由人工接待
  REQUIRE(w.fake.WaitSent(1));  // "Agent ana has joined"
  const size_t before = w.fake.accepted();
  auto reply = w.engine->Reply(ana, conversation, "您好，我是人事部的安娜。");
  REQUIRE(reply.ok());
  REQUIRE(w.fake.WaitSent(before + 1));
  auto sent = w.SentTo("wmESC");
  CHECK(sent.back().text == "您好，我是人事部的安娜。");
  // Notes never leave kefu; resolving sends the closing message.
  REQUIRE(w.engine->AddNote(ana, conversation, "internal only").ok());
  REQUIRE(w.engine->Resolve(ana, conversation).ok());
  REQUIRE(w.fake.WaitSent(before + 2));
  for (const auto& s : w.fake.sent()) CHECK(s.text != "internal only");
  CHECK(w.fake.rule_violations() == 0);
}

TEST_CASE("transient failures of sync_msg and send_msg are retried; each message goes out once") {
  World w;
  w.fake.FailNext("sync_msg", 2, 502);        // within the client's own retries
  w.fake.FailNext("send_msg", 4, 200, -1);    // "system busy" beyond them: the delivery retries later
  w.fake.AddText("wmRETRY", "年假有多少天？");
  w.Announce();
  REQUIRE(w.fake.WaitSent(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // more retry rounds would show up
  CHECK(w.SentTo("wmRETRY").size() == 1);
  CHECK(w.CustomerMessages("wmRETRY") == 1);

  // A pull that keeps failing is tried again later, without a new callback.
  w.fake.FailNext("sync_msg", 5, 500);
  w.fake.AddText("wmRETRY", "谢谢");
  auto r = FakeWeCom::PostCallback(w.port, kDesk, w.Crypto());
  REQUIRE(r);
  CHECK(r->status == 200);  // answered at once, whatever the pull does
  for (int i = 0; i < 200 && w.CustomerMessages("wmRETRY") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(w.CustomerMessages("wmRETRY") == 2);
}

TEST_CASE("duplicates: the same callback twice, the same msgid in two pages") {
  World w;
  w.fake.set_page_size(1);
  w.fake.AddText("wmDUP", "年假有多少天？");
  w.fake.AddText("wmDUP", "谢谢");
  w.fake.Repeat(0);  // the first message again, in a third page
  w.Announce();
  w.Announce();  // WeCom retries a callback it thinks was lost
  CHECK(w.CustomerMessages("wmDUP") == 2);
  CHECK(w.channel->stats().duplicates >= 1);
  CHECK(w.fake.sync_requests().size() >= 4);  // three pages, then one empty pull from c3
  CHECK(w.fake.sync_requests().back() == "c3");
}

TEST_CASE("a bad signature or a wrong corp id is refused and nothing is processed") {
  World w;
  w.fake.AddText("wmBAD", "年假有多少天？");
  auto bad = FakeWeCom::PostCallback(w.port, kDesk, w.Crypto(), "T", /*tamper=*/true);
  REQUIRE(bad);
  CHECK(bad->status == 401);
  auto foreign = FakeWeCom::PostCallback(w.port, kDesk, w.Crypto("wx0000000000000000"));
  REQUIRE(foreign);
  CHECK(foreign->status == 401);
  httplib::Client c("127.0.0.1", w.port);
  auto junk = c.Post("/v1/channels/wecom/hr/callback?msg_signature=a&timestamp=1700000000&nonce=2", "<xml><x", "text/xml");
  CHECK(junk->status == 400);
  auto huge = c.Post("/v1/channels/wecom/hr/callback?msg_signature=a&timestamp=1700000000&nonce=2", std::string(20000, 'x'), "text/xml");
  CHECK(huge->status == 413);
  w.Settle();
  CHECK(w.fake.sync_requests().empty());
  bool any = false;
  (void)w.engine->Side("w").ScanPrefix("hr/", [&](std::string_view, std::string_view) { return !(any = true); });
  CHECK_FALSE(any);
  CHECK(w.channel->stats().callbacks == 0);
}

TEST_CASE("an expired access token is fetched again and the call goes through") {
  World w;
  w.fake.AddText("wmTOK", "年假有多少天？");
  w.Announce();
  REQUIRE(w.fake.WaitSent(1));
  CHECK(w.fake.gettoken_calls() == 1);
  w.fake.AddText("wmTOK", "谢谢");
  w.Announce();  // cached token: no new gettoken
  CHECK(w.fake.gettoken_calls() == 1);
  w.fake.ExpireTokens();
  w.fake.AddText("wmTOK", "病假怎么请？");
  w.Announce();
  REQUIRE(w.fake.WaitSent(3));
  CHECK(w.fake.expired_token_answers() >= 1);
  CHECK(w.fake.gettoken_calls() == 2);
  CHECK(w.CustomerMessages("wmTOK") == 3);
  // The cache also ends by itself shortly before expires_in.
  w.clock.Advance(2 * kMicrosPerHour);
  w.fake.AddText("wmTOK", "好的");
  w.Announce();
  CHECK(w.fake.gettoken_calls() == 3);
}

TEST_CASE("nothing is sent 48 hours after the customer's last message; it waits for the next one") {
  World w;
  AgentIdentity ana = w.OnlineAgent("ana");
  w.fake.AddText("wmLATE", "转人工");
  w.Announce();
  REQUIRE(w.fake.WaitSent(1));
  const std::string conversation = w.ConversationOf("wmLATE");
  w.clock.Advance(49 * kMicrosPerHour);
  REQUIRE(w.engine->Heartbeat(ana).ok());
  const size_t before = w.fake.accepted();
  REQUIRE(w.engine->Reply(ana, conversation, "抱歉久等了，您的问题已解决。").ok());
  for (int i = 0; i < 50 && w.channel->stats().held == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(w.channel->stats().held >= 1);
  CHECK(w.fake.accepted() == before);
  CHECK(w.fake.rule_violations() == 0);
  // The customer writes again: the waiting reply goes out first.
  w.fake.AddText("wmLATE", "还在吗？");
  w.Announce();
  REQUIRE(w.fake.WaitSent(before + 1));
  CHECK(w.SentTo("wmLATE").back().text == "抱歉久等了，您的问题已解决。");
  CHECK(w.fake.rule_violations() == 0);
}

TEST_CASE("at most 5 messages per customer message; the rest waits for the next message") {
  World w;
  AgentIdentity ana = w.OnlineAgent("ana");
  w.fake.AddText("wmMANY", "转人工");
  w.Announce();
  REQUIRE(w.fake.WaitSent(1));  // the agent joined: 1 of 5
  const std::string conversation = w.ConversationOf("wmMANY");
  for (int i = 1; i <= 7; ++i) REQUIRE(w.engine->Reply(ana, conversation, "reply " + std::to_string(i)).ok());
  REQUIRE(w.fake.WaitSent(5));
  for (int i = 0; i < 50 && w.channel->stats().held == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto sent = w.SentTo("wmMANY");
  REQUIRE(sent.size() == 5);
  CHECK(sent[4].text == "reply 4");
  CHECK(w.fake.rule_violations() == 0);
  w.fake.AddText("wmMANY", "嗯");
  w.Announce();
  REQUIRE(w.fake.WaitSent(8));
  sent = w.SentTo("wmMANY");
  REQUIRE(sent.size() == 8);
  CHECK(sent[5].text == "reply 5");
  CHECK(sent[7].text == "reply 7");
  CHECK(w.fake.rule_violations() == 0);
}

TEST_CASE("a restart between callback and pull: the announced pull runs after the restart") {
  World w;
  w.fake.FailNext("sync_msg", 1000000, 503);  // WeCom is unreachable while kefu runs
  w.fake.AddText("wmRESTART", "年假有多少天？");
  auto r = FakeWeCom::PostCallback(w.port, kDesk, w.Crypto());
  REQUIRE(r);
  CHECK(r->status == 200);
  w.Stop();
  w.fake.FailNext("sync_msg", 0, 200);
  w.Start();  // no new callback: the stored announcement is enough
  REQUIRE(w.fake.WaitSent(1));
  w.Settle();
  CHECK(w.CustomerMessages("wmRESTART") == 1);
  auto pending = w.engine->Side("w").Get(std::string("hr/pending/") + kOpenKfId);
  REQUIRE(pending.ok());
  CHECK_FALSE(pending->has_value());
}

TEST_CASE("a restart in the middle of a pull: nothing skipped, nothing twice") {
  World w;
  w.fake.set_page_size(1);
  w.fake.AddText("wmHALF", "年假有多少天？");
  w.fake.AddText("wmHALF", "病假怎么请？");
  w.fake.AddText("wmHALF", "谢谢");
  w.fake.FailNext("sync_msg", 1000000, 503, -1, /*skip=*/1);  // page 1 comes, then WeCom is gone
  auto r = FakeWeCom::PostCallback(w.port, kDesk, w.Crypto());
  REQUIRE(r);
  for (int i = 0; i < 200 && w.fake.accepted() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(w.fake.accepted() == 1);
  w.Stop();
  CHECK(w.fake.sync_requests().front() == "");
  w.fake.FailNext("sync_msg", 0, 200);
  w.Start();
  w.Settle();
  REQUIRE(w.fake.WaitSent(3));
  auto cursors = w.fake.sync_requests();
  CHECK(std::count(cursors.begin(), cursors.end(), "") == 1);  // never from the start again
  CHECK(std::find(cursors.begin(), cursors.end(), "c1") != cursors.end());
  CHECK(w.CustomerMessages("wmHALF") == 3);
  auto history = w.History("wmHALF");
  std::vector<std::string> said;
  for (const Message& m : history) {
    if (m.kind == MessageKind::kCustomer) said.push_back(m.text);
  }
  CHECK(said == std::vector<std::string>{"年假有多少天？", "病假怎么请？", "谢谢"});
  CHECK(w.SentTo("wmHALF").size() == 3);
}

TEST_CASE("kefu.json: the wecom block is validated") {
  auto parse = [](const std::string& wecom) {
    return ParseConfig(R"({"desks":[{"id":"hr","knowledge_bases":["x.json"],"wecom":)" + wecom + "}]}", "kefu.json", "");
  };
  auto ok = parse(R"({"corp_id":"ww1","secret":"s","token":"QDG6eK","encoding_aes_key":"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"})");
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ok->desks[0].wecom.enabled());
  CHECK(ok->desks[0].wecom.base_url == "https://qyapi.weixin.qq.com");
  CHECK_FALSE(parse(R"({"corp_id":"ww1","secret":"s","token":"t","encoding_aes_key":"short"})").ok());
  CHECK_FALSE(parse(R"({"corp_id":"ww1","token":"t","encoding_aes_key":"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"})").ok());
  auto bad_url = parse(R"({"corp_id":"ww1","secret":"s","token":"t","encoding_aes_key":"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C","base_url":"ftp://x"})");
  CHECK(bad_url.status().message().find("base_url") != std::string::npos);
}

// Issue 15, item 6: a captured callback cannot be played again, now or later.
TEST_CASE("callbacks outside the time window, and replayed callbacks, are refused and process nothing") {
  World w;
  httplib::Client c("127.0.0.1", w.port);
  WeComCrypto crypto = w.Crypto();
  const int64_t now = w.clock.NowMicros() / kMicrosPerSecond;
  auto post = [&](const std::string& query, const std::string& body) {
    auto r = c.Post(("/v1/channels/wecom/hr/callback" + query).c_str(), body, "text/xml");
    REQUIRE(r);
    return r->status;
  };
  std::string encrypted;
  const std::string body = FakeWeCom::CallbackBody(crypto, "ENCCALLBACKTOKEN", kOpenKfId, &encrypted);
  // Signed correctly, but stamped 10 minutes before or after kefu's clock.
  CHECK(post(FakeWeCom::CallbackQuery(crypto, encrypted, false, std::to_string(now - 600)), body) == 401);
  CHECK(post(FakeWeCom::CallbackQuery(crypto, encrypted, false, std::to_string(now + 600)), body) == 401);
  CHECK(post(FakeWeCom::CallbackQuery(crypto, encrypted, false, "17e8"), body) == 400);
  w.Settle();
  CHECK(w.fake.sync_requests().empty());

  w.fake.AddText("wmREPLAY", "年假有多少天？");
  const std::string query = FakeWeCom::CallbackQuery(crypto, encrypted, false, std::to_string(now - 30), "778899");
  CHECK(post(query, body) == 200);
  w.Settle();
  const size_t pulls = w.fake.sync_requests().size();
  CHECK(pulls >= 1);
  CHECK(post(query, body) == 401);  // the same (timestamp, nonce, signature) again
  w.clock.Advance(10 * kMicrosPerMinute);
  CHECK(post(query, body) == 401);  // later: outside the window
  w.Settle();
  CHECK(w.fake.sync_requests().size() == pulls);
  CHECK(w.CustomerMessages("wmREPLAY") == 1);

  // URL verification too: its echostr is answered once.
  const int64_t later = w.clock.NowMicros() / kMicrosPerSecond;
  const std::string echostr = crypto.Encrypt("echo-once");
  const std::string verify = "/v1/channels/wecom/hr/callback?msg_signature=" +
                             crypto.Signature(std::to_string(later), "42", echostr) + "&timestamp=" +
                             std::to_string(later) + "&nonce=42&echostr=" + Url(echostr);
  auto first = c.Get(verify.c_str());
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->body == "echo-once");
  auto again = c.Get(verify.c_str());
  REQUIRE(again);
  CHECK(again->status == 401);
  CHECK(again->body.find("echo-once") == std::string::npos);
}

TEST_CASE("the replay guard's memory is bounded: by the window and by a cap") {
  CallbackGuard guard(300, 3);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(guard.Check("1000", std::to_string(i), "sig", 1000).ok());
    guard.Remember("1000", std::to_string(i), "sig", 1000);
  }
  CHECK(guard.remembered() == 3);  // the oldest went first
  CHECK(guard.Check("1000", "4", "sig", 1000).code() == Status::Code::kUnauthenticated);
  guard.Remember("1400", "x", "sig", 1400);  // 1000 is out of the window at 1400: forgotten
  CHECK(guard.remembered() == 1);
  CHECK(guard.Check("1000", "4", "sig", 1400).code() == Status::Code::kUnauthenticated);  // still refused: too old
  CHECK(guard.Check("-5", "n", "sig", 1000).code() == Status::Code::kInvalidArgument);
  CHECK(guard.Check("1000", std::string(65, 'n'), "sig", 1000).code() == Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kefu::testing
