#include "adapters/wecom/wecom_channel.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "adapters/http_internal.h"
#include "adapters/wecom/wecom_callback.h"
#include "adapters/wecom/wecom_crypto.h"
#include "adapters/wecom/wecom_delivery.h"
#include "adapters/wecom/wecom_text.h"
#include "base/json.h"
#include "base/utf8.h"

namespace kefu {
namespace {

constexpr char kCallbackRoute[] = "/v1/channels/wecom/{desk}/callback";
constexpr size_t kMaxMenuItems = 10;      // WeCom: a msgmenu has at most 10 items
constexpr size_t kMaxMenuIdBytes = 64;    // click.id
constexpr size_t kMaxMenuTextBytes = 128; // click.content
constexpr size_t kMaxMenuHeadBytes = 1024;
constexpr int kMaxPagesPerPull = 100000;  // a guard against a platform that always says has_more
constexpr char kQuickReplyPrefix[] = "qr-";

// Keys within the channel's namespace of the engine's store (Engine::Side("w")).
std::string Prefix(std::string_view desk) { return std::string(desk) + "/"; }
std::string CursorKey(std::string_view desk, std::string_view kfid) { return Prefix(desk) + "cursor/" + std::string(kfid); }
std::string PendingKey(std::string_view desk, std::string_view kfid) { return Prefix(desk) + "pending/" + std::string(kfid); }
std::string SeenKey(std::string_view desk, std::string_view msgid) { return Prefix(desk) + "seen/" + std::string(msgid); }
std::string UserKey(std::string_view desk, std::string_view user) { return Prefix(desk) + "user/" + std::string(user); }

Status Transient(const Status& s) {
  return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kIOError ? s : Status::OK();
}

}  // namespace

struct WeComChannel::UserRecord {
  std::string conversation;
  DeliveryCursor sent;     // what was sent
  int64_t last_in = 0;     // micros: the customer's last message (opens the send window)
  int quota = 0;           // sends left for that message

