#include "adapters/wecom/wecom_app_channel.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
#include <thread>

#include "adapters/wecom/wecom_app_api.h"
#include "adapters/wecom/wecom_crypto.h"
#include "adapters/wecom/wecom_delivery.h"
#include "adapters/wecom/wecom_text.h"
#include "base/json.h"

namespace kefu {
namespace {

constexpr char kCallbackRoute[] = "/v1/channels/wecom-app/{desk}/callback";
constexpr size_t kInboxBatch = 1000;  // inbox entries read per scan

// Keys within the channel's namespace of the engine's store (Engine::Side("wa")).
std::string Prefix(std::string_view desk) { return std::string(desk) + "/"; }
std::string SeenKey(std::string_view desk, std::string_view id) { return Prefix(desk) + "seen/" + std::string(id); }
std::string UserKey(std::string_view desk, std::string_view user) { return Prefix(desk) + "user/" + std::string(user); }
// Arrival order; the seen id keeps keys of two processes (or two runs) in one microsecond apart.
std::string InboxKey(std::string_view desk, int64_t micros, uint64_t n, std::string_view seen) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%020lld-%012llu-", static_cast<long long>(micros),
                static_cast<unsigned long long>(n));
  return Prefix(desk) + "in/" + buf + std::string(seen);
}

bool IsTransient(const Status& s) {
  return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kIOError ||
         s.code() == Status::Code::kUnauthenticated;
}

constexpr size_t kMaxButtons = 6;          // WeCom: a button_interaction card has at most 6
constexpr size_t kMaxButtonKeyBytes = 128;  // kept well under WeCom's 1,024: keys are KB entry ids

// One message/send: a text, or a button card when `buttons` is not empty.
struct AppPart {
  std::string text;
  std::string title;    // cards: the main title
  std::string task_id;  // cards
  std::vector<std::pair<std::string, std::string>> buttons;  // (key, text)
};

// One engine message as message/send calls: links appended, choices numbered, and with `cards`
// clarify choices (KB entries, up to 6) as one button card whose keys are the entry ids.
std::vector<AppPart> Render(const Message& m, const std::string& conversation, bool cards, size_t max_text_bytes) {
  std::string text = m.text;
  for (const MessageLink& l : m.links) text += "\n" + l.title + ": " + l.url;
  std::string list;
  for (size_t i = 0; i < m.choices.size(); ++i) list += "\n" + std::to_string(i + 1) + ". " + m.choices[i].title;
  bool card = cards && !m.choices.empty() && m.choices.size() <= kMaxButtons;
  for (const MessageChoice& c : m.choices) card = card && !c.entry_id.empty() && c.entry_id.size() <= kMaxButtonKeyBytes;
  if (card) {
    AppPart p;
    const std::string first_line = text.substr(0, text.find('\n'));
    p.title = std::string(Utf8Prefix(first_line.empty() ? "请选择 Please choose" : first_line, 78));
    p.text = std::string(Utf8Prefix(list.substr(1), 336));  // WeCom: about 112 characters
    p.task_id = conversation + "-" + std::to_string(m.seq);
    for (size_t i = 0; i < m.choices.size(); ++i) {
      p.buttons.emplace_back(m.choices[i].entry_id,
                             std::string(Utf8Prefix(std::to_string(i + 1) + ". " + m.choices[i].title, 30)));
    }
    return {p};
  }
  std::vector<AppPart> parts;
  for (std::string& t : SplitText(text + list, max_text_bytes)) parts.push_back(AppPart{std::move(t), "", "", {}});
  return parts;
}

// "1".."N" as the index of a numbered choice, or 0.
size_t ChoiceNumber(std::string_view text, size_t count) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
  size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc() && end == text.data() + text.size() && n >= 1 && n <= count ? n : 0;
}

}  // namespace

// What a callback brought, as the inbox keeps it until it is processed.
struct WeComAppChannel::Inbound {
  std::string kind;  // "text", "media", "click" (a card's button: its key in text) or "enter_agent"
  std::string user;  // FromUserName: the employee's UserID
  std::string msgid;
  std::string msgtype;  // media: WeCom's MsgType
  std::string text;

