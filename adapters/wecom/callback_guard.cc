#include "adapters/wecom/callback_guard.h"

#include <charconv>

namespace kefu {
namespace {

// Decimal seconds, as WeCom sends them; -1 for anything else.
int64_t ParseSeconds(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || text.size() > 12 || ec != std::errc() || end != text.data() + text.size() || v < 0) return -1;
  return v;
}

}  // namespace

std::string CallbackGuard::Key(std::string_view timestamp, std::string_view nonce, std::string_view signature) {
  std::string key(timestamp);
  key += '|';
  key += nonce;
  key += '|';
  key += signature;
  return key;
}

Status CallbackGuard::Check(std::string_view timestamp, std::string_view nonce, std::string_view signature,
                            int64_t now_seconds) {
  const int64_t at = ParseSeconds(timestamp);
  if (at < 0) return Status::InvalidArgument("wecom: the timestamp must be decimal seconds");
  if (nonce.size() > 64) return Status::InvalidArgument("wecom: the nonce is too long");
  if (at < now_seconds - window_ || at > now_seconds + window_) {
    return Status::Unauthenticated("wecom: the callback's timestamp is more than " + std::to_string(window_) +
                                   " seconds from now");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (seen_.count(Key(timestamp, nonce, signature)) > 0) {
    return Status::Unauthenticated("wecom: this callback was already accepted (a replay)");
  }
  return Status::OK();
}

void CallbackGuard::Remember(std::string_view timestamp, std::string_view nonce, std::string_view signature,
                             int64_t now_seconds) {
  const int64_t at = ParseSeconds(timestamp);
  if (at < 0 || nonce.size() > 64) return;
  std::lock_guard<std::mutex> lock(mu_);
  Forget(now_seconds);
  std::string key = Key(timestamp, nonce, signature);
  if (!seen_.insert(key).second) return;
  order_.emplace_back(at, std::move(key));
  while (order_.size() > max_remembered_) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
}

void CallbackGuard::Forget(int64_t now_seconds) {
  // Accepted in order of arrival, whose timestamps are roughly in order: stop at the first one
  // still inside the window (a stray older one goes at the next call, or with the bound).
  while (!order_.empty() && order_.front().first < now_seconds - window_) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
}

size_t CallbackGuard::remembered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.size();
}

}  // namespace kefu