  std::string Encode() const {
    JsonWriter w;
    w.BeginObject().Field("conversation", conversation).Field("delivered", sent.delivered);
    w.Field("parts", sent.parts_sent).Field("last_in", last_in).Field("quota", quota).EndObject();
    return w.Take();
  }
  static Result<UserRecord> Decode(std::string_view json) {
    auto doc = ParseJson(json);
    if (!doc.ok()) return Status::Corruption("wecom user record: " + doc.status().message());
    auto o = JsonObject::From(**doc);
    if (!o.ok()) return Status::Corruption("wecom user record: not an object");
    UserRecord r;
    int64_t delivered = 0, parts = 0, quota = 0;
    Status s = o->GetString("conversation", Presence::kRequired, &r.conversation, 64);
    if (s.ok()) s = o->GetInt("delivered", Presence::kOptional, 0, INT64_MAX, &delivered);
    if (s.ok()) s = o->GetInt("parts", Presence::kOptional, 0, 1000, &parts);
    if (s.ok()) s = o->GetInt("last_in", Presence::kOptional, 0, INT64_MAX, &r.last_in);
    if (s.ok()) s = o->GetInt("quota", Presence::kOptional, 0, 1000, &quota);
    if (!s.ok()) return Status::Corruption("wecom user record: " + s.message());
    r.sent.delivered = static_cast<uint64_t>(delivered);
    r.sent.parts_sent = static_cast<int>(parts);
    r.quota = static_cast<int>(quota);
    return r;
  }
};

struct WeComChannel::Desk {
  std::string id;
  WeComConfig config;
  int max_message_chars = 2000;
  std::unique_ptr<WeComCrypto> crypto;
  std::unique_ptr<WeComClient> client;
  std::map<std::string, std::string> user_of;  // conversation -> "<open_kfid>/<external_userid>"; GUARDED_BY(work_mu_)
  std::set<std::string> retry;                 // users whose delivery failed for now; GUARDED_BY(work_mu_)
  std::thread follower;
};

WeComChannel::WeComChannel(Engine* engine, const Clock* clock, WeComOptions options)
    : engine_(engine),
      side_(engine->Side("w")),
      clock_(clock),
      options_(std::move(options)),
      replays_(options_.callback_window_seconds, options_.max_remembered_callbacks) {
  for (const std::string& id : engine_->DeskIds()) {
    auto config = engine_->GetDeskConfig(id);
    if (!config.ok() || !config->wecom.enabled()) continue;
    auto crypto = WeComCrypto::Create(config->wecom.token, config->wecom.encoding_aes_key, config->wecom.corp_id);
    if (!crypto.ok()) {
      Log("desk " + id + ": " + crypto.status().message() + "; the WeCom channel is off");
      continue;
    }
    auto d = std::make_unique<Desk>();
    d->id = id;
    d->config = config->wecom;
    d->max_message_chars = config->settings.max_message_chars;
    d->crypto = std::make_unique<WeComCrypto>(std::move(*crypto));
    d->client = std::make_unique<WeComClient>(d->config.base_url, d->config.corp_id, d->config.secret, clock_,
                                              options_.client);
    desks_.push_back(std::move(d));
  }
}

WeComChannel::~WeComChannel() { Stop(); }

WeComChannel::Desk* WeComChannel::FindDesk(std::string_view id) {
  for (auto& d : desks_) {
    if (d->id == id) return d.get();
  }
  return nullptr;
}

void WeComChannel::Log(const std::string& line) const {
  if (!options_.log) return;
  const std::string out = "kefu: wecom: " + line + "\n";
  (void)!::write(STDERR_FILENO, out.data(), out.size());
}

WeComChannel::Stats WeComChannel::stats() const {
  Stats s;
  s.callbacks = counters_.callbacks.load();
  s.rejected = counters_.rejected.load();
  s.pages = counters_.pages.load();
  s.messages = counters_.messages.load();
  s.duplicates = counters_.duplicates.load();
  s.sent = counters_.sent.load();
  s.refused = counters_.refused.load();
  s.held = counters_.held.load();
  return s;
}

// ---- HTTP ------------------------------------------------------------------------------------------

void WeComChannel::RegisterRoutes(HttpApi* api) {
  AddWeComCallbackRoutes(
      api, kCallbackRoute, options_.max_callback_bytes,
      [this](std::string_view desk, const CallbackParams& p, std::string_view echostr) {
        return VerifyUrl(desk, p.msg_signature, p.timestamp, p.nonce, echostr);
      },
      [this](std::string_view desk, const CallbackParams& p, std::string_view body) {
        return HandleCallback(desk, p.msg_signature, p.timestamp, p.nonce, body);
      });
}

Result<std::string> WeComChannel::VerifyUrl(std::string_view desk, std::string_view msg_signature,
                                            std::string_view timestamp, std::string_view nonce,
                                            std::string_view echostr) {
  Desk* d = FindDesk(desk);
  if (d == nullptr) return Status::NotFound("no WeCom channel on this desk");
  const CallbackParams p{std::string(msg_signature), std::string(timestamp), std::string(nonce)};
  auto plain = OpenUrlVerification(*d->crypto, &replays_, p, echostr, clock_->NowMicros() / kMicrosPerSecond);
  if (!plain.ok()) counters_.rejected.fetch_add(1);
  return plain;
}

Status WeComChannel::HandleCallback(std::string_view desk, std::string_view msg_signature,
                                    std::string_view timestamp, std::string_view nonce, std::string_view body) {
  Desk* d = FindDesk(desk);
  if (d == nullptr) return Status::NotFound("no WeCom channel on this desk");
  auto reject = [this](Status s) {
    counters_.rejected.fetch_add(1);
    return s;
  };
  const int64_t now_seconds = clock_->NowMicros() / kMicrosPerSecond;
  const CallbackParams p{std::string(msg_signature), std::string(timestamp), std::string(nonce)};
  auto inner = OpenCallback(*d->crypto, &replays_, p, body, options_.max_callback_bytes, now_seconds);
  if (!inner.ok()) return reject(inner.status());
  auto field = [&](const char* name) {
    auto it = inner->find(name);
    return it == inner->end() ? std::string() : it->second;
  };
  if (field("MsgType") != "event" || field("Event") != "kf_msg_or_event") {
    replays_.Remember(timestamp, nonce, msg_signature, now_seconds);
    return Status::OK();  // not ours: ignored
  }
  const std::string kfid = field("OpenKfId"), token = field("Token");
  // Without OpenKfId (the form WeCom documented first, still sent by some setups) the pull reads
  // every account the app may read: its cursor and pending record are those of the id "".
  if (!kfid.empty() && !IsWeComId(kfid)) return reject(Status::InvalidArgument("wecom: bad OpenKfId"));
  if (token.size() > 128) return reject(Status::InvalidArgument("wecom: bad Token"));
  const int64_t now = clock_->NowMicros();
  {
    // Stored before the callback is answered: a restart before the pull still pulls.
    std::lock_guard<std::mutex> lock(pending_mu_);
    JsonWriter w;
    w.BeginObject().Field("token", token).Field("at", now).EndObject();
    StoreBatch batch;
    batch.Put(PendingKey(d->id, kfid), w.Take());
    KEFU_RETURN_IF_ERROR(side_.Write(batch));
  }
  replays_.Remember(timestamp, nonce, msg_signature, now_seconds);
  counters_.callbacks.fetch_add(1);
  if (active_) Enqueue(d, kfid, token, now, std::chrono::steady_clock::now());  // else the holder's rescan
  return Status::OK();
}

// ---- Threads ---------------------------------------------------------------------------------------

Status WeComChannel::Start() {
  if (started_ || desks_.empty()) return Status::OK();
  started_ = true;
  auto lease = side_.TryLease("puller");
  if (!lease.ok()) return lease.status();
  if (*lease != nullptr) {
    lease_ = std::move(*lease);
    if (Status s = Activate(); !s.ok()) {
      Deactivate();
      return s;
    }
  }
  leaser_ = std::thread([this] { LeaseLoop(); });
  return Status::OK();
}

Status WeComChannel::LoadRecords(Desk& d, bool all) {
  std::vector<std::pair<std::string, PullTask>> pulls;
  const std::string prefix = Prefix(d.id) + (all ? "" : "pending/");
  Status s = side_.ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    const std::string_view rest = key.substr(Prefix(d.id).size());
    if (rest.rfind("user/", 0) == 0) {
      auto r = UserRecord::Decode(value);
      std::lock_guard<std::mutex> lock(work_mu_);
      if (r.ok()) d.user_of[r->conversation] = std::string(rest.substr(5));
    } else if (rest.rfind("cursor/", 0) == 0) {
      pulls.emplace_back(std::string(rest.substr(7)), PullTask{});  // catch up on every known account
    } else if (rest.rfind("pending/", 0) == 0) {
      PullTask t;
      auto doc = ParseJson(value);
      if (doc.ok()) {
        auto o = JsonObject::From(**doc);
        if (o.ok()) {
          (void)o->GetString("token", Presence::kOptional, &t.token, 128, true);
          (void)o->GetInt("at", Presence::kOptional, 0, INT64_MAX, &t.token_at);
        }
      }
      pulls.emplace_back(std::string(rest.substr(8)), t);
    }
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  for (const auto& [kfid, task] : pulls) {
    if (kfid.empty() || IsWeComId(kfid)) Enqueue(&d, kfid, task.token, task.token_at, std::chrono::steady_clock::now());
  }
  return Status::OK();
}

Status WeComChannel::Activate() {
  for (auto& d : desks_) {
    KEFU_RETURN_IF_ERROR(LoadRecords(*d, true));
    KEFU_RETURN_IF_ERROR(PruneSeen(*d));
  }
  active_ = true;
  if (side_.shared()) Log("this process is now the WeCom puller");
  puller_ = std::thread([this] { PullLoop(); });
  for (auto& d : desks_) {
    Desk* raw = d.get();
    d->follower = std::thread([this, raw] { FollowLoop(raw); });
  }
  return Status::OK();
}

void WeComChannel::Deactivate() {
  active_ = false;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (puller_.joinable()) puller_.join();
  for (auto& d : desks_) {
    if (d->follower.joinable()) d->follower.join();
  }
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stop_ = false;
    queue_.clear();  // the next holder finds them again in the pending/ records
  }
  lease_.reset();
}

