#include "adapters/wecom/wecom_api.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "base/json.h"

namespace kefu {
namespace {

// Access-token errors: invalid (40014), missing (41001), expired (42001, 42009).
bool IsTokenError(int64_t errcode) {
  return errcode == 40014 || errcode == 41001 || errcode == 42001 || errcode == 42009;
}
// Worth another attempt: system busy (-1), too frequent (45009), too many calls at once (45033),
// and HTTP-level failures.
bool IsTransientError(int64_t errcode) { return errcode == -1 || errcode == 45009 || errcode == 45033; }

struct Answer {
  int64_t errcode = 0;
  std::string errmsg;
  std::unique_ptr<JsonDocument> doc;
};

Result<Answer> ParseAnswer(const std::string& body) {
  auto doc = ParseJson(body);
  if (!doc.ok()) return Status::Unavailable("wecom: the answer is not JSON");
  auto o = JsonObject::From(**doc);
  if (!o.ok()) return Status::Unavailable("wecom: the answer is not a JSON object");
  Answer a;
  Status s = o->GetInt("errcode", Presence::kOptional, INT32_MIN, INT32_MAX, &a.errcode);
  if (s.ok()) s = o->GetString("errmsg", Presence::kOptional, &a.errmsg, 1000, true);
  if (!s.ok()) return Status::Unavailable("wecom: " + s.message());
  a.doc = std::move(*doc);
  return a;
}

Status ErrcodeStatus(const Answer& a) {
  const std::string what = "wecom errcode " + std::to_string(a.errcode) + ": " + a.errmsg;
  if (IsTransientError(a.errcode)) return Status::Unavailable(what);
  if (IsTokenError(a.errcode)) return Status::Unauthenticated(what);
  return Status::InvalidArgument(what);
}

std::string Str(const JsonObject& o, std::string_view name, bool* bad) {
  std::string v;
  if (!o.GetString(name, Presence::kOptional, &v, 100000, true).ok()) *bad = true;
  return v;
}
int64_t Int(const JsonObject& o, std::string_view name, bool* bad) {
  int64_t v = 0;
  if (!o.GetInt(name, Presence::kOptional, INT64_MIN, INT64_MAX, &v).ok()) *bad = true;
  return v;
}

WeComMessage ReadMessage(const rapidjson::Value& value) {
  WeComMessage m;
  auto o = JsonObject::From(value);
  if (!o.ok()) {
    m.malformed = true;
    return m;
  }
  bool bad = false;
  m.msgid = Str(*o, "msgid", &bad);
  m.open_kfid = Str(*o, "open_kfid", &bad);
  m.external_userid = Str(*o, "external_userid", &bad);
  m.send_time = Int(*o, "send_time", &bad);
  m.origin = static_cast<int>(Int(*o, "origin", &bad));
  m.msgtype = Str(*o, "msgtype", &bad);
  const rapidjson::Value* text = nullptr;
  if (m.msgtype == "text" && o->GetObject("text", Presence::kRequired, &text).ok()) {
    auto t = JsonObject::From(*text);
    m.text = Str(*t, "content", &bad);
    m.menu_id = Str(*t, "menu_id", &bad);
  }
  const rapidjson::Value* event = nullptr;
  if (m.msgtype == "event" && o->GetObject("event", Presence::kRequired, &event).ok()) {
    auto e = JsonObject::From(*event);
    m.event_type = Str(*e, "event_type", &bad);
    m.welcome_code = Str(*e, "welcome_code", &bad);
    m.fail_msgid = Str(*e, "fail_msgid", &bad);
    m.fail_type = static_cast<int>(Int(*e, "fail_type", &bad));
    // Events name the customer inside the event object.
    const std::string kfid = Str(*e, "open_kfid", &bad), user = Str(*e, "external_userid", &bad);
    if (m.open_kfid.empty()) m.open_kfid = kfid;
    if (m.external_userid.empty()) m.external_userid = user;
  }
  m.malformed = bad || m.msgid.empty() || m.msgtype.empty();
  return m;
}

}  // namespace

std::string WeComUrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '_' || c == '.' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

WeComClient::WeComClient(std::string base_url, std::string corp_id, std::string secret, const Clock* clock,
                         WeComClientOptions options)
    : corp_id_(std::move(corp_id)), secret_(std::move(secret)), clock_(clock), options_(options) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  const size_t scheme = base_url.find("://");
  const size_t path = base_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  origin_ = path == std::string::npos ? base_url : base_url.substr(0, path);
  prefix_ = path == std::string::npos ? "" : base_url.substr(path);
}