  std::string Encode() const {
    JsonWriter w;
    w.BeginObject().Field("kind", kind).Field("user", user).Field("msgid", msgid).Field("msgtype", msgtype);
    return w.Field("text", text).EndObject().Take();
  }
  static Result<Inbound> Decode(std::string_view json) {
    auto doc = ParseJson(json);
    if (!doc.ok()) return Status::Corruption("wecom-app inbox: " + doc.status().message());
    auto o = JsonObject::From(**doc);
    if (!o.ok()) return Status::Corruption("wecom-app inbox: not an object");
    Inbound in;
    Status s = o->GetString("kind", Presence::kRequired, &in.kind, 16);
    if (s.ok()) s = o->GetString("user", Presence::kRequired, &in.user, 128);
    if (s.ok()) s = o->GetString("msgid", Presence::kOptional, &in.msgid, 128, true);
    if (s.ok()) s = o->GetString("msgtype", Presence::kOptional, &in.msgtype, 32, true);
    if (s.ok()) s = o->GetString("text", Presence::kOptional, &in.text, 100000, true);
    if (!s.ok()) return Status::Corruption("wecom-app inbox: " + s.message());
    return in;
  }
};

struct WeComAppChannel::UserRecord {
  std::string conversation;
  DeliveryCursor sent;     // what was sent
  int64_t profile_at = 0;  // micros: name and department last read from WeCom
  int64_t greeted_at = 0;  // micros: the last enter_agent greeting
  std::string choices;     // the last numbered choices sent: "entry id\ttitle\n" each

  std::string Encode() const {
    JsonWriter w;
    w.BeginObject().Field("conversation", conversation).Field("delivered", sent.delivered);
    w.Field("parts", sent.parts_sent).Field("profile_at", profile_at).Field("greeted_at", greeted_at);
    w.Field("choices", choices);
    return w.EndObject().Take();
  }
  static Result<UserRecord> Decode(std::string_view json) {
    auto doc = ParseJson(json);
    if (!doc.ok()) return Status::Corruption("wecom-app user record: " + doc.status().message());
    auto o = JsonObject::From(**doc);
    if (!o.ok()) return Status::Corruption("wecom-app user record: not an object");
    UserRecord r;
    int64_t delivered = 0, parts = 0;
    Status s = o->GetString("conversation", Presence::kRequired, &r.conversation, 64);
    if (s.ok()) s = o->GetInt("delivered", Presence::kOptional, 0, INT64_MAX, &delivered);
    if (s.ok()) s = o->GetInt("parts", Presence::kOptional, 0, 1000, &parts);
    if (s.ok()) s = o->GetInt("profile_at", Presence::kOptional, 0, INT64_MAX, &r.profile_at);
    if (s.ok()) s = o->GetInt("greeted_at", Presence::kOptional, 0, INT64_MAX, &r.greeted_at);
    if (s.ok()) s = o->GetString("choices", Presence::kOptional, &r.choices, 100000, true);
    if (!s.ok()) return Status::Corruption("wecom-app user record: " + s.message());
    r.sent.delivered = static_cast<uint64_t>(delivered);
    r.sent.parts_sent = static_cast<int>(parts);
    return r;
  }
  // The (entry id, title) pairs of `choices`.
  std::vector<std::pair<std::string, std::string>> Choices() const {
    std::vector<std::pair<std::string, std::string>> out;
    size_t start = 0;
    while (start < choices.size()) {
      size_t end = choices.find('\n', start);
      if (end == std::string::npos) end = choices.size();
      const std::string line = choices.substr(start, end - start);
      const size_t tab = line.find('\t');
      if (tab != std::string::npos) out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
      start = end + 1;
    }
    return out;
  }
};

// Everything but the inbox flags belongs to the desk's thread.
struct WeComAppChannel::Desk {
  std::string id;
  WeComAppConfig config;
  int max_message_chars = 2000;
  std::unique_ptr<WeComCrypto> crypto;
  std::unique_ptr<WeComAppClient> client;
  std::map<std::string, std::string> user_of;  // conversation -> userid
  std::set<std::string> retry;                 // users whose delivery failed for now
  std::map<int64_t, std::string> departments;  // department id -> name
  std::unique_ptr<Store::Lease> lease;
  std::mutex inbox_mu;                  // a MsgId's seen check and its recording, together
  std::atomic<bool> inbox_dirty{true};  // a callback was recorded since the inbox was last worked
  std::atomic<bool> busy{false};        // the inbox is being worked
  std::thread thread;
};

