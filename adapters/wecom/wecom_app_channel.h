// The WeCom self-built app (企业微信自建应用) channel: employees talk to kefu inside WeCom, in the
// app's chat. One WeComAppChannel serves every desk whose kefu.json has a "wecom_app" block.
//
// Inbound: WeCom calls GET|POST /v1/channels/wecom-app/{desk}/callback, checked like the
// customer-service callbacks (wecom_callback.h: replay guard, signature, AES, receiver id = corp
// id). Unlike 微信客服, a POST carries the message itself (接收消息: text, image, voice, video,
// file, location, link, or an event). Once checked, it is recorded durably in the desk's inbox
// (with its MsgId, or an event's sender, time and kind, marked seen in the same write) and the
// callback is answered; a callback whose MsgId was seen is answered and not recorded again, so
// WeCom's retries (it calls again when not answered within 5 seconds) are processed once. A
// per-desk thread works the inbox in order: a text goes to Engine::PostCustomerMessage (channel
// wecom; a bare number picks that clarify choice, and so does a click on a card's button, a
// template_card_event), a media message as a placeholder that the bot
// hands to a person, enter_agent (the employee opens the app) sends the desk's welcome at most
// once per greet_interval; other events are ignored. A restart finds the inbox as it was.
//
// Who: the employee's UserID (FromUserName) is the customer: "wecom:app/<corp_id>/<userid>", or
// with "identity": "app" the signed app user "app:<userid>" (the same conversation as the
// intranet widget whose JWT sub is the UserID). Their name and main department come from user/get
// and department/get (refreshed every profile_ttl) and are the conversation's customer_profile,
// which agents see ("张三 (人力资源部)").
//
// Outbound: each employee has one record of what was sent to them. The bot's replies go out right
// after the employee's message, agent replies and system messages (queue position, an agent
// joining) when the desk's thread sees them among the engine's live events; all through
// message/send with the app's agentid, as text (links appended, clarify choices numbered, long
// texts in parts of max_text_bytes; with "cards", clarify choices as a button_interaction card).
// A rate limit or other transient failure keeps the rest in
// order for a retry every retry_interval; nothing is dropped. A message WeCom refuses is skipped.
//
// Store records (engine side store "wa", prefix "<desk>/"): in/<arrival> (the inbox),
// seen/<MsgId or event key>, user/<userid> (conversation and delivery record).
//
// Several kefu processes on one store (PostgreSQL): any may record callbacks; the holder of the
// desk's lease (Store::TryLease) works its inbox and delivers, and rescans the inbox every second;
// the others try to take the lease every second.
//
// Thread-safe. Start after the engine is open; Stop before the engine is destroyed.
#ifndef KEFU_ADAPTERS_WECOM_WECOM_APP_CHANNEL_H_
#define KEFU_ADAPTERS_WECOM_WECOM_APP_CHANNEL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http_api.h"
#include "adapters/wecom/callback_guard.h"
#include "adapters/wecom/wecom_api.h"
#include "adapters/wecom/wecom_callback.h"
#include "base/status.h"
#include "engine/clock.h"
#include "engine/engine.h"

namespace kefu {

struct WeComAppOptions {
  // Largest callback body, bytes; larger is 413. Default 16 KiB (a callback is under 2 KiB).
  size_t max_callback_bytes = size_t{16} << 10;
  // Inbox entries and deliveries that failed for a transient reason (a rate limit, the network)
  // are tried again this often, milliseconds. Default 5,000.
  int64_t retry_interval_millis = 5000;
  // How long processed MsgIds are remembered. Default 4 days (WeCom retries within minutes).
  int64_t seen_ttl_micros = 4 * 24 * kMicrosPerHour;
  // Replays, as WeComOptions: timestamps further than this from kefu's clock are refused (401),
  // and so is a (timestamp, nonce, signature) accepted before. Default 300 s.
  int64_t callback_window_seconds = 300;
  size_t max_remembered_callbacks = 100000;
  // Longest text of one message/send, bytes (WeCom: 2,048); longer messages go out in parts.
  size_t max_text_bytes = 2048;
  // An employee's name and department are read again after this. Default 1 day.
  int64_t profile_ttl_micros = 24 * kMicrosPerHour;
  // enter_agent greets an employee at most once in this. Default 1 day.
  int64_t greet_interval_micros = 24 * kMicrosPerHour;
  // The platform client: timeouts, retries, token renewal.
  WeComClientOptions client;
  // One line on stderr per problem (refused sends, skipped callbacks). Default on.
  bool log = true;
};

class WeComAppChannel {
 public:
  // Serves the desks of `engine` that configure "wecom_app". `engine` and `clock` (the engine's)
  // must outlive this object. Nothing is processed until Start; callbacks are recorded before.
  WeComAppChannel(Engine* engine, const Clock* clock, WeComAppOptions options = {});
  ~WeComAppChannel();  // Stop()
  WeComAppChannel(const WeComAppChannel&) = delete;
  WeComAppChannel& operator=(const WeComAppChannel&) = delete;