void WeComChannel::LeaseLoop() {
  std::unique_lock<std::mutex> lock(lease_mu_);
  while (!lease_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return closing_; })) {
    LeaseTick();
  }
}

void WeComChannel::LeaseTick() {
  if (active_) {
    if (!lease_->held()) {
      Log("the WeCom puller's lease was lost (database connection); stopping until it is taken again");
      Deactivate();
    } else if (side_.shared()) {
      for (auto& d : desks_) {
        Status s = LoadRecords(*d, false);  // callbacks recorded by the other processes
        if (!s.ok()) Log("desk " + d->id + ": reading pending pulls: " + s.ToString());
      }
    }
    return;
  }
  auto lease = side_.TryLease("puller");
  if (!lease.ok() || *lease == nullptr) return;
  lease_ = std::move(*lease);
  if (Status s = Activate(); !s.ok()) {
    Log("starting the WeCom puller failed, will retry: " + s.ToString());
    Deactivate();
  }
}
Status WeComChannel::PruneSeen(Desk& d) {
  return ForgetSeen(&side_, Prefix(d.id) + "seen/", clock_->NowMicros() - options_.seen_ttl_micros);
}

void WeComChannel::Stop() {
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    closing_ = true;
  }
  lease_cv_.notify_all();
  if (leaser_.joinable()) leaser_.join();
  Deactivate();
}

