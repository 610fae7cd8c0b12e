// A fake WeCom platform in the test process, over real sockets: gettoken, kf/sync_msg (a message
// log served in pages with cursors and has_more), kf/send_msg and kf/send_msg_on_event (recorded,
// with WeCom's 48-hour / 5-message rule checked), access tokens that can be expired at will, and
// injectable failures. It also plays WeCom's side of the callback: it encrypts kf_msg_or_event
// announcements with the channel's key and POSTs them to kefu's callback route. For the self-built
// app (企业微信自建应用): message/send (recorded), user/get and department/get (a small directory of
// employees), and the app's encrypted message callbacks (接收消息).
#ifndef KEFU_TESTS_WECOM_FAKE_WECOM_H_
#define KEFU_TESTS_WECOM_FAKE_WECOM_H_

#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/wecom/wecom_crypto.h"
#include "adapters/wecom/wecom_xml.h"
#include "base/json.h"
#include "engine/clock.h"

namespace kefu::testing {

// The official sample values of the WeCom documentation, used as the channel's configuration.
constexpr const char* kWeComToken = "QDG6eK";
constexpr const char* kWeComCorpId = "wx5823bf96d3bd56c7";
constexpr const char* kWeComAesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
constexpr const char* kWeComSecret = "fake-kf-secret";
constexpr const char* kOpenKfId = "wkTESTKF0001";
constexpr const char* kWeComAppSecret = "fake-app-secret";
constexpr int64_t kWeComAgentId = 1000002;

// What the fake's own rule check answers for a send outside the window or over the limit (the
// adapter must never get it).
constexpr int kFakeRuleErrcode = 95999;

class FakeWeCom {
 public:
  struct Sent {
    std::string api;  // "send_msg", "send_msg_on_event" or "message/send"
    std::string touser, open_kfid, msgid, msgtype, text, code;
    std::vector<std::pair<std::string, std::string>> menu;  // (id, content)
    int errcode = 0;
    int64_t agentid = 0;  // message/send
  };

  explicit FakeWeCom(Clock* clock) : clock_(clock) {
    server_.Get("/cgi-bin/gettoken", [this](const httplib::Request& req, httplib::Response& res) { GetToken(req, res); });
    server_.Post("/cgi-bin/kf/sync_msg", [this](const httplib::Request& req, httplib::Response& res) { SyncMsg(req, res); });
    server_.Post("/cgi-bin/kf/send_msg", [this](const httplib::Request& req, httplib::Response& res) {
      Send(req, res, "send_msg");
    });
    server_.Post("/cgi-bin/kf/send_msg_on_event", [this](const httplib::Request& req, httplib::Response& res) {
      Send(req, res, "send_msg_on_event");
    });
    server_.Post("/cgi-bin/message/send", [this](const httplib::Request& req, httplib::Response& res) {
      AppSend(req, res);
    });
    server_.Get("/cgi-bin/user/get", [this](const httplib::Request& req, httplib::Response& res) { UserGet(req, res); });
    server_.Get("/cgi-bin/department/get", [this](const httplib::Request& req, httplib::Response& res) {
      DepartmentGet(req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeWeCom() {
    server_.stop();
    thread_.join();
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // ---- The message log that sync_msg serves ----

  // A customer's text (a menu click when `menu_id` is set); returns its msgid.
  std::string AddText(const std::string& user, const std::string& text, const std::string& menu_id = "",
                      const std::string& msgid = "") {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = msgid.empty() ? "msg" + std::to_string(++next_msgid_) : msgid;
    JsonWriter w;
    w.BeginObject().Field("msgid", id).Field("open_kfid", kOpenKfId).Field("external_userid", user);
    w.Field("send_time", Now()).Field("origin", 3).Field("msgtype", "text").Key("text").BeginObject();
    w.Field("content", text);
    if (!menu_id.empty()) w.Field("menu_id", menu_id);
    w.EndObject().EndObject();
    log_.push_back(w.Take());
    last_in_[user] = Now();
    sends_since_[user] = 0;
    return id;
  }
  // A customer's message that is not text (msgtype "image", "voice", ...); returns its msgid.
  std::string AddMedia(const std::string& user, const std::string& msgtype) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = "msg" + std::to_string(++next_msgid_);
    JsonWriter w;
    w.BeginObject().Field("msgid", id).Field("open_kfid", kOpenKfId).Field("external_userid", user);
    w.Field("send_time", Now()).Field("origin", 3).Field("msgtype", msgtype).Key(msgtype).BeginObject();
    w.Field("media_id", "MEDIA_" + id).EndObject().EndObject();
    log_.push_back(w.Take());
    last_in_[user] = Now();
    sends_since_[user] = 0;
    return id;
  }
  // The customer opens the chat; `welcome_code` "" when WeCom would send no code.
  std::string AddEnterSession(const std::string& user, const std::string& welcome_code) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = "evt" + std::to_string(++next_msgid_);
    JsonWriter w;
    w.BeginObject().Field("msgid", id).Field("send_time", Now()).Field("origin", 4).Field("msgtype", "event");
    w.Key("event").BeginObject().Field("event_type", "enter_session").Field("open_kfid", kOpenKfId);
    w.Field("external_userid", user).Field("scene", "test");
    if (!welcome_code.empty()) w.Field("welcome_code", welcome_code);
    w.EndObject().EndObject();
    log_.push_back(w.Take());
    if (!welcome_code.empty()) welcome_codes_[welcome_code] = user;
    return id;
  }
  // Appends an entry again (the same msgid served twice, in a later page).
  void Repeat(size_t index) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(log_.at(index));
  }
  size_t log_size() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_.size();
  }

  // ---- The directory that user/get and department/get serve ----

  void AddEmployee(const std::string& userid, const std::string& name, int64_t department,
                   const std::string& department_name) {
    std::lock_guard<std::mutex> lock(mu_);
    employees_[userid] = {name, department};
    departments_[department] = department_name;
  }
  int user_get_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return user_get_calls_;
  }