WeComAppChannel::WeComAppChannel(Engine* engine, const Clock* clock, WeComAppOptions options)
    : engine_(engine),
      side_(engine->Side("wa")),
      clock_(clock),
      options_(std::move(options)),
      replays_(options_.callback_window_seconds, options_.max_remembered_callbacks) {
  for (const std::string& id : engine_->DeskIds()) {
    auto config = engine_->GetDeskConfig(id);
    if (!config.ok() || !config->wecom_app.enabled()) continue;
    const WeComAppConfig& a = config->wecom_app;
    auto crypto = WeComCrypto::Create(a.token, a.encoding_aes_key, a.corp_id);
    if (!crypto.ok()) {
      Log("desk " + id + ": " + crypto.status().message() + "; the WeCom app channel is off");
      continue;
    }
    auto d = std::make_unique<Desk>();
    d->id = id;
    d->config = a;
    d->max_message_chars = config->settings.max_message_chars;
    d->crypto = std::make_unique<WeComCrypto>(std::move(*crypto));
    d->client = std::make_unique<WeComAppClient>(a.base_url, a.corp_id, a.secret, a.agent_id, clock_, options_.client);
    desks_.push_back(std::move(d));
  }
}

WeComAppChannel::~WeComAppChannel() { Stop(); }

WeComAppChannel::Desk* WeComAppChannel::FindDesk(std::string_view id) {
  for (auto& d : desks_) {
    if (d->id == id) return d.get();
  }
  return nullptr;
}

void WeComAppChannel::Log(const std::string& line) const {
  if (!options_.log) return;
  const std::string out = "kefu: wecom-app: " + line + "\n";
  (void)!::write(STDERR_FILENO, out.data(), out.size());
}

WeComAppChannel::Stats WeComAppChannel::stats() const {
  Stats s;
  s.callbacks = counters_.callbacks.load();
  s.rejected = counters_.rejected.load();
  s.duplicates = counters_.duplicates.load();
  s.messages = counters_.messages.load();
  s.sent = counters_.sent.load();
  s.refused = counters_.refused.load();
  s.deferred = counters_.deferred.load();
  return s;
}

// ---- HTTP ------------------------------------------------------------------------------------------

void WeComAppChannel::RegisterRoutes(HttpApi* api) {
  AddWeComCallbackRoutes(
      api, kCallbackRoute, options_.max_callback_bytes,
      [this](std::string_view desk, const CallbackParams& p, std::string_view echostr) {
        return VerifyUrl(desk, p, echostr);
      },
      [this](std::string_view desk, const CallbackParams& p, std::string_view body) {
        return HandleCallback(desk, p, body);
      });
}

Result<std::string> WeComAppChannel::VerifyUrl(std::string_view desk, const CallbackParams& p,
                                               std::string_view echostr) {
  Desk* d = FindDesk(desk);
  if (d == nullptr) return Status::NotFound("no WeCom app channel on this desk");
  auto plain = OpenUrlVerification(*d->crypto, &replays_, p, echostr, clock_->NowMicros() / kMicrosPerSecond);
  if (!plain.ok()) counters_.rejected.fetch_add(1);
  return plain;
}

