#include "adapters/app_webhook.h"

#include <httplib.h>
#include <unistd.h>

#include <algorithm>

#include "base/json.h"
#include "engine/auth.h"

namespace kefu {
namespace {

// "https://host:port/path?q" -> ("https://host:port", "/path?q").
std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return {url, "/"};
  return {url.substr(0, path), url.substr(path)};
}

bool IsRetryable(int http_status) { return http_status == 408 || http_status == 429 || http_status >= 500; }

}  // namespace

AppWebhookSender::AppWebhookSender(Engine* engine, AppWebhookOptions options)
    : engine_(engine), options_(std::move(options)) {
  for (const std::string& id : engine_->DeskIds()) {
    auto config = engine_->GetDeskConfig(id);
    if (!config.ok() || config->app_webhook.url.empty()) continue;
    auto d = std::make_unique<Desk>();
    d->id = id;
    d->url = config->app_webhook.url;
    d->secret = config->app_webhook.secret;  // required by the config: never the identity secret
    desks_.push_back(std::move(d));
  }
}

AppWebhookSender::~AppWebhookSender() { Stop(); }

std::string AppWebhookSender::Signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string signed_text(timestamp);
  signed_text += '.';
  signed_text += body;
  return "sha256=" + HmacSha256Hex(secret, signed_text);
}

AppWebhookSender::Stats AppWebhookSender::stats() const {
  return {queued_.load(), delivered_.load(), retries_.load(), failed_.load(), dropped_.load()};
}

Status AppWebhookSender::Start() {
  if (started_ || desks_.empty()) return Status::OK();
  started_ = true;
  sender_ = std::thread([this] { Send(); });
  for (auto& d : desks_) {
    Desk* raw = d.get();
    d->follower = std::thread([this, raw] { Follow(raw); });
  }
  return Status::OK();
}

void AppWebhookSender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& d : desks_) {
    if (d->follower.joinable()) d->follower.join();
  }
  if (sender_.joinable()) sender_.join();
  std::lock_guard<std::mutex> lock(lease_mu_);
  lease_.reset();
}

bool AppWebhookSender::Leading() {
  std::lock_guard<std::mutex> lock(lease_mu_);
  if (lease_ != nullptr && !lease_->held()) lease_.reset();
  const auto now = std::chrono::steady_clock::now();
  if (lease_ == nullptr && now >= next_lease_try_) {
    next_lease_try_ = now + std::chrono::seconds(1);
    auto lease = engine_->Side("app").TryLease("sender");
    if (lease.ok()) lease_ = std::move(*lease);
  }
  return lease_ != nullptr;
}

bool AppWebhookSender::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

void AppWebhookSender::Follow(Desk* d) {
  uint64_t after = engine_->LivePosition(d->id);
  while (!stopping()) {
    const auto started = std::chrono::steady_clock::now();
    bool gap = false;
    auto events = engine_->WaitLiveEvents(
        d->id, after, 500 * 1000, [](const LiveEvent& e) { return e.type == LiveEventType::kMessage && e.for_customer; }, &gap);
    if (gap) after = engine_->LivePosition(d->id);  // notifications in the gap are lost: they are hints
    const bool leading = events.empty() || Leading();
    for (const LiveEvent& e : events) {
      after = std::max(after, e.id);
      if (!leading) continue;
      auto m = DecodeMessage(e.data);
      if (!m.ok() || m->channel != Channel::kApp) continue;
      if (m->kind != MessageKind::kAgent && m->kind != MessageKind::kSystem) continue;
      auto view = engine_->GetConversation(e.conversation);
      if (!view.ok() || view->customer.rfind("app:", 0) != 0) continue;
      JsonWriter w;
      w.BeginObject().Field("event", "message").Field("desk", d->id).Field("conversation_id", e.conversation);
      w.Field("user_id", std::string_view(view->customer).substr(4)).Key("message").Raw(e.data);
      w.Key("conversation").Raw(ConversationViewJson(*view)).EndObject();
      Delivery delivery;
      delivery.desk = d;
      delivery.id = e.conversation + "-" + std::to_string(m->seq);
      delivery.body = w.Take();
      delivery.due = std::chrono::steady_clock::now();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (pending_.size() >= std::max<size_t>(1, options_.max_pending)) {
          pending_.pop_front();
          dropped_.fetch_add(1);
        }
        pending_.push_back(std::move(delivery));
      }
      queued_.fetch_add(1);
      cv_.notify_all();
    }
    // After Engine::WakeAll (server shutdown) the wait returns at once: do not spin.
    if (events.empty() && std::chrono::steady_clock::now() - started < std::chrono::milliseconds(50)) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
    }
  }
}

void AppWebhookSender::Send() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    auto next = std::min_element(pending_.begin(), pending_.end(),
                                 [](const Delivery& a, const Delivery& b) { return a.due < b.due; });
    if (next == pending_.end()) {
      cv_.wait(lock);
      continue;
    }
    if (next->due > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, next->due);
      continue;
    }
    Delivery delivery = std::move(*next);
    pending_.erase(next);
    lock.unlock();
    const bool done = Attempt(delivery);
    lock.lock();
    if (done) continue;
    if (delivery.attempts >= options_.max_attempts) {
      failed_.fetch_add(1);
      if (options_.log) {
        const std::string line = "kefu: app webhook: gave up on " + delivery.id + " to " + delivery.desk->url +
                                 " after " + std::to_string(delivery.attempts) + " attempts\n";
        (void)!::write(STDERR_FILENO, line.data(), line.size());
      }
      continue;
    }
    int64_t backoff = options_.initial_backoff_millis;
    for (int i = 1; i < delivery.attempts && backoff < options_.max_backoff_millis; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.max_backoff_millis);
    delivery.due = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff);
    retries_.fetch_add(1);
    pending_.push_back(std::move(delivery));
  }
}

bool AppWebhookSender::Attempt(Delivery& delivery) {
  ++delivery.attempts;
  const auto [origin, path] = SplitUrl(delivery.desk->url);
  httplib::Client client(origin);
  client.set_connection_timeout(options_.timeout_seconds, 0);
  client.set_read_timeout(options_.timeout_seconds, 0);
  client.set_write_timeout(options_.timeout_seconds, 0);
  client.set_tcp_nodelay(true);
  const std::string timestamp = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  httplib::Headers headers = {
      {"X-Kefu-Event", "message"},
      {"X-Kefu-Delivery", delivery.id},
      {"X-Kefu-Timestamp", timestamp},
      {"X-Kefu-Signature", Signature(delivery.desk->secret, timestamp, delivery.body)},
  };
  auto res = client.Post(path, headers, delivery.body, "application/json");
  if (res && res->status >= 200 && res->status < 300) {
    delivered_.fetch_add(1);
    return true;
  }
  if (res && !IsRetryable(res->status)) {
    failed_.fetch_add(1);  // the backend refused it for good (bad signature, unknown user...)
    return true;
  }
  return false;
}

}  // namespace kefu
