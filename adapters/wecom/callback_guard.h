// Replay protection of WeCom callbacks. A callback's signature covers its timestamp and nonce, but
// nothing stops a captured callback (a proxy's log, a leaked URL) from being sent again later. So
// a callback whose timestamp is outside a window around kefu's clock is refused, and so is one
// whose (timestamp, nonce, signature) was already accepted while its timestamp is in the window.
// Memory is bounded: a triple is forgotten once its timestamp leaves the window (the window check
// refuses it from then on), and beyond `max_remembered` triples the oldest is forgotten first.
#ifndef KEFU_ADAPTERS_WECOM_CALLBACK_GUARD_H_
#define KEFU_ADAPTERS_WECOM_CALLBACK_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "base/status.h"

namespace kefu {

// Thread-safe.
class CallbackGuard {
 public:
  // `window_seconds`: how far a timestamp may be from now, either way. `max_remembered`: at most
  // this many accepted triples are kept.
  CallbackGuard(int64_t window_seconds, size_t max_remembered)
      : window_(window_seconds), max_remembered_(max_remembered) {}

  // Before the signature is checked: InvalidArgument for a timestamp that is not decimal seconds
  // or a nonce over 64 bytes; Unauthenticated for a timestamp outside the window or a triple
  // already accepted.
  Status Check(std::string_view timestamp, std::string_view nonce, std::string_view signature, int64_t now_seconds);
  // After the callback was verified and processed: its triple may not come again.
  void Remember(std::string_view timestamp, std::string_view nonce, std::string_view signature, int64_t now_seconds);

  size_t remembered() const;

 private:
  static std::string Key(std::string_view timestamp, std::string_view nonce, std::string_view signature);
  void Forget(int64_t now_seconds);  // REQUIRES(mu_)

  const int64_t window_;
  const size_t max_remembered_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> seen_;                  // GUARDED_BY(mu_)
  std::deque<std::pair<int64_t, std::string>> order_;     // GUARDED_BY(mu_): (timestamp, key), as accepted
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_CALLBACK_GUARD_H_