Result<WeComClient::Reply> WeComClient::Request(const std::string& method, const std::string& path_and_query,
                                                const std::string& body) {
  httplib::Client client(origin_);
  client.set_connection_timeout(options_.timeout_seconds, 0);
  client.set_read_timeout(options_.timeout_seconds, 0);
  client.set_write_timeout(options_.timeout_seconds, 0);
  client.set_url_encode(false);  // every query value is encoded here
  client.set_tcp_nodelay(true);
  httplib::Request req;
  req.method = method;
  req.path = prefix_ + path_and_query;
  if (method == "POST") {
    req.body = body;
    req.set_header("Content-Type", "application/json");
  }
  Reply reply;
  bool too_large = false;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (reply.body.size() + n > options_.max_response_bytes) {
      too_large = true;
      return false;
    }
    reply.body.append(data, n);
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  if (!client.send(req, res, error)) {
    if (too_large) return Status::Unavailable("wecom: the answer is larger than the limit");
    return Status::Unavailable("wecom: " + httplib::to_string(error));
  }
  reply.http_status = res.status;
  return reply;
}

Result<std::string> WeComClient::AccessToken(bool force_refresh) {
  std::lock_guard<std::mutex> lock(token_mu_);
  const int64_t now = clock_->NowMicros();
  if (!force_refresh && !token_.empty() && now < token_expires_) return token_;
  token_.clear();
  Status last = Status::Unavailable("wecom: gettoken was not tried");
  int64_t backoff = options_.backoff_millis;
  for (int attempt = 0; attempt < std::max(1, options_.max_attempts); ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff *= 2;
    }
    token_fetches_.fetch_add(1);
    auto reply = Request("GET", "/cgi-bin/gettoken?corpid=" + WeComUrlEncode(corp_id_) + "&corpsecret=" + WeComUrlEncode(secret_), "");
    if (!reply.ok()) {
      last = reply.status();
      continue;
    }
    if (reply->http_status >= 500) {
      last = Status::Unavailable("wecom: gettoken answered HTTP " + std::to_string(reply->http_status));
      continue;
    }
    auto answer = ParseAnswer(reply->body);
    if (!answer.ok()) {
      last = answer.status();
      continue;
    }
    if (answer->errcode != 0) {
      last = ErrcodeStatus(*answer).WithContext("gettoken");
      if (IsTransientError(answer->errcode)) continue;
      // A wrong corp id or secret will not get better by asking again.
      return Status::Unauthenticated(last.message());
    }
    auto o = JsonObject::From(*answer->doc);
    std::string token;
    int64_t expires_in = 7200;
    Status s = o->GetString("access_token", Presence::kRequired, &token, 1000);
    if (s.ok()) s = o->GetInt("expires_in", Presence::kOptional, 1, 365 * 24 * 3600, &expires_in);
    if (!s.ok()) return Status::Unavailable("wecom: gettoken: " + s.message());
    token_ = token;
    const int64_t lifetime = std::max<int64_t>(expires_in - options_.token_margin_seconds, expires_in / 2);
    token_expires_ = now + lifetime * kMicrosPerSecond;
    return token_;
  }
  return last;
}

Result<std::string> WeComClient::Get(const std::string& path, const std::string& query) {
  return Call("GET", path, query, "");
}

Result<std::string> WeComClient::Post(const std::string& path, const std::string& body) {
  return Call("POST", path, "", body);
}