Status WeComAppChannel::HandleCallback(std::string_view desk, const CallbackParams& p, std::string_view body) {
  Desk* d = FindDesk(desk);
  if (d == nullptr) return Status::NotFound("no WeCom app channel on this desk");
  auto reject = [this](Status s) {
    counters_.rejected.fetch_add(1);
    return s;
  };
  const int64_t now = clock_->NowMicros();
  // Some events nest elements (SendLocationInfo, SelectedItems): accepted, and left out.
  auto fields =
      OpenCallback(*d->crypto, &replays_, p, body, options_.max_callback_bytes, now / kMicrosPerSecond, true);
  if (!fields.ok()) return reject(fields.status());
  auto field = [&](const char* name) {
    auto it = fields->find(name);
    return it == fields->end() ? std::string() : it->second;
  };
  auto accept = [&] {
    replays_.Remember(p.timestamp, p.nonce, p.msg_signature, now / kMicrosPerSecond);
    return Status::OK();
  };
  Inbound in;
  in.user = field("FromUserName");
  if (!IsWeComId(in.user, true)) return reject(Status::InvalidArgument("wecom-app: bad FromUserName"));
  if (field("AgentID") != std::to_string(d->config.agent_id)) {
    Log("desk " + d->id + ": a callback for agent " + field("AgentID").substr(0, 16) + " ignored (configured: " +
        std::to_string(d->config.agent_id) + ")");
    return accept();
  }
  std::string seen;  // what makes a retry of this callback recognisable
  const std::string type = field("MsgType");
  if (type == "event" && field("Event") == "template_card_event") {
    in.kind = "click";
    in.msgid = field("TaskId");
    in.text = field("EventKey");
    if (!IsWeComId(in.msgid, true) || in.text.empty() || in.text.size() > kMaxButtonKeyBytes) {
      return reject(Status::InvalidArgument("wecom-app: bad TaskId or EventKey"));
    }
    seen = "c-" + in.msgid + "-" + in.user;
  } else if (type == "event") {
    if (field("Event") != "enter_agent") return accept();  // other events: accepted, ignored
    in.kind = "enter_agent";
    seen = "e-" + in.user + "-" + field("CreateTime").substr(0, 20);
  } else {
    in.kind = type == "text" ? "text" : "media";
    in.msgtype = type.substr(0, 32);
    in.text = field("Content");
    in.msgid = field("MsgId");
    if (in.msgid.empty() || in.msgid.size() > 64 || !IsWeComId(in.msgid)) {
      return reject(Status::InvalidArgument("wecom-app: bad MsgId"));
    }
    seen = in.msgid;
  }
  {
    // Recorded before the callback is answered: a restart before processing still processes.
    std::lock_guard<std::mutex> lock(d->inbox_mu);
    auto got = side_.Get(SeenKey(d->id, seen));
    if (!got.ok()) return got.status();
    if (got->has_value()) {
      counters_.duplicates.fetch_add(1);
      return accept();
    }
    StoreBatch batch;
    batch.Put(InboxKey(d->id, now, arrivals_.fetch_add(1), seen), in.Encode());
    batch.Put(SeenKey(d->id, seen), std::to_string(now));
    KEFU_RETURN_IF_ERROR(side_.Write(batch));
  }
  counters_.callbacks.fetch_add(1);
  d->inbox_dirty = true;
  return accept();
}

// ---- Threads ---------------------------------------------------------------------------------------

Status WeComAppChannel::Start() {
  if (started_ || desks_.empty()) return Status::OK();
  started_ = true;
  for (auto& d : desks_) {
    Desk* raw = d.get();
    d->thread = std::thread([this, raw] { DeskLoop(raw); });
  }
  return Status::OK();
}

void WeComAppChannel::Stop() {
  stop_ = true;
  for (auto& d : desks_) {
    if (d->thread.joinable()) d->thread.join();
    d->lease.reset();
  }
}

bool WeComAppChannel::HoldLease(Desk& d) {
  if (d.lease != nullptr && d.lease->held()) return true;
  if (d.lease != nullptr) Log("desk " + d.id + ": the lease was lost (database connection); waiting to take it again");
  d.lease.reset();
  auto lease = side_.TryLease(d.id);
  if (lease.ok() && *lease != nullptr) d.lease = std::move(*lease);
  return d.lease != nullptr;
}

Status WeComAppChannel::LoadUsers(Desk& d) {
  d.user_of.clear();
  return side_.ScanPrefix(Prefix(d.id) + "user/", [&](std::string_view key, std::string_view value) {
    auto r = UserRecord::Decode(value);
    if (r.ok()) d.user_of[r->conversation] = std::string(key.substr(Prefix(d.id).size() + 5));
    return true;
  });
}