bool WeComChannel::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(queue_mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  return queue_cv_.wait_until(lock, deadline, [&] {
    if (pulling_) return false;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [key, task] : queue_) {
      if (task.due <= now) return false;  // due and not started yet; retries later do not count
    }
    return true;
  });
}

void WeComChannel::Enqueue(Desk* d, const std::string& open_kfid, const std::string& token, int64_t token_at,
                           std::chrono::steady_clock::time_point due) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    PullTask& t = queue_[{d, open_kfid}];
    if (t.token.empty() || token_at >= t.token_at) {
      if (!token.empty()) t.token = token;
      t.token_at = std::max(t.token_at, token_at);
    }
    if (t.due == std::chrono::steady_clock::time_point() || due < t.due) t.due = due;
  }
  queue_cv_.notify_all();
}

void WeComChannel::PullLoop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  while (!stop_) {
    auto next = queue_.end();
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (next == queue_.end() || it->second.due < next->second.due) next = it;
    }
    if (next == queue_.end()) {
      queue_cv_.wait(lock);
      continue;
    }
    if (next->second.due > std::chrono::steady_clock::now()) {
      queue_cv_.wait_until(lock, next->second.due);
      continue;
    }
    Desk* d = next->first.first;
    const std::string kfid = next->first.second;
    const PullTask task = next->second;
    queue_.erase(next);
    pulling_ = true;
    lock.unlock();
    Status s = Pull(*d, kfid, task);
    lock.lock();
    pulling_ = false;
    if (!s.ok()) {
      if (!stop_) Log("desk " + d->id + ": pulling " + kfid + " failed, will retry: " + s.ToString());
      const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.retry_interval_millis);
      lock.unlock();
      Enqueue(d, kfid, task.token, task.token_at, due);
      lock.lock();
    }
    queue_cv_.notify_all();
  }
}

void WeComChannel::FollowLoop(Desk* d) {
  uint64_t after = engine_->LivePosition(d->id);
  bool catch_up = true;  // at start: anything recorded but not sent yet
  auto next_retry = std::chrono::steady_clock::now();
  auto next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (stop_) return;
    }
    const auto started = std::chrono::steady_clock::now();
    bool gap = false;
    auto events = engine_->WaitLiveEvents(
        d->id, after, 500 * 1000, [](const LiveEvent& e) { return e.type == LiveEventType::kMessage && e.for_customer; }, &gap);
    std::set<std::string> conversations;
    for (const LiveEvent& e : events) {
      after = std::max(after, e.id);
      auto m = DecodeMessage(e.data);
      if (!m.ok() || m->channel != Channel::kWeCom) continue;
      if (m->kind == MessageKind::kAgent || m->kind == MessageKind::kSystem) conversations.insert(e.conversation);
    }
    if (gap) after = engine_->LivePosition(d->id);
    const auto now = std::chrono::steady_clock::now();
    const bool retry_due = now >= next_retry;
    if (retry_due) next_retry = now + std::chrono::milliseconds(options_.retry_interval_millis);
    std::vector<std::string> users;
    {
      std::lock_guard<std::mutex> lock(work_mu_);
      if (gap || catch_up) {
        for (const auto& [conversation, user] : d->user_of) users.push_back(user);
      } else {
        for (const std::string& c : conversations) {
          auto it = d->user_of.find(c);
          if (it != d->user_of.end()) users.push_back(it->second);
        }
        if (retry_due) users.insert(users.end(), d->retry.begin(), d->retry.end());
      }
    }
    catch_up = false;
    for (const std::string& user : users) {
      std::lock_guard<std::mutex> lock(work_mu_);
      Deliver(*d, user);
    }
    if (now >= next_prune) {
      next_prune = now + std::chrono::hours(1);
      Status pruned = PruneSeen(*d);
      if (!pruned.ok()) Log("desk " + d->id + ": pruning seen msgids: " + pruned.ToString());
    }
    // After Engine::WakeAll (server shutdown) the wait returns at once: do not spin.
    if (events.empty() && std::chrono::steady_clock::now() - started < std::chrono::milliseconds(50)) {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
    }
  }
}

