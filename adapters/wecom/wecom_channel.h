// The WeCom customer-service (微信客服) channel: kefu as the "smart assistant" (智能助手) of a WeCom
// customer-service account, with kefu's own queue and agents behind it. One WeComChannel serves
// every desk whose kefu.json has a "wecom" block.
//
// Inbound: WeCom calls GET|POST /v1/channels/wecom/{desk}/callback. GET verifies the URL (the
// decrypted echostr is the answer). A POST carries an encrypted event that only announces new
// messages (kf_msg_or_event with a Token and an OpenKfId); once its signature, encryption and
// receiver id check out, the announcement is stored and the callback answered at once. A puller
// thread then reads the account's messages with sync_msg from the stored cursor (pages of up to
// 1,000 while has_more), hands each customer text to Engine::PostCustomerMessage (channel wecom;
// a msgmenu click selects its clarify choice) and stores the cursor after each page. Every msgid
// is remembered, and the engine also drops a repeated client_msg_id, so a repeated callback, a
// repeated msgid or a restart between callback and pull processes nothing twice and skips nothing.
//
// Outbound: each customer (open_kfid + external_userid) has one kefu conversation and a record of
// what was sent to them. Bot replies go out right after the customer's message, agent replies and
// system messages when a per-desk thread sees them among the engine's live events; all of them
// through one ordered path that sends what the record has not sent yet, with send_msg (text, or
// msgmenu for clarify choices and quick replies, whose item ids are the KB entry ids). WeCom's
// rules are kept: nothing is sent later than 48 hours after the customer's last message, and at
// most 5 messages per customer message; what cannot go out waits (in order) for the customer's
// next message. enter_session events get the desk's welcome through send_msg_on_event.
//
// States: kefu's states are reported as WeCom's service_state numbers (WeComServiceState in
// engine/model.h; the conversation JSON's "service_state"). The adapter does not move WeCom's
// own session state: WeCom lets an API send only while a session is "new" (0) or "with the smart
// assistant" (1), and kefu's queue and agents are kefu's, not WeCom servicers.
//
// Store records (prefix "w/<desk>/"): cursor/<open_kfid>, pending/<open_kfid> (an announced pull),
// seen/<msgid>, user/<open_kfid>/<external_userid> (conversation and delivery record).
//
// Several kefu processes on one store (PostgreSQL): callbacks may land on any of them and are
// recorded by the one they reach, but only the holder of the channel's lease (Store::TryLease
// "puller", one per deployment) pulls and delivers, so each account has one puller. The holder
// rescans the pending/ records every second for callbacks other processes recorded; the others
// try to take the lease every second, so when its holder dies (its database session ends)
// another process takes over within about a second, from the stored cursors.
//
// Thread-safe. Start after the engine is open; Stop before the engine is destroyed.
#ifndef KEFU_ADAPTERS_WECOM_WECOM_CHANNEL_H_
#define KEFU_ADAPTERS_WECOM_WECOM_CHANNEL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/http_api.h"
#include "adapters/wecom/callback_guard.h"
#include "adapters/wecom/wecom_api.h"
#include "base/status.h"
#include "engine/clock.h"
#include "engine/engine.h"

namespace kefu {

struct WeComOptions {
  // Largest callback body, bytes; larger is 413. Default 16 KiB (a callback is under 1 KiB).
  size_t max_callback_bytes = size_t{16} << 10;
  // sync_msg page size, 1..1000. Default 1000 (WeCom's maximum).
  int sync_limit = 1000;
  // WeCom's sending rules: how long after the customer's last message, and how many messages per
  // customer message. Defaults 48 hours and 5; lower them only to be stricter than WeCom.
  int64_t send_window_micros = 48 * kMicrosPerHour;
  int max_sends_per_customer_message = 5;
  // Pulls and deliveries that failed for a transient reason are tried again this often,
  // milliseconds. Default 5,000.
  int64_t retry_interval_millis = 5000;
  // How long processed msgids are remembered. Default 4 days (sync_msg serves 3 days).
  int64_t seen_ttl_micros = 4 * 24 * kMicrosPerHour;
  // Replays: a callback (or URL verification) whose timestamp is further than this from kefu's
  // clock is refused (401), and so is one whose (timestamp, nonce, signature) was accepted before
  // (adapters/wecom/callback_guard.h). Default 300 s: WeCom sends at once; clocks run on NTP.
  int64_t callback_window_seconds = 300;
  // Accepted callbacks remembered at most (the oldest go first; each leaves anyway once its
  // timestamp is out of the window). Default 100,000: far above WeCom's rate over 10 minutes.
  size_t max_remembered_callbacks = 100000;
  // A callback's Token is passed to sync_msg while younger than this (WeCom: 10 minutes).
  int64_t callback_token_ttl_micros = 9 * kMicrosPerMinute;
  // Longest text of one send_msg, bytes (WeCom: 2,048); longer messages go out in parts.
  size_t max_text_bytes = 2048;
  // The platform client: timeouts, retries, token renewal.
  WeComClientOptions client;
  // One line on stderr per problem (refused sends, malformed messages). Default on.
  bool log = true;
};

class WeComChannel {
 public:
  // Serves the desks of `engine` that configure "wecom". `engine` and `clock` (the engine's) must
  // outlive this object. Nothing runs until Start.
  WeComChannel(Engine* engine, const Clock* clock, WeComOptions options = {});
  ~WeComChannel();  // Stop()
  WeComChannel(const WeComChannel&) = delete;
  WeComChannel& operator=(const WeComChannel&) = delete;