Status WeComAppChannel::PruneSeen(Desk& d) {
  return ForgetSeen(&side_, Prefix(d.id) + "seen/", clock_->NowMicros() - options_.seen_ttl_micros);
}

void WeComAppChannel::DeskLoop(Desk* d) {
  uint64_t after = 0;
  bool active = false;
  auto next_retry = std::chrono::steady_clock::now();
  auto next_prune = next_retry;
  while (!stop_) {
    if (!HoldLease(*d)) {
      active = false;
      for (int i = 0; i < 20 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    bool catch_up = false;
    if (!active) {  // just taken: users, pending inbox entries and deliveries as the store has them
      if (Status s = LoadUsers(*d); !s.ok()) {
        Log("desk " + d->id + ": reading users: " + s.ToString());
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_interval_millis));
        continue;
      }
      active = catch_up = true;
      after = engine_->LivePosition(d->id);
      d->inbox_dirty = true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_retry) {
      const int64_t every = side_.shared() ? std::min<int64_t>(1000, options_.retry_interval_millis)
                                           : options_.retry_interval_millis;
      next_retry = now + std::chrono::milliseconds(every);
      d->inbox_dirty = true;  // entries that failed for now, or that other processes recorded
      const std::set<std::string> users = std::move(d->retry);
      d->retry.clear();
      for (const std::string& user : users) Deliver(*d, user);
    }
    if (d->inbox_dirty.exchange(false)) WorkInbox(*d);
    FollowEvents(*d, &after, catch_up);
    if (now >= next_prune) {
      next_prune = now + std::chrono::hours(1);
      if (Status s = PruneSeen(*d); !s.ok()) Log("desk " + d->id + ": pruning seen ids: " + s.ToString());
    }
  }
}

void WeComAppChannel::WorkInbox(Desk& d) {
  d.busy = true;
  std::vector<std::pair<std::string, std::string>> entries;
  Status s = side_.ScanPrefix(Prefix(d.id) + "in/", [&](std::string_view key, std::string_view value) {
    entries.emplace_back(key, value);
    return entries.size() < kInboxBatch;
  });
  if (!s.ok()) Log("desk " + d.id + ": reading the inbox: " + s.ToString());
  for (const auto& [key, value] : entries) {
    if (stop_) break;
    auto in = Inbound::Decode(value);
    Status done = in.ok() ? Process(d, *in) : in.status();
    if (IsTransient(done)) {
      counters_.deferred.fetch_add(1);  // in order: the rest waits for the retry
      Log("desk " + d.id + ": an employee's message waits for a retry: " + done.ToString());
      break;
    }
    if (!done.ok()) Log("desk " + d.id + ": an inbox entry was not processed: " + done.ToString());
    StoreBatch batch;
    batch.Delete(key);
    if (!side_.Write(batch).ok()) break;
  }
  if (entries.size() == kInboxBatch) d.inbox_dirty = true;
  d.busy = false;
}