// ---- Inbound ---------------------------------------------------------------------------------------

Status WeComChannel::Pull(Desk& d, const std::string& open_kfid, const PullTask& task) {
  SideStore* store = &side_;
  std::string pending_before;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto pending = store->Get(PendingKey(d.id, open_kfid));
    if (!pending.ok()) return pending.status();
    if (pending->has_value()) pending_before = **pending;
  }
  auto stored = store->Get(CursorKey(d.id, open_kfid));
  if (!stored.ok()) return stored.status();
  std::string cursor = stored->value_or("");
  const bool fresh = !task.token.empty() && clock_->NowMicros() - task.token_at < options_.callback_token_ttl_micros;
  for (int page_count = 0; page_count < kMaxPagesPerPull; ++page_count) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (stop_) return Status::Unavailable("stopping");
    }
    auto page = d.client->SyncMsg(cursor, fresh ? task.token : "", open_kfid, options_.sync_limit);
    if (!page.ok()) return page.status();
    counters_.pages.fetch_add(1);
    for (const WeComMessage& m : page->messages) {
      std::lock_guard<std::mutex> lock(work_mu_);
      KEFU_RETURN_IF_ERROR(HandleMessage(d, m));
    }
    if (!page->next_cursor.empty() && page->next_cursor != cursor) {
      cursor = page->next_cursor;
      StoreBatch batch;
      batch.Put(CursorKey(d.id, open_kfid), cursor);
      KEFU_RETURN_IF_ERROR(store->Write(batch));
    }
    if (!page->has_more) break;
  }
  // The announcement is done, unless another one came in meanwhile (that one pulls again).
  std::lock_guard<std::mutex> lock(pending_mu_);
  auto pending = store->Get(PendingKey(d.id, open_kfid));
  if (pending.ok() && pending->has_value() && **pending == pending_before) {
    StoreBatch batch;
    batch.Delete(PendingKey(d.id, open_kfid));
    return store->Write(batch);
  }
  return Status::OK();
}

// REQUIRES(work_mu_). A transient failure (store, engine) is returned so that the pull stops and
// is tried again from the same cursor; anything else is logged and the message counts as done.
Status WeComChannel::HandleMessage(Desk& d, const WeComMessage& m) {
  SideStore* store = &side_;
  if (m.malformed) {
    Log("desk " + d.id + ": skipped a malformed message " + m.msgid);
    return Status::OK();
  }
  auto seen = store->Get(SeenKey(d.id, m.msgid));
  if (!seen.ok()) return seen.status();
  if (seen->has_value()) {
    counters_.duplicates.fetch_add(1);
    return Status::OK();
  }
  Status s;
  if (m.msgtype == "text" && m.origin == 3) {
    s = OnCustomerText(d, m);
  } else if (m.msgtype == "event" && m.event_type == "enter_session") {
    s = OnEnterSession(d, m);
  } else if (m.msgtype == "event" && m.event_type == "msg_send_fail") {
    Log("desk " + d.id + ": WeCom could not deliver " + m.fail_msgid + " (fail_type " + std::to_string(m.fail_type) + ")");
  } else if (m.origin == 3 && m.msgtype != "event") {
    // An image, voice, video, file, location, link... from the customer: nobody's message is lost,
    // so it goes into the conversation as a note of what came; the bot cannot read it, so it hands
    // over, and the agent opens it in the WeCom client.
    WeComMessage placeholder = m;
    placeholder.text = MediaPlaceholder(m.msgtype);
    placeholder.menu_id.clear();
    s = OnCustomerText(d, placeholder);
  }
  // Servicers' own messages in the WeCom client (origin 5) are not kefu's.
  KEFU_RETURN_IF_ERROR(Transient(s));
  if (!s.ok()) Log("desk " + d.id + ": message " + m.msgid + " not processed: " + s.ToString());
  StoreBatch batch;
  batch.Put(SeenKey(d.id, m.msgid), std::to_string(clock_->NowMicros()));
  return store->Write(batch);
}

