// The app channel's webhook: when an agent replies to a verified app user (or the conversation
// gets a system message, such as "Li Na has joined" or "resolved"), kefu POSTs it to the app's
// backend (the desk's "app_webhook" in kefu.json) so that the backend can push a notification to
// the user's phone. Only conversations whose customer is "app:<user id>" and whose last channel is
// the app are notified: replies go out on the channel the customer last used.
//
// A request:
//   POST <url>
//   Content-Type: application/json
//   X-Kefu-Event: message
//   X-Kefu-Delivery: <conversation id>-<message seq>     the same on every retry (deduplicate on it)
//   X-Kefu-Timestamp: <unix seconds of this attempt>
//   X-Kefu-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the webhook secret>
//   {"event":"message","desk":"shop","conversation_id":"...","user_id":"user-42",
//    "message":{...the message as in docs/api.md...},"conversation":{...}}
// The backend recomputes the signature and refuses a timestamp more than a few minutes old
// (replay). Any 2xx is success; 408, 429 and 5xx or a network failure are retried with exponential
// backoff; other statuses are final.
//
// Never blocks the engine: one thread per desk follows the engine's live events and only queues;
// one sender thread makes the requests. With several kefu processes on one store, only the holder
// of the sender's lease (Store::TryLease, taken and checked about every second) queues, so each
// notification leaves from one process; while the lease changes hands a few may be skipped. The queue lives in memory (a restart forgets what was not
// sent yet: a push is a hint, the messages themselves are in the conversation). Thread-safe.
#ifndef KEFU_ADAPTERS_APP_WEBHOOK_H_
#define KEFU_ADAPTERS_APP_WEBHOOK_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"

namespace kefu {

struct AppWebhookOptions {
  // Attempts per notification, the first included. Default 8 (with the backoff below, about 2
  // minutes of trying).
  int max_attempts = 8;
  // The wait before the first retry, milliseconds; it doubles after each failure up to
  // `max_backoff_millis`. Defaults 1,000 and 60,000.
  int64_t initial_backoff_millis = 1000;
  int64_t max_backoff_millis = 60000;
  // Connect, read and write timeout of one request, seconds. Default 5.
  int timeout_seconds = 5;
  // Notifications waiting at most; beyond, the oldest is dropped (and counted). Default 10,000.
  size_t max_pending = 10000;
  // One line on stderr per notification given up. Default on.
  bool log = true;
};

class AppWebhookSender {
 public:
  // Serves the desks of `engine` with an app_webhook url; `engine` must outlive this object.
  explicit AppWebhookSender(Engine* engine, AppWebhookOptions options = {});
  ~AppWebhookSender();  // Stop()
  AppWebhookSender(const AppWebhookSender&) = delete;
  AppWebhookSender& operator=(const AppWebhookSender&) = delete;

  // Whether any desk has a webhook.
  bool enabled() const { return !desks_.empty(); }
  // Starts following the live events (from now on) and sending. Call once.
  Status Start();
  // Stops the threads; a request in flight finishes first. Safe to call more than once.
  void Stop();

  // "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`: what a backend recomputes.
  static std::string Signature(std::string_view secret, std::string_view timestamp, std::string_view body);

  struct Stats {
    uint64_t queued = 0;
    uint64_t delivered = 0;
    uint64_t retries = 0;  // attempts after a failed one
    uint64_t failed = 0;   // given up (final status or attempts spent)
    uint64_t dropped = 0;  // pushed out of a full queue
  };
  Stats stats() const;

 private:
  struct Desk {
    std::string id;
    std::string url;
    std::string secret;
    std::thread follower;
  };
  struct Delivery {
    const Desk* desk = nullptr;
    std::string id;    // X-Kefu-Delivery
    std::string body;
    int attempts = 0;
    std::chrono::steady_clock::time_point due;
  };

  void Follow(Desk* d);
  void Send();
  // One attempt: true when done (delivered or final), false to retry.
  bool Attempt(Delivery& delivery);
  bool stopping();
  // Whether this process holds the sender's lease (taking it when free, at most once a second).
  bool Leading();

  Engine* engine_;
  AppWebhookOptions options_;
  std::vector<std::unique_ptr<Desk>> desks_;  // fixed after construction

  std::mutex mu_;
  std::condition_variable cv_;     // with mu_
  std::deque<Delivery> pending_;   // GUARDED_BY(mu_)
  bool stop_ = false;              // GUARDED_BY(mu_)
  bool started_ = false;
  std::thread sender_;
  std::mutex lease_mu_;
  std::unique_ptr<Store::Lease> lease_;                  // GUARDED_BY(lease_mu_)
  std::chrono::steady_clock::time_point next_lease_try_;  // GUARDED_BY(lease_mu_)
  std::atomic<uint64_t> queued_{0}, delivered_{0}, retries_{0}, failed_{0}, dropped_{0};
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_APP_WEBHOOK_H_