Result<std::string> WeComClient::Call(const std::string& method, const std::string& path, const std::string& query,
                                      const std::string& body) {
  Status last = Status::Unavailable("wecom: not tried");
  int64_t backoff = options_.backoff_millis;
  bool refreshed = false;
  for (int attempt = 0; attempt < std::max(1, options_.max_attempts); ++attempt) {
    if (attempt > 0 && last.code() == Status::Code::kUnavailable) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff *= 2;
    }
    auto token = AccessToken(false);
    if (!token.ok()) return token.status();
    const std::string target =
        path + "?" + (query.empty() ? "" : query + "&") + "access_token=" + WeComUrlEncode(*token);
    auto reply = Request(method, target, body);
    if (!reply.ok()) {
      last = reply.status();
      continue;
    }
    if (reply->http_status >= 500 || reply->http_status == 429) {
      last = Status::Unavailable("wecom: HTTP " + std::to_string(reply->http_status) + " from " + path);
      continue;
    }
    auto answer = ParseAnswer(reply->body);
    if (!answer.ok()) {
      last = answer.status();
      continue;
    }
    if (answer->errcode == 0) return std::move(reply->body);
    last = ErrcodeStatus(*answer);
    if (IsTokenError(answer->errcode)) {
      // The cached token was revoked or expired early: fetch a new one, once per call.
      if (refreshed) return last;
      refreshed = true;
      auto fresh = AccessToken(true);
      if (!fresh.ok()) return fresh.status();
      --attempt;  // the retry with the new token does not count as an attempt
      continue;
    }
    if (!IsTransientError(answer->errcode)) return last;
  }
  return last;
}

Result<WeComSyncPage> WeComClient::SyncMsg(std::string_view cursor, std::string_view callback_token,
                                          std::string_view open_kfid, int limit) {
  JsonWriter w;
  w.BeginObject();
  if (!cursor.empty()) w.Field("cursor", cursor);
  if (!callback_token.empty()) w.Field("token", callback_token);
  w.Field("limit", static_cast<int64_t>(std::clamp(limit, 1, 1000)));
  if (!open_kfid.empty()) w.Field("open_kfid", open_kfid);  // none: every account's messages
  w.EndObject();
  auto body = Call("POST", "/cgi-bin/kf/sync_msg", "", w.Take());
  if (!body.ok()) return body.status();
  auto doc = ParseJson(*body);
  if (!doc.ok()) return Status::Unavailable("wecom: sync_msg: " + doc.status().message());
  auto o = JsonObject::From(**doc);
  WeComSyncPage page;
  int64_t has_more = 0;
  const rapidjson::Value* list = nullptr;
  Status s = o->GetString("next_cursor", Presence::kOptional, &page.next_cursor, 1000, true);
  if (s.ok()) s = o->GetInt("has_more", Presence::kOptional, 0, 1, &has_more);
  if (s.ok()) s = o->GetArray("msg_list", Presence::kOptional, &list);
  if (!s.ok()) return Status::Unavailable("wecom: sync_msg: " + s.message());
  page.has_more = has_more == 1;
  for (rapidjson::SizeType i = 0; list != nullptr && i < list->Size(); ++i) page.messages.push_back(ReadMessage((*list)[i]));
  return page;
}

Status WeComClient::SendMsg(const WeComOutgoing& m) {
  JsonWriter w;
  w.BeginObject().Field("touser", m.touser).Field("open_kfid", m.open_kfid);
  if (!m.msgid.empty()) w.Field("msgid", m.msgid);
  if (m.menu.empty()) {
    w.Field("msgtype", "text").Key("text").BeginObject().Field("content", m.text).EndObject();
  } else {
    w.Field("msgtype", "msgmenu").Key("msgmenu").BeginObject().Field("head_content", m.text).Key("list").BeginArray();
    for (const auto& [id, content] : m.menu) {
      w.BeginObject().Field("type", "click").Key("click").BeginObject().Field("id", id).Field("content", content);
      w.EndObject().EndObject();
    }
    w.EndArray().EndObject();
  }
  auto body = Call("POST", "/cgi-bin/kf/send_msg", "", w.EndObject().Take());
  return body.status();
}

Status WeComClient::SendMsgOnEvent(std::string_view code, std::string_view msgid, std::string_view text) {
  JsonWriter w;
  w.BeginObject().Field("code", code);
  if (!msgid.empty()) w.Field("msgid", msgid);
  w.Field("msgtype", "text").Key("text").BeginObject().Field("content", text).EndObject().EndObject();
  auto body = Call("POST", "/cgi-bin/kf/send_msg_on_event", "", w.Take());
  return body.status();
}

}  // namespace kefu