  // Whether any desk configures the app.
  bool enabled() const { return !desks_.empty(); }

  // Adds GET and POST /v1/channels/wecom-app/{desk}/callback to `api` (call before it serves):
  // 404 for a desk without the app, 401 for a wrong signature or corp id, a stale timestamp or a
  // replay, 400 when malformed; a good POST is answered 200 with an empty body.
  void RegisterRoutes(HttpApi* api);

  // Starts one thread per desk (inbox, deliveries, the lease). Call once.
  Status Start();
  // Stops the threads (a send in flight finishes first). Safe to call more than once.
  void Stop();

  // The GET verification: the plain text of `echostr`. NotFound for a desk without the app; else
  // as OpenUrlVerification.
  Result<std::string> VerifyUrl(std::string_view desk, const CallbackParams& p, std::string_view echostr);
  // A POST callback: verified, decrypted and recorded in the inbox (durably, before it returns).
  // Errors as VerifyUrl; when it fails nothing is recorded or processed.
  Status HandleCallback(std::string_view desk, const CallbackParams& p, std::string_view body);

  // Waits up to `timeout` until every desk's inbox is empty (tests). True when idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

  struct Stats {
    uint64_t callbacks = 0;   // accepted POST callbacks
    uint64_t rejected = 0;    // callbacks and verifications refused
    uint64_t duplicates = 0;  // callbacks whose MsgId was seen before
    uint64_t messages = 0;    // employee messages given to the engine
    uint64_t sent = 0;        // message/send calls accepted
    uint64_t refused = 0;     // sends WeCom refused (skipped)
    uint64_t deferred = 0;    // times a delivery or an inbox entry had to wait for a retry
  };
  Stats stats() const;

 private:
  struct Desk;
  struct UserRecord;
  struct Inbound;

  Desk* FindDesk(std::string_view id);
  void DeskLoop(Desk* d);
  bool HoldLease(Desk& d);
  Status LoadUsers(Desk& d);
  // Works the inbox in order; stops at the first entry that failed for a transient reason.
  void WorkInbox(Desk& d);
  Status Process(Desk& d, const Inbound& in);
  // An employee's text, a placeholder or a click; `choice`: the KB entry a card's button named.
  Status OnText(Desk& d, const Inbound& in, std::string text, const std::string& choice = "");
  Status OnEnterAgent(Desk& d, const Inbound& in);
  Result<UserRecord> EnsureConversation(Desk& d, const std::string& userid);
  CustomerProfile Profile(Desk& d, const std::string& userid);
  Status SaveRecord(Desk& d, const std::string& userid, const UserRecord& r);
  void Deliver(Desk& d, const std::string& userid);
  void FollowEvents(Desk& d, uint64_t* after, bool catch_up);
  Status PruneSeen(Desk& d);
  void Log(const std::string& line) const;

  Engine* engine_;
  SideStore side_;
  const Clock* clock_;
  WeComAppOptions options_;
  CallbackGuard replays_;
  std::vector<std::unique_ptr<Desk>> desks_;  // fixed after construction
  std::atomic<uint64_t> arrivals_{0};         // makes inbox keys of one microsecond unique
  std::atomic<bool> stop_{false};
  bool started_ = false;

  struct Counters {
    std::atomic<uint64_t> callbacks{0}, rejected{0}, duplicates{0}, messages{0}, sent{0}, refused{0}, deferred{0};
  };
  mutable Counters counters_;
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_APP_CHANNEL_H_