  // Whether any desk configures WeCom.
  bool enabled() const { return !desks_.empty(); }

  // Adds GET and POST /v1/channels/wecom/{desk}/callback to `api` (call before it serves).
  // Errors are the API's JSON errors: 404 for a desk without WeCom, 401 for a wrong signature or
  // corp id, 400 for a malformed request; a good POST is answered 200 with an empty body.
  void RegisterRoutes(HttpApi* api);

  // Takes the lease when free and then starts the puller and one live-event follower per WeCom
  // desk, resumes the pulls that were announced before a restart, and catches up deliveries; from
  // then on, checks the lease every second (see the file comment). The store's error when its
  // records cannot be read. Call once.
  Status Start();
  // Stops the threads (a pull or send in flight finishes first). Safe to call more than once.
  void Stop();

  // The GET verification: the plain text of `echostr`. NotFound for a desk without WeCom,
  // Unauthenticated for a wrong signature or corp id, a timestamp outside the window or a replay,
  // InvalidArgument when malformed.
  Result<std::string> VerifyUrl(std::string_view desk, std::string_view msg_signature, std::string_view timestamp,
                                std::string_view nonce, std::string_view echostr);
  // A POST callback: verified, decrypted, and (for kf_msg_or_event) recorded and queued for a
  // pull. Errors as VerifyUrl; when it fails nothing is recorded or processed.
  Status HandleCallback(std::string_view desk, std::string_view msg_signature, std::string_view timestamp,
                        std::string_view nonce, std::string_view body);

  // Waits up to `timeout` until no pull is queued or running (tests). True when idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

  struct Stats {
    uint64_t callbacks = 0;   // accepted POST callbacks
    uint64_t rejected = 0;    // callbacks and verifications refused
    uint64_t pages = 0;       // sync_msg pages read
    uint64_t messages = 0;    // customer texts given to the engine
    uint64_t duplicates = 0;  // msgids processed before
    uint64_t sent = 0;        // send_msg and send_msg_on_event calls accepted
    uint64_t refused = 0;     // sends WeCom refused (skipped)
    uint64_t held = 0;        // times a delivery had to wait for the window or the limit
  };
  Stats stats() const;

 private:
  struct Desk;
  struct UserRecord;
  struct PullTask {
    std::string token;
    int64_t token_at = 0;  // clock micros of the callback
    std::chrono::steady_clock::time_point due;
  };

  Desk* FindDesk(std::string_view id);
  // The lease: Activate starts the work once the lease is taken, Deactivate stops it (the lease
  // lost, or Stop); LeaseLoop runs LeaseTick every second until Stop.
  Status Activate();
  void Deactivate();
  void LeaseLoop();
  void LeaseTick();
  // Reads a desk's records: every pending/ pull is queued; with `all`, also the user/ records and
  // a catch-up pull of every account with a cursor.
  Status LoadRecords(Desk& d, bool all);
  void PullLoop();
  void FollowLoop(Desk* d);
  void Enqueue(Desk* d, const std::string& open_kfid, const std::string& token, int64_t token_at,
               std::chrono::steady_clock::time_point due);
  Status Pull(Desk& d, const std::string& open_kfid, const PullTask& task);
  Status HandleMessage(Desk& d, const WeComMessage& m);
  Status OnCustomerText(Desk& d, const WeComMessage& m);
  Status OnEnterSession(Desk& d, const WeComMessage& m);
  Result<UserRecord> EnsureConversation(Desk& d, const std::string& open_kfid, const std::string& user);
  void Deliver(Desk& d, const std::string& user_key);
  Status SaveRecord(Desk& d, const std::string& user_key, const UserRecord& r);
  // Forgets processed msgids older than seen_ttl_micros (at start, then hourly).
  Status PruneSeen(Desk& d);
  void Log(const std::string& line) const;

  Engine* engine_;
  SideStore side_;  // the channel's records: cursors, pending pulls, seen msgids, customers
  const Clock* clock_;
  WeComOptions options_;
  CallbackGuard replays_;
  std::vector<std::unique_ptr<Desk>> desks_;  // fixed after construction

  // Inbound and outbound processing of customers' records runs under work_mu_, one step at a time.
  std::mutex work_mu_;
  std::mutex pending_mu_;  // the pending/ records: written by callbacks, cleared by pulls

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;                                   // with queue_mu_
  std::map<std::pair<Desk*, std::string>, PullTask> queue_;            // GUARDED_BY(queue_mu_)
  bool pulling_ = false;                                               // GUARDED_BY(queue_mu_)
  bool stop_ = false;                                                  // GUARDED_BY(queue_mu_)
  bool started_ = false;
  std::thread puller_;

  std::mutex lease_mu_;
  std::condition_variable lease_cv_;            // with lease_mu_
  bool closing_ = false;                        // GUARDED_BY(lease_mu_): Stop was called
  std::unique_ptr<Store::Lease> lease_;         // used by the thread that holds lease_mu_ or Start
  std::atomic<bool> active_{false};             // the lease is held and the work runs
  std::thread leaser_;

  struct Counters {
    std::atomic<uint64_t> callbacks{0}, rejected{0}, pages{0}, messages{0}, duplicates{0}, sent{0}, refused{0},
        held{0};
  };
  mutable Counters counters_;
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_CHANNEL_H_