  // ---- Knobs ----

  // Entries per sync_msg page at most (besides the caller's limit).
  void set_page_size(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    page_size_ = n;
  }
  // Every token issued so far answers 42001 (expired) from now on.
  void ExpireTokens() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [token, valid] : tokens_) valid = false;
  }
  // The next `n` calls of `api` ("sync_msg", "send_msg", "gettoken") fail: with HTTP `http_status`
  // when it is not 200, else with errcode `errcode` (-1 is WeCom's "system busy").
  // `skip` calls succeed first.
  void FailNext(const std::string& api, int n, int http_status, int errcode = -1, int skip = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_[api] = Failure{n, http_status, errcode, skip};
  }

  // ---- Observations ----

  std::vector<Sent> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  // Waits until at least `n` accepted sends were recorded.
  bool WaitSent(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return accepted_ >= n; });
  }
  size_t accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }
  int rule_violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return rule_violations_;
  }
  int gettoken_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return gettoken_calls_;
  }
  int expired_token_answers() {
    std::lock_guard<std::mutex> lock(mu_);
    return expired_answers_;
  }
  std::vector<std::string> sync_requests() {  // the cursor of each sync_msg call ("" for none)
    std::lock_guard<std::mutex> lock(mu_);
    return sync_cursors_;
  }
  std::vector<std::string> sync_tokens() {  // the callback token of each sync_msg call
    std::lock_guard<std::mutex> lock(mu_);
    return sync_tokens_;
  }

  // ---- WeCom's side of the callback ----

  // The self-built app's callbacks (接收消息): an employee's text, a message of another MsgType
  // (with a MediaId), an event.
  static std::string AppText(const std::string& user, const std::string& text, const std::string& msgid,
                             int64_t agent_id = kWeComAgentId) {
    return "<xml><ToUserName>" + XmlCdata(kWeComCorpId) + "</ToUserName><FromUserName>" + XmlCdata(user) +
           "</FromUserName><CreateTime>1700000000</CreateTime><MsgType>" + XmlCdata("text") + "</MsgType><Content>" +
           XmlCdata(text) + "</Content><MsgId>" + msgid + "</MsgId><AgentID>" + std::to_string(agent_id) +
           "</AgentID></xml>";
  }
  static std::string AppMedia(const std::string& user, const std::string& msgtype, const std::string& msgid) {
    return "<xml><ToUserName>" + XmlCdata(kWeComCorpId) + "</ToUserName><FromUserName>" + XmlCdata(user) +
           "</FromUserName><CreateTime>1700000000</CreateTime><MsgType>" + XmlCdata(msgtype) + "</MsgType><MediaId>" +
           XmlCdata("MEDIA_" + msgid) + "</MediaId><MsgId>" + msgid + "</MsgId><AgentID>" +
           std::to_string(kWeComAgentId) + "</AgentID></xml>";
  }
  static std::string AppEvent(const std::string& user, const std::string& event, int64_t create_time) {
    return "<xml><ToUserName>" + XmlCdata(kWeComCorpId) + "</ToUserName><FromUserName>" + XmlCdata(user) +
           "</FromUserName><CreateTime>" + std::to_string(create_time) + "</CreateTime><MsgType>" + XmlCdata("event") +
           "</MsgType><Event>" + XmlCdata(event) + "</Event><EventKey>" + XmlCdata("") + "</EventKey><AgentID>" +
           std::to_string(kWeComAgentId) + "</AgentID></xml>";
  }
  // A click on the button `key` of the card `task_id` (a template_card_event, with the nested
  // SelectedItems that WeCom's card events carry).
  static std::string AppCardClick(const std::string& user, const std::string& task_id, const std::string& key) {
    return "<xml><ToUserName>" + XmlCdata(kWeComCorpId) + "</ToUserName><FromUserName>" + XmlCdata(user) +
           "</FromUserName><CreateTime>1700000001</CreateTime><MsgType>" + XmlCdata("event") + "</MsgType><Event>" +
           XmlCdata("template_card_event") + "</Event><EventKey>" + XmlCdata(key) + "</EventKey><TaskId>" +
           XmlCdata(task_id) + "</TaskId><CardType>" + XmlCdata("button_interaction") + "</CardType><ResponseCode>" +
           XmlCdata("RESPONSECODE") + "</ResponseCode><AgentID>" + std::to_string(kWeComAgentId) +
           "</AgentID><SelectedItems></SelectedItems></xml>";
  }
  // POSTs `inner` (one of the above), encrypted by `crypto`, to kefu's app callback route of
  // `desk`, stamped `timestamp` with `nonce`; `tamper` spoils the signature.
  static httplib::Result PostAppCallback(int kefu_port, const std::string& desk, const WeComCrypto& crypto,
                                         const std::string& inner, int64_t timestamp, const std::string& nonce,
                                         bool tamper = false) {
    const std::string encrypted = crypto.Encrypt(inner);
    const std::string body = "<xml><ToUserName>" + XmlCdata(crypto.receiver_id()) + "</ToUserName><Encrypt>" +
                             XmlCdata(encrypted) + "</Encrypt><AgentID>" + XmlCdata(std::to_string(kWeComAgentId)) +
                             "</AgentID></xml>";
    httplib::Client c("127.0.0.1", kefu_port);
    c.set_read_timeout(10, 0);
    return c.Post(("/v1/channels/wecom-app/" + desk + "/callback" +
                   CallbackQuery(crypto, encrypted, tamper, std::to_string(timestamp), nonce)).c_str(),
                  body, "text/xml");
  }

  // The encrypted kf_msg_or_event announcement, as WeCom POSTs it. `crypto` encrypts (a crypto
  // for another corp id gives a wrong receiver); `tamper` spoils the signature.
  static std::string CallbackQuery(const WeComCrypto& crypto, const std::string& encrypted, bool tamper,
                                   const std::string& timestamp = "1700000000", const std::string& nonce = "12345") {
    std::string signature = crypto.Signature(timestamp, nonce, encrypted);
    if (tamper) signature[0] = signature[0] == 'a' ? 'b' : 'a';
    return "?msg_signature=" + signature + "&timestamp=" + timestamp + "&nonce=" + nonce;
  }
  static std::string CallbackBody(const WeComCrypto& crypto, const std::string& callback_token,
                                  const std::string& open_kfid, std::string* encrypted_out) {
    const std::string inner = "<xml><ToUserName>" + XmlCdata(crypto.receiver_id()) +
                              "</ToUserName><CreateTime>1700000000</CreateTime><MsgType>" + XmlCdata("event") +
                              "</MsgType><Event>" + XmlCdata("kf_msg_or_event") + "</Event><Token>" +
                              XmlCdata(callback_token) + "</Token>" +
                              (open_kfid.empty() ? "" : "<OpenKfId>" + XmlCdata(open_kfid) + "</OpenKfId>") +
                              "</xml>";
    *encrypted_out = crypto.Encrypt(inner);
    return "<xml><ToUserName>" + XmlCdata(crypto.receiver_id()) + "</ToUserName><Encrypt>" +
           XmlCdata(*encrypted_out) + "</Encrypt><AgentID>" + XmlCdata("") + "</AgentID></xml>";
  }
  // POSTs an announcement to kefu's callback route of `desk`, stamped `timestamp` (Unix seconds;
  // kefu refuses one far from its clock), naming `open_kfid` (none when empty: the form WeCom
  // documented first).
  static httplib::Result PostCallback(int kefu_port, const std::string& desk, const WeComCrypto& crypto,
                                      const std::string& callback_token = "ENCCALLBACKTOKEN", bool tamper = false,
                                      int64_t timestamp = 1700000000, const std::string& open_kfid = kOpenKfId) {
    std::string encrypted;
    const std::string body = CallbackBody(crypto, callback_token, open_kfid, &encrypted);
    httplib::Client c("127.0.0.1", kefu_port);
    c.set_read_timeout(10, 0);
    return c.Post(("/v1/channels/wecom/" + desk + "/callback" +
                   CallbackQuery(crypto, encrypted, tamper, std::to_string(timestamp))).c_str(),
                  body, "text/xml");
  }

 private:
  struct Failure {
    int remaining = 0;
    int http_status = 200;
    int errcode = -1;
    int skip = 0;
  };

  int64_t Now() const { return clock_->NowMicros() / kMicrosPerSecond; }

  static void Answer(httplib::Response& res, const std::string& json) { res.set_content(json, "application/json"); }
  static void Errcode(httplib::Response& res, int errcode, const std::string& errmsg) {
    Answer(res, "{\"errcode\":" + std::to_string(errcode) + ",\"errmsg\":\"" + errmsg + "\"}");
  }

  // REQUIRES(mu_). True when the call must fail (the answer is written).
  bool Injected(const std::string& api, httplib::Response& res) {
    auto it = failures_.find(api);
    if (it == failures_.end() || it->second.remaining <= 0) return false;
    if (it->second.skip > 0) {
      --it->second.skip;
      return false;
    }
    --it->second.remaining;
    if (it->second.http_status != 200) {
      res.status = it->second.http_status;
      res.set_content("busy", "text/plain");
    } else {
      Errcode(res, it->second.errcode, "injected failure");
    }
    return true;
  }

  // REQUIRES(mu_). True when the access token is good (else the answer is written).
  bool TokenOk(const httplib::Request& req, httplib::Response& res) {
    auto it = tokens_.find(req.get_param_value("access_token"));
    if (it == tokens_.end()) {
      Errcode(res, 40014, "invalid access_token");
      return false;
    }
    if (!it->second) {
      ++expired_answers_;
      Errcode(res, 42001, "access_token expired");
      return false;
    }
    return true;
  }

  void GetToken(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++gettoken_calls_;
    if (Injected("gettoken", res)) return;
    if (req.get_param_value("corpid") != kWeComCorpId) return Errcode(res, 40013, "invalid corpid");
    const std::string secret = req.get_param_value("corpsecret");
    if (secret != kWeComSecret && secret != kWeComAppSecret) return Errcode(res, 40001, "invalid credential");
    const std::string token = "TOKEN" + std::to_string(tokens_.size() + 1);
    tokens_[token] = true;
    Answer(res, "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"" + token + "\",\"expires_in\":7200}");
  }

  void SyncMsg(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Injected("sync_msg", res)) return;
    if (!TokenOk(req, res)) return;
    rapidjson::Document d;
    d.Parse(req.body.c_str());
    CHECK(d.IsObject());
    if (!d.IsObject()) return Errcode(res, 47001, "bad json");
    const std::string cursor = d.HasMember("cursor") ? d["cursor"].GetString() : "";
    sync_cursors_.push_back(cursor);
    sync_tokens_.push_back(d.HasMember("token") ? d["token"].GetString() : "");
    const size_t limit = d.HasMember("limit") && d["limit"].IsUint() ? d["limit"].GetUint() : 1000;
    CHECK(limit >= 1);
    CHECK(limit <= 1000);
    // open_kfid is optional (WeCom: without it, the messages of every account the app may read).
    CHECK((!d.HasMember("open_kfid") || std::string(d["open_kfid"].GetString()) == kOpenKfId));
    size_t from = cursor.empty() ? 0 : std::stoul(cursor.substr(1));
    const size_t n = std::min({limit, page_size_, log_.size() > from ? log_.size() - from : 0});
    std::string list = "[";
    for (size_t i = 0; i < n; ++i) list += (i ? "," : "") + log_[from + i];
    list += "]";
    const size_t next = from + n;
    Answer(res, "{\"errcode\":0,\"errmsg\":\"ok\",\"next_cursor\":\"c" + std::to_string(next) +
                    "\",\"has_more\":" + (next < log_.size() ? "1" : "0") + ",\"msg_list\":" + list + "}");
  }

  void Send(const httplib::Request& req, httplib::Response& res, const std::string& api) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Injected(api, res)) return;
    if (!TokenOk(req, res)) return;
    rapidjson::Document d;
    d.Parse(req.body.c_str());
    CHECK(d.IsObject());
    if (!d.IsObject()) return Errcode(res, 47001, "bad json");
    Sent s;
    s.api = api;
    auto str = [&](const rapidjson::Value& o, const char* name) {
      return o.IsObject() && o.HasMember(name) && o[name].IsString() ? std::string(o[name].GetString()) : "";
    };
    s.touser = str(d, "touser");
    s.open_kfid = str(d, "open_kfid");
    s.msgid = str(d, "msgid");
    s.msgtype = str(d, "msgtype");
    s.code = str(d, "code");
    static const rapidjson::Value kNull;
    auto member = [](const rapidjson::Value& o, const char* name) -> const rapidjson::Value& {
      return o.IsObject() && o.HasMember(name) ? o[name] : kNull;
    };
    if (s.msgtype == "text") s.text = str(member(d, "text"), "content");
    if (s.msgtype == "msgmenu") {
      const rapidjson::Value& menu = member(d, "msgmenu");
      s.text = str(menu, "head_content");
      const rapidjson::Value& list = member(menu, "list");
      CHECK(list.IsArray());
      for (rapidjson::SizeType i = 0; list.IsArray() && i < list.Size(); ++i) {
        CHECK(str(list[i], "type") == "click");
        s.menu.emplace_back(str(member(list[i], "click"), "id"), str(member(list[i], "click"), "content"));
      }
    }
    CHECK(s.msgid.size() <= 32);
    CHECK(s.text.size() <= (s.msgtype == "msgmenu" ? 1024u : 2048u));
    if (!s.msgid.empty() && !msgids_.insert(s.msgid).second) {
      s.errcode = 95001;  // the fake's answer to a repeated msgid
    } else if (api == "send_msg") {
      // WeCom's rule: within 48 hours of the customer's last message, at most 5 per message.
      auto last = last_in_.find(s.touser);
      if (last == last_in_.end() || Now() - last->second > 48 * 3600 || sends_since_[s.touser] >= 5) {
        s.errcode = kFakeRuleErrcode;
        ++rule_violations_;
      } else {
        ++sends_since_[s.touser];
      }
    } else if (welcome_codes_.erase(s.code) == 0) {
      s.errcode = 95002;  // an unknown or used code
    }
    sent_.push_back(s);
    if (s.errcode != 0) return Errcode(res, s.errcode, "refused");
    ++accepted_;
    cv_.notify_all();
    Answer(res, "{\"errcode\":0,\"errmsg\":\"ok\",\"msgid\":\"" + s.msgid + "\"}");
  }

  // message/send of the self-built app: a text to an employee (the app's rate limits are injected
  // with FailNext("message/send", n, 200, 45009)).
  void AppSend(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Injected("message/send", res)) return;
    if (!TokenOk(req, res)) return;
    rapidjson::Document d;
    d.Parse(req.body.c_str());
    CHECK(d.IsObject());
    if (!d.IsObject()) return Errcode(res, 47001, "bad json");
    Sent s;
    s.api = "message/send";
    s.touser = d.HasMember("touser") && d["touser"].IsString() ? d["touser"].GetString() : "";
    s.msgtype = d.HasMember("msgtype") && d["msgtype"].IsString() ? d["msgtype"].GetString() : "";
    s.agentid = d.HasMember("agentid") && d["agentid"].IsInt64() ? d["agentid"].GetInt64() : 0;
    if (s.msgtype == "text" && d.HasMember("text") && d["text"].IsObject() && d["text"].HasMember("content")) {
      s.text = d["text"]["content"].GetString();
    }
    if (s.msgtype == "template_card" && d.HasMember("template_card") && d["template_card"].IsObject()) {
      const rapidjson::Value& card = d["template_card"];  // button_interaction: (key, text) into menu
      CHECK(std::string(card["card_type"].GetString()) == "button_interaction");
      s.msgid = card["task_id"].GetString();
      s.text = std::string(card["main_title"]["title"].GetString()) + "\n" +
               (card.HasMember("sub_title_text") ? card["sub_title_text"].GetString() : "");
      const rapidjson::Value& buttons = card["button_list"];
      CHECK(buttons.Size() <= 6u);
      for (rapidjson::SizeType i = 0; i < buttons.Size(); ++i) {
        s.menu.emplace_back(buttons[i]["key"].GetString(), buttons[i]["text"].GetString());
      }
      if (!msgids_.insert(s.msgid).second) s.errcode = 40058;  // a task_id used before
    }
    CHECK(s.text.size() <= 2048u);
    if (s.agentid != kWeComAgentId) s.errcode = 301002;  // not the app of this token
    if (s.touser.empty() || s.text.empty()) s.errcode = 40008;
    sent_.push_back(s);
    if (s.errcode != 0) return Errcode(res, s.errcode, "refused");
    ++accepted_;
    cv_.notify_all();
    Answer(res, "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"\",\"msgid\":\"m" + std::to_string(accepted_) + "\"}");
  }

  void UserGet(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++user_get_calls_;
    if (Injected("user/get", res)) return;
    if (!TokenOk(req, res)) return;
    auto it = employees_.find(req.get_param_value("userid"));
    if (it == employees_.end()) return Errcode(res, 60111, "userid not found");
    JsonWriter w;
    w.BeginObject().Field("errcode", 0).Field("errmsg", "ok").Field("userid", it->first).Field("name", it->second.first);
    w.Key("department").BeginArray().Int(it->second.second).EndArray();
    w.Field("main_department", it->second.second).EndObject();
    Answer(res, w.Take());
  }

  void DepartmentGet(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!TokenOk(req, res)) return;
    auto it = departments_.find(std::stoll("0" + req.get_param_value("id")));
    if (it == departments_.end()) return Errcode(res, 60123, "invalid party id");
    JsonWriter w;
    w.BeginObject().Field("errcode", 0).Field("errmsg", "ok").Key("department").BeginObject();
    w.Field("id", it->first).Field("name", it->second).Field("parentid", int64_t{1}).EndObject().EndObject();
    Answer(res, w.Take());
  }

  Clock* clock_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> log_;  // sync_msg entries (JSON objects)
  size_t page_size_ = 1000;
  int next_msgid_ = 0;
  std::map<std::string, bool> tokens_;  // token -> still valid
  std::map<std::string, Failure> failures_;
  std::map<std::string, int64_t> last_in_;  // user -> their last message (seconds)
  std::map<std::string, int> sends_since_;
  std::map<std::string, std::string> welcome_codes_;
  std::set<std::string> msgids_;
  std::vector<Sent> sent_;
  size_t accepted_ = 0;
  int rule_violations_ = 0;
  int gettoken_calls_ = 0;
  int expired_answers_ = 0;
  std::vector<std::string> sync_cursors_, sync_tokens_;
  std::map<std::string, std::pair<std::string, int64_t>> employees_;  // userid -> (name, department)
  std::map<int64_t, std::string> departments_;
  int user_get_calls_ = 0;
};

}  // namespace kefu::testing

#endif  // KEFU_TESTS_WECOM_FAKE_WECOM_H_
