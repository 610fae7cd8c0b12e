// The WeCom platform's HTTP API, against a configurable base URL (WeCom's
// https://qyapi.weixin.qq.com, or a test's fake platform): the access token and any call with it
// (Get, Post), and the calls of the customer-service (微信客服) channel: kf/sync_msg, kf/send_msg
// and kf/send_msg_on_event. The self-built app's calls build on it (wecom_app_api.h).
//
// The access token is fetched with the corp id and the secret (of the customer-service or of an app), cached until
// shortly before it expires, and fetched again (once per call) when the platform answers that it
// is invalid or expired (errcodes 40014, 42001, 41001, 42009). Transient failures (network, HTTP
// 5xx, errcode -1 "system busy", 45009 "too frequent", 45033 "too many at once") are retried with exponential backoff.
//
// Thread-safe: calls may come from several threads; the token cache has its own lock.
#ifndef KEFU_ADAPTERS_WECOM_WECOM_API_H_
#define KEFU_ADAPTERS_WECOM_WECOM_API_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/clock.h"

namespace kefu {

struct WeComClientOptions {
  // Connect, read and write timeout of one request, seconds. Default 5.
  int timeout_seconds = 5;
  // Attempts per call when the failure is transient, the first included, with backoff starting
  // at `backoff_millis` and doubling. Default 3 and 200 ms: a call gives up within about a second.
  int max_attempts = 3;
  int64_t backoff_millis = 200;
  // A token is renewed this long before its expires_in runs out. Default 300 s.
  int64_t token_margin_seconds = 300;
  // Largest response body accepted, bytes. Default 16 MiB (a sync_msg page of 1,000 messages).
  size_t max_response_bytes = size_t{16} << 20;
};

// One entry of sync_msg's msg_list, with the fields the channel reads.
struct WeComMessage {
  std::string msgid;
  std::string open_kfid;
  std::string external_userid;
  int64_t send_time = 0;  // unix seconds
  int origin = 0;         // 3 the customer, 4 a system event, 5 a servicer in the WeCom client
  std::string msgtype;    // "text", "event", "image", ...
  std::string text;       // text.content
  std::string menu_id;    // text.menu_id: the customer clicked this msgmenu item
  std::string event_type;    // event.event_type: "enter_session", "msg_send_fail", ...
  std::string welcome_code;  // event.welcome_code (enter_session)
  std::string fail_msgid;    // event.fail_msgid (msg_send_fail)
  int fail_type = 0;         // event.fail_type (msg_send_fail)
  bool malformed = false;    // the entry could not be read (it is skipped, not retried)
};

struct WeComSyncPage {
  std::string next_cursor;
  bool has_more = false;
  std::vector<WeComMessage> messages;
};

// One send_msg: a text, or a menu (msgmenu) when `menu` is not empty.
struct WeComOutgoing {
  std::string touser;     // external_userid
  std::string open_kfid;
  std::string msgid;      // ours, [0-9a-zA-Z_-]{1,32}: a resend of the same message is refused by WeCom
  std::string text;       // text.content, or the menu's head_content
  std::vector<std::pair<std::string, std::string>> menu;  // click items: (id, content)
};

// `s` with every byte but letters, digits and -_.~ percent-encoded, for a query value.
std::string WeComUrlEncode(std::string_view s);

// A WeCom errcode in a Status message reads "wecom errcode N: errmsg".
class WeComClient {
 public:
  WeComClient(std::string base_url, std::string corp_id, std::string secret, const Clock* clock,
              WeComClientOptions options = {});

  // One page of messages after `cursor` ("" from the oldest kept). `callback_token` is the Token
  // of the callback that announced them ("" allowed, at a stricter rate limit); `open_kfid` the
  // account ("": every account the app may read); `limit` 1..1000.
  Result<WeComSyncPage> SyncMsg(std::string_view cursor, std::string_view callback_token, std::string_view open_kfid,
                                int limit);
  // OK when WeCom accepted it. Unavailable when a transient failure outlived the retries (try
  // again later); InvalidArgument naming the errcode when WeCom refused the message.
  Status SendMsg(const WeComOutgoing& message);
  // A text answering an event's code (the enter_session welcome_code). As SendMsg.
  Status SendMsgOnEvent(std::string_view code, std::string_view msgid, std::string_view text);

  // Any call: GET `path` with `query` ("a=1&b=2", values URL-encoded by the caller; the token is
  // appended), or POST the JSON `body` to `path`. Returns the body of an errcode-0 answer.
  // Unavailable when a transient failure outlived the retries; Unauthenticated when the token
  // could not be had; InvalidArgument naming the errcode when WeCom refused the call.
  Result<std::string> Get(const std::string& path, const std::string& query);
  Result<std::string> Post(const std::string& path, const std::string& body);

  // Tokens fetched so far (tests check the cache).
  uint64_t token_fetches() const { return token_fetches_.load(); }

 private:
  struct Reply {
    int http_status = 0;
    std::string body;
  };
  Result<Reply> Request(const std::string& method, const std::string& path_and_query, const std::string& body);
  Result<std::string> AccessToken(bool force_refresh);
  // `method` `path` with the access token (and `query`, `body`); as Get and Post.
  Result<std::string> Call(const std::string& method, const std::string& path, const std::string& query,
                           const std::string& body);

  std::string origin_;  // scheme://host[:port]
  std::string prefix_;  // a path before /cgi-bin, usually ""
  std::string corp_id_;
  std::string secret_;
  const Clock* clock_;
  WeComClientOptions options_;
  std::mutex token_mu_;
  std::string token_;           // GUARDED_BY(token_mu_)
  int64_t token_expires_ = 0;   // GUARDED_BY(token_mu_), micros of clock_
  std::atomic<uint64_t> token_fetches_{0};
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_API_H_