// REQUIRES(work_mu_)
Result<WeComChannel::UserRecord> WeComChannel::EnsureConversation(Desk& d, const std::string& open_kfid,
                                                                  const std::string& user) {
  if (!IsWeComId(open_kfid) || !IsWeComId(user)) return Status::InvalidArgument("wecom: bad open_kfid or external_userid");
  const std::string key = open_kfid + "/" + user;
  auto stored = side_.Get(UserKey(d.id, key));
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    auto r = UserRecord::Decode(**stored);
    if (r.ok() && engine_->GetConversation(r->conversation).ok()) return r;
  }
  StartRequest start;
  start.desk = d.id;
  start.channel = Channel::kWeCom;
  start.channel_user = key;
  auto started = engine_->StartConversation(start);
  if (!started.ok()) return started.status();
  UserRecord r;
  r.conversation = started->conversation_id;
  // The welcome (or, for a conversation found again, its history) does not go out by send_msg:
  // WeCom's own welcome path sends it (enter_session), and history was sent when it happened.
  for (const Message& m : started->messages) r.sent.delivered = std::max(r.sent.delivered, m.seq);
  KEFU_RETURN_IF_ERROR(SaveRecord(d, key, r));
  d.user_of[r.conversation] = key;
  return r;
}

Status WeComChannel::SaveRecord(Desk& d, const std::string& user_key, const UserRecord& r) {
  StoreBatch batch;
  batch.Put(UserKey(d.id, user_key), r.Encode());
  return side_.Write(batch);
}

// REQUIRES(work_mu_)
Status WeComChannel::OnCustomerText(Desk& d, const WeComMessage& m) {
  auto record = EnsureConversation(d, m.open_kfid, m.external_userid);
  if (!record.ok()) return record.status();
  const std::string key = m.open_kfid + "/" + m.external_userid;
  // A new customer message opens a new window of 48 hours and 5 messages.
  const int64_t sent_at = m.send_time > 0 ? m.send_time * kMicrosPerSecond : clock_->NowMicros();
  record->last_in = std::max(record->last_in, std::min(sent_at, clock_->NowMicros()));
  record->quota = options_.max_sends_per_customer_message;
  KEFU_RETURN_IF_ERROR(SaveRecord(d, key, *record));

  const std::string text = CustomerText(m.text, static_cast<size_t>(d.max_message_chars));
  if (text.empty()) return Status::OK();
  CustomerMessageRequest req;
  req.conversation_id = record->conversation;
  req.text = text;
  req.channel = Channel::kWeCom;
  req.client_msg_id = m.msgid.size() <= 90 ? "wecom:" + m.msgid : "wecom:" + Sha1Hex(m.msgid);
  if (!m.menu_id.empty() && m.menu_id.rfind(kQuickReplyPrefix, 0) != 0) req.choice = m.menu_id;
  auto turn = engine_->PostCustomerMessage(req);
  if (!turn.ok() && turn.status().code() == Status::Code::kInvalidArgument && !req.choice.empty()) {
    req.choice.clear();  // a menu of an older KB: the click is read as the text it showed
    turn = engine_->PostCustomerMessage(req);
  }
  if (!turn.ok()) return turn.status();
  counters_.messages.fetch_add(1);
  Deliver(d, key);
  return Status::OK();
}

// REQUIRES(work_mu_)
Status WeComChannel::OnEnterSession(Desk& d, const WeComMessage& m) {
  auto record = EnsureConversation(d, m.open_kfid, m.external_userid);
  if (!record.ok()) return record.status();
  if (m.welcome_code.empty()) return Status::OK();  // WeCom sent its own welcome, or one went out lately
  auto first = engine_->History(record->conversation, 0, 1, false);
  if (!first.ok()) return first.status();
  if (first->empty() || first->front().kind != MessageKind::kBot) return Status::OK();
  const std::string msgid = record->conversation.substr(0, 16) + "_w" + Sha1Hex(m.msgid).substr(0, 12);
  Status s = d.client->SendMsgOnEvent(m.welcome_code, msgid, Utf8Prefix(first->front().text, options_.max_text_bytes));
  if (s.ok()) {
    counters_.sent.fetch_add(1);
  } else {
    counters_.refused.fetch_add(1);  // a welcome_code lives 20 seconds: there is no later
    Log("desk " + d.id + ": the welcome was not sent: " + s.ToString());
  }
  return Status::OK();
}