bool WeComAppChannel::WaitIdle(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool idle = true;
    for (auto& d : desks_) {
      bool empty = true;
      Status s = side_.ScanPrefix(Prefix(d->id) + "in/", [&](std::string_view, std::string_view) {
        empty = false;
        return false;
      });
      idle = idle && s.ok() && empty && !d->busy && !d->inbox_dirty;
    }
    if (idle) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void WeComAppChannel::FollowEvents(Desk& d, uint64_t* after, bool catch_up) {
  bool gap = false;
  auto events = engine_->WaitLiveEvents(
      d.id, *after, 200 * 1000, [](const LiveEvent& e) { return e.type == LiveEventType::kMessage && e.for_customer; },
      &gap);
  std::set<std::string> users;
  for (const LiveEvent& e : events) {
    *after = std::max(*after, e.id);
    auto m = DecodeMessage(e.data);
    if (!m.ok() || m->channel != Channel::kWeCom) continue;
    if (m->kind != MessageKind::kAgent && m->kind != MessageKind::kSystem) continue;
    auto it = d.user_of.find(e.conversation);
    if (it != d.user_of.end()) users.insert(it->second);
  }
  if (gap) *after = engine_->LivePosition(d.id);
  if (gap || catch_up) {
    for (const auto& [conversation, user] : d.user_of) users.insert(user);
  }
  for (const std::string& user : users) Deliver(d, user);
  // After Engine::WakeAll (server shutdown) the wait returns at once: do not spin.
  if (events.empty() && !gap) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// ---- Inbound ---------------------------------------------------------------------------------------

Status WeComAppChannel::Process(Desk& d, const Inbound& in) {
  if (in.kind == "text") return OnText(d, in, in.text);
  // An image, voice, file... : nobody's message is lost; the bot cannot read it, so it goes into
  // the conversation as a note of what came, and a person opens it in the WeCom client.
  if (in.kind == "media") return OnText(d, in, MediaPlaceholder(in.msgtype));
  if (in.kind == "enter_agent") return OnEnterAgent(d, in);
  if (in.kind == "click") return OnText(d, in, in.text, in.text);
  return Status::OK();
}

CustomerProfile WeComAppChannel::Profile(Desk& d, const std::string& userid) {
  CustomerProfile p;
  auto e = d.client->GetUser(userid);
  if (!e.ok()) {
    Log("desk " + d.id + ": user/get " + userid + ": " + e.status().ToString());
    return p;
  }
  p.name = std::string(Utf8Prefix(e->name, 100));
  if (e->departments.empty()) return p;
  const int64_t id = e->departments.front();
  auto known = d.departments.find(id);
  if (known == d.departments.end()) {
    auto name = d.client->DepartmentName(id);
    if (!name.ok()) return p;  // optional: the app may not see the department
    known = d.departments.emplace(id, std::string(Utf8Prefix(*name, 100))).first;
  }
  p.department = known->second;
  return p;
}

Result<WeComAppChannel::UserRecord> WeComAppChannel::EnsureConversation(Desk& d, const std::string& userid) {
  auto stored = side_.Get(UserKey(d.id, userid));
  if (!stored.ok()) return stored.status();
  UserRecord r;
  bool have = false;
  if (stored->has_value()) {
    auto decoded = UserRecord::Decode(**stored);
    have = decoded.ok() && engine_->GetConversation(decoded->conversation).ok();
    if (have) r = std::move(*decoded);
  }
  const int64_t now = clock_->NowMicros();
  if (have && now - r.profile_at < options_.profile_ttl_micros) return r;
  StartRequest start;
  start.desk = d.id;
  start.channel = Channel::kWeCom;
  if (d.config.identity == "app") {
    start.verified_user = userid;  // "app:<userid>", as the widget's signed employee
  } else {
    start.channel_user = "app/" + d.config.corp_id + "/" + userid;  // "wecom:app/<corp>/<userid>"
  }
  start.profile = Profile(d, userid);
  auto started = engine_->StartConversation(start);
  if (!started.ok()) return started.status();
  if (!have || r.conversation != started->conversation_id) {
    // The welcome (or, for a conversation found again, its history) does not go out now: the
    // employee's question is answered, and enter_agent greets.
    r = UserRecord();
    r.conversation = started->conversation_id;
    for (const Message& m : started->messages) r.sent.delivered = std::max(r.sent.delivered, m.seq);
  }
  if (!start.profile.empty()) r.profile_at = now;  // else asked again with the next message
  KEFU_RETURN_IF_ERROR(SaveRecord(d, userid, r));
  d.user_of[r.conversation] = userid;
  return r;
}

Status WeComAppChannel::SaveRecord(Desk& d, const std::string& userid, const UserRecord& r) {
  StoreBatch batch;
  batch.Put(UserKey(d.id, userid), r.Encode());
  return side_.Write(batch);
}

Status WeComAppChannel::OnText(Desk& d, const Inbound& in, std::string raw, const std::string& choice) {
  auto record = EnsureConversation(d, in.user);
  if (!record.ok()) return record.status();
  const auto choices = record->Choices();
  // A card's button: the choice it names, said as the title it showed.
  for (const auto& [id, title] : choices) {
    if (!choice.empty() && id == choice) raw = title;
  }
  CustomerMessageRequest req;
  req.conversation_id = record->conversation;
  req.text = CustomerText(raw, static_cast<size_t>(d.max_message_chars));
  if (req.text.empty()) return Status::OK();
  req.channel = Channel::kWeCom;
  req.client_msg_id = "wecomapp:" + in.msgid;
  req.choice = choice;
  // A bare number answers the numbered choices sent last.
  const size_t n = in.kind == "text" ? ChoiceNumber(req.text, choices.size()) : 0;
  if (n > 0) {
    req.choice = choices[n - 1].first;
    if (req.choice.empty()) req.text = choices[n - 1].second;  // a quick reply: its text
  }
  auto turn = engine_->PostCustomerMessage(req);
  if (!turn.ok() && turn.status().code() == Status::Code::kInvalidArgument && !req.choice.empty()) {
    req.choice.clear();  // choices of an older KB: read as the title it showed
    if (n > 0) req.text = choices[n - 1].second;
    turn = engine_->PostCustomerMessage(req);
  }
  if (!turn.ok()) return turn.status();
  counters_.messages.fetch_add(1);
  Deliver(d, in.user);
  return Status::OK();
}

Status WeComAppChannel::OnEnterAgent(Desk& d, const Inbound& in) {
  auto record = EnsureConversation(d, in.user);
  if (!record.ok()) return record.status();
  if (record->greeted_at > 0 && clock_->NowMicros() - record->greeted_at < options_.greet_interval_micros) {
    return Status::OK();
  }
  auto first = engine_->History(record->conversation, 0, 1, false);
  if (!first.ok()) return first.status();
  if (first->empty() || first->front().kind != MessageKind::kBot) return Status::OK();
  // A greeting is a courtesy: one that cannot go out now is not retried (it would hold up the
  // inbox); the next enter_agent tries again.
  Status s = d.client->SendText(in.user, Utf8Prefix(first->front().text, options_.max_text_bytes));
  if (!s.ok()) {
    counters_.refused.fetch_add(1);
    Log("desk " + d.id + ": the greeting was not sent: " + s.ToString());
    return Status::OK();
  }
  counters_.sent.fetch_add(1);
  record->greeted_at = clock_->NowMicros();
  return SaveRecord(d, in.user, *record);
}

// ---- Outbound --------------------------------------------------------------------------------------

// Sends, in order, the messages of the employee's conversation that were not sent yet. A
// transient failure (a rate limit included) leaves the rest for a retry.
void WeComAppChannel::Deliver(Desk& d, const std::string& userid) {
  auto stored = side_.Get(UserKey(d.id, userid));
  if (!stored.ok() || !stored->has_value()) {
    if (!stored.ok()) d.retry.insert(userid);
    return;
  }
  auto record = UserRecord::Decode(**stored);
  if (!record.ok()) return;
  UserRecord& r = *record;
  auto render = [&](const Message& m) {
    if (!m.choices.empty()) {  // what a bare number will pick
      r.choices.clear();
      for (const MessageChoice& c : m.choices) {
        std::string title = c.title;
        std::replace_if(title.begin(), title.end(), [](char ch) { return ch == '\t' || ch == '\n'; }, ' ');
        r.choices += c.entry_id + "\t" + title + "\n";
      }
    }
    return Render(m, r.conversation, d.config.cards, options_.max_text_bytes);
  };
  auto send = [&](const Message& m, const AppPart& part) {
    Status s = part.buttons.empty() ? d.client->SendText(userid, part.text)
                                    : d.client->SendButtons(userid, part.task_id, part.title, part.text, part.buttons);
    if (IsTransient(s)) {
      counters_.deferred.fetch_add(1);
      return PartOutcome::kWait;
    }
    if (!s.ok()) {
      counters_.refused.fetch_add(1);
      Log("desk " + d.id + ": WeCom refused message " + std::to_string(m.seq) + " of " + r.conversation + ": " +
          s.message());
      return PartOutcome::kRefused;
    }
    counters_.sent.fetch_add(1);
    return PartOutcome::kSent;
  };
  const DeliveryResult result = DeliverInOrder<AppPart>(engine_, r.conversation, &r.sent, render, send,
                                                            [&] { return SaveRecord(d, userid, r); });
  if (result != DeliveryResult::kDone) d.retry.insert(userid);
}

}  // namespace kefu