// ---- Outbound --------------------------------------------------------------------------------------

namespace {

// One engine message as send_msg calls.
std::vector<WeComOutgoing> Render(const Message& m, const std::string& user_key, const std::string& conversation,
                                  size_t max_text_bytes) {
  WeComOutgoing base;
  const size_t slash = user_key.find('/');
  base.open_kfid = user_key.substr(0, slash);
  base.touser = user_key.substr(slash + 1);
  const std::string msgid = conversation.substr(0, 16) + "_" + std::to_string(m.seq);
  std::vector<WeComOutgoing> out;
  std::string text = m.text;
  for (const MessageLink& l : m.links) text += "\n" + l.title + ": " + l.url;
  // Clarify choices and quick replies become a menu whose clicks come back with the item's id.
  bool menu_fits = !m.choices.empty() && m.choices.size() <= kMaxMenuItems && text.size() <= kMaxMenuHeadBytes;
  for (const MessageChoice& c : m.choices) menu_fits = menu_fits && c.entry_id.size() <= kMaxMenuIdBytes;
  if (menu_fits) {
    WeComOutgoing menu = base;
    menu.msgid = msgid;
    menu.text = text;
    for (size_t i = 0; i < m.choices.size(); ++i) {
      const MessageChoice& c = m.choices[i];
      const std::string id = c.entry_id.empty() ? kQuickReplyPrefix + std::to_string(i + 1) : c.entry_id;
      menu.menu.emplace_back(id, std::string(Utf8Prefix(c.title, kMaxMenuTextBytes)));
    }
    out.push_back(std::move(menu));
    return out;
  }
  for (size_t i = 0; i < m.choices.size(); ++i) text += "\n" + std::to_string(i + 1) + ". " + m.choices[i].title;
  const std::vector<std::string> parts = SplitText(text, max_text_bytes);
  for (size_t i = 0; i < parts.size(); ++i) {
    WeComOutgoing part = base;
    part.msgid = parts.size() == 1 ? msgid : msgid + "_" + std::to_string(i + 1);
    part.text = parts[i];
    out.push_back(std::move(part));
  }
  return out;
}

}  // namespace

// REQUIRES(work_mu_). Sends, in order, the messages of the customer's conversation that were not
// sent yet, within WeCom's window and limit. A transient failure leaves the rest for a retry.
void WeComChannel::Deliver(Desk& d, const std::string& user_key) {
  d.retry.erase(user_key);
  auto stored = side_.Get(UserKey(d.id, user_key));
  if (!stored.ok() || !stored->has_value()) {
    if (!stored.ok()) d.retry.insert(user_key);
    return;
  }
  auto record = UserRecord::Decode(**stored);
  if (!record.ok()) return;
  UserRecord& r = *record;
  auto send = [&](const Message& m, const WeComOutgoing& part) {
    if (clock_->NowMicros() - r.last_in > options_.send_window_micros || r.quota <= 0) {
      counters_.held.fetch_add(1);  // waits for the customer's next message
      return PartOutcome::kWait;
    }
    Status s = d.client->SendMsg(part);
    if (s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kUnauthenticated) {
      d.retry.insert(user_key);
      return PartOutcome::kWait;
    }
    if (!s.ok()) {
      counters_.refused.fetch_add(1);
      Log("desk " + d.id + ": WeCom refused message " + std::to_string(m.seq) + " of " + r.conversation + ": " +
          s.message());
      return PartOutcome::kRefused;
    }
    counters_.sent.fetch_add(1);
    --r.quota;
    return PartOutcome::kSent;
  };
  const DeliveryResult result = DeliverInOrder<WeComOutgoing>(
      engine_, r.conversation, &r.sent,
      [&](const Message& m) { return Render(m, user_key, r.conversation, options_.max_text_bytes); }, send,
      [&] { return SaveRecord(d, user_key, r); });
  if (result == DeliveryResult::kFailed) d.retry.insert(user_key);
}

}  // namespace kefu
