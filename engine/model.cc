#include "engine/model.h"

#include <algorithm>

#include "base/json.h"

namespace kefu {
namespace {

constexpr std::string_view kStateNames[] = {"new", "bot", "queued", "agent", "resolved"};
constexpr std::string_view kChannelNames[] = {"web", "app", "wecom"};
constexpr std::string_view kPresenceNames[] = {"offline", "away", "online"};
constexpr std::string_view kReasonNames[] = {"none",           "low_confidence",  "asked_for_person", "unhelpful_answer",
                                             "clarify_streak", "handoff_entry",   "follow_up"};
constexpr std::string_view kKindNames[] = {"customer", "bot", "agent", "system", "note"};
constexpr std::string_view kTicketNames[] = {"open", "pending", "solved", "closed"};
constexpr std::string_view kEventNames[] = {"started",  "message", "bot_answer", "bot_clarify", "state",
                                            "assigned", "first_response", "feedback", "csat", "sla_breached",
                                            "ticket",   "transferred", "unmatched"};

template <typename Enum, size_t N>
std::string_view NameOf(const std::string_view (&names)[N], Enum value) {
  const size_t i = static_cast<size_t>(value);
  return i < N ? names[i] : std::string_view("unknown");
}

template <typename Enum, size_t N>
std::optional<Enum> Parse(const std::string_view (&names)[N], std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

// Reads store records: fields are optional (records written by an older kefu lack newer
// fields) and unknown fields are ignored (a newer kefu may add some).
class RecordReader {
 public:
  RecordReader(const JsonObject& o, std::string_view kind) : o_(o), kind_(kind) {}
  std::string Str(std::string_view name) {
    std::string v;
    Note(o_.GetString(name, Presence::kOptional, &v, 1 << 20, true));
    return v;
  }
  int64_t Int(std::string_view name) {
    int64_t v = 0;
    Note(o_.GetInt(name, Presence::kOptional, INT64_MIN, INT64_MAX, &v));
    return v;
  }
  // Sequence numbers and ids are never negative: a record claiming one is corrupt, and would
  // not survive the unsigned round trip.
  uint64_t Seq(std::string_view name) {
    int64_t v = 0;
    Note(o_.GetInt(name, Presence::kOptional, 0, INT64_MAX, &v));
    return static_cast<uint64_t>(v);
  }
  bool Bool(std::string_view name) {
    bool v = false;
    Note(o_.GetBool(name, Presence::kOptional, &v));
    return v;
  }
  std::vector<std::string> Strings(std::string_view name) {
    std::vector<std::string> v;
    Note(o_.GetStringArray(name, Presence::kOptional, 100000, 1 << 20, &v));
    return v;
  }
  template <typename Enum, size_t N>
  Enum Named(std::string_view name, const std::string_view (&names)[N], Enum fallback) {
    const std::string s = Str(name);
    if (s.empty()) return fallback;
    auto parsed = Parse<Enum>(names, s);
    if (!parsed) Note(Status::Corruption("field '" + std::string(name) + "': unknown value '" + s + "'"));
    return parsed.value_or(fallback);
  }
  const JsonObject& object() const { return o_; }
  Status status() const { return status_.ok() ? status_ : status_.WithContext(std::string(kind_) + " record"); }
  void Note(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = Status::Corruption(s.message());
  }

 private:
  const JsonObject& o_;
  std::string_view kind_;
  Status status_;
};

// Parses `json` and runs `read` on its object; Corruption on any problem.
template <typename T, typename ReadFn>
Result<T> DecodeRecord(std::string_view json, std::string_view kind, ReadFn read) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return Status::Corruption(std::string(kind) + " record: " + doc.status().message());
  auto object = JsonObject::From(**doc);
  if (!object.ok()) return Status::Corruption(std::string(kind) + " record: not an object");
  RecordReader r(*object, kind);
  T value;
  read(r, value);
  if (!r.status().ok()) return r.status();
  return value;
}

void WriteStrings(JsonWriter& w, std::string_view key, const std::vector<std::string>& items) {
  if (items.empty()) return;
  w.Key(key).BeginArray();
  for (const std::string& s : items) w.String(s);
  w.EndArray();
}

// Writes a field only when it differs from its zero value: records stay small.
void Opt(JsonWriter& w, std::string_view key, std::string_view v) {
  if (!v.empty()) w.Field(key, v);
}
void Opt(JsonWriter& w, std::string_view key, int64_t v) {
  if (v != 0) w.Field(key, v);
}

}  // namespace

std::string_view ConversationStateName(ConversationState s) { return NameOf(kStateNames, s); }
std::optional<ConversationState> ParseConversationState(std::string_view n) {
  return Parse<ConversationState>(kStateNames, n);
}
std::string_view ChannelName(Channel c) { return NameOf(kChannelNames, c); }
std::optional<Channel> ParseChannel(std::string_view n) { return Parse<Channel>(kChannelNames, n); }
std::string_view PresenceName(AgentPresence p) { return NameOf(kPresenceNames, p); }
std::optional<AgentPresence> ParsePresence(std::string_view n) { return Parse<AgentPresence>(kPresenceNames, n); }
std::string_view EscalationReasonName(EscalationReason r) { return NameOf(kReasonNames, r); }
std::optional<EscalationReason> ParseEscalationReason(std::string_view n) {
  return Parse<EscalationReason>(kReasonNames, n);
}
std::string_view MessageKindName(MessageKind k) { return NameOf(kKindNames, k); }
std::optional<MessageKind> ParseMessageKind(std::string_view n) { return Parse<MessageKind>(kKindNames, n); }
std::string_view TicketStatusName(TicketStatus s) { return NameOf(kTicketNames, s); }
std::optional<TicketStatus> ParseTicketStatus(std::string_view n) { return Parse<TicketStatus>(kTicketNames, n); }
std::string_view EventTypeName(EventType t) { return NameOf(kEventNames, t); }
std::optional<EventType> ParseEventType(std::string_view n) { return Parse<EventType>(kEventNames, n); }

bool Agent::Serves(std::string_view team) const {
  return teams.empty() || team.empty() || std::find(teams.begin(), teams.end(), team) != teams.end();
}

std::string EncodeConversation(const Conversation& c) {
  JsonWriter w;
  w.BeginObject().Field("id", c.id).Field("desk", c.desk).Field("customer", c.customer);
  w.Field("token", c.customer_token_hash).Field("state", ConversationStateName(c.state));
  WriteStrings(w, "devices", c.device_token_hashes);
  w.Field("channel", ChannelName(c.last_channel));
  Opt(w, "lang", c.language);
  Opt(w, "team", c.team);
  Opt(w, "assignee", c.assignee);
  Opt(w, "last_agent", c.last_agent);
  Opt(w, "priority", c.priority);
  w.Field("created", c.created_at);
  Opt(w, "last_customer", c.last_customer_at);
  Opt(w, "seen", c.customer_seen_at);
  Opt(w, "answered", c.answered_at);
  Opt(w, "last_activity", c.last_activity_at);
  Opt(w, "enqueued", c.enqueued_at);
  Opt(w, "escalated", c.escalated_at);
  Opt(w, "first_response", c.first_response_at);
  Opt(w, "assigned", c.assigned_at);
  if (c.escalation != EscalationReason::kNone) w.Field("escalation", EscalationReasonName(c.escalation));
  w.Field("last_seq", c.last_seq);
  Opt(w, "clarify_streak", c.clarify_streak);
  Opt(w, "last_question", c.last_question);
  Opt(w, "ticket", c.ticket);
  Opt(w, "resolutions", c.resolutions);
  Opt(w, "rated", c.rated_resolution);
  if (c.sla_breached) w.Field("sla_breached", true);
  Opt(w, "idle_due", c.idle_due);
  Opt(w, "sla_due", c.sla_due);
  Opt(w, "profile_name", c.profile.name);
  Opt(w, "profile_email", c.profile.email);
  Opt(w, "profile_department", c.profile.department);
  return w.EndObject().Take();
}

Result<Conversation> DecodeConversation(std::string_view json) {
  return DecodeRecord<Conversation>(json, "conversation", [](RecordReader& r, Conversation& c) {
    c.id = r.Str("id");
    c.desk = r.Str("desk");
    c.customer = r.Str("customer");
    c.customer_token_hash = r.Str("token");
    c.device_token_hashes = r.Strings("devices");
    c.state = r.Named("state", kStateNames, ConversationState::kNew);
    c.last_channel = r.Named("channel", kChannelNames, Channel::kWeb);
    c.language = r.Str("lang");
    c.team = r.Str("team");
    c.assignee = r.Str("assignee");
    c.last_agent = r.Str("last_agent");
    c.priority = static_cast<int>(r.Int("priority"));
    c.created_at = r.Int("created");
    c.last_customer_at = r.Int("last_customer");
    c.customer_seen_at = r.Int("seen");
    c.answered_at = r.Int("answered");
    c.last_activity_at = r.Int("last_activity");
    c.enqueued_at = r.Int("enqueued");
    c.escalated_at = r.Int("escalated");
    c.first_response_at = r.Int("first_response");
    c.assigned_at = r.Int("assigned");
    c.escalation = r.Named("escalation", kReasonNames, EscalationReason::kNone);
    c.last_seq = r.Seq("last_seq");
    c.clarify_streak = static_cast<int>(r.Int("clarify_streak"));
    c.last_question = r.Str("last_question");
    c.ticket = r.Str("ticket");
    c.resolutions = static_cast<int>(r.Int("resolutions"));
    c.rated_resolution = static_cast<int>(r.Int("rated"));
    c.sla_breached = r.Bool("sla_breached");
    c.idle_due = r.Int("idle_due");
    c.sla_due = r.Int("sla_due");
    c.profile.name = r.Str("profile_name");
    c.profile.email = r.Str("profile_email");
    c.profile.department = r.Str("profile_department");
    if (c.id.empty()) r.Note(Status::Corruption("no id"));
  });
}

std::string EncodeMessage(const Message& m) {
  JsonWriter w;
  w.BeginObject().Field("seq", m.seq).Field("kind", MessageKindName(m.kind));
  Opt(w, "author", m.author);
  Opt(w, "author_name", m.author_name);
  w.Field("text", m.text).Field("at", m.at).Field("channel", ChannelName(m.channel));
  Opt(w, "client_msg_id", m.client_msg_id);
  Opt(w, "entry_id", m.entry_id);
  if (!m.choices.empty()) {
    w.Key("choices").BeginArray();
    for (const MessageChoice& c : m.choices) {
      w.BeginObject();
      Opt(w, "entry_id", c.entry_id);
      w.Field("title", c.title).EndObject();
    }
    w.EndArray();
  }
  if (!m.links.empty()) {
    w.Key("links").BeginArray();
    for (const MessageLink& l : m.links) w.BeginObject().Field("title", l.title).Field("url", l.url).EndObject();
    w.EndArray();
  }
  return w.EndObject().Take();
}

Result<Message> DecodeMessage(std::string_view json) {
  return DecodeRecord<Message>(json, "message", [](RecordReader& r, Message& m) {
    m.seq = r.Seq("seq");
    m.kind = r.Named("kind", kKindNames, MessageKind::kCustomer);
    m.author = r.Str("author");
    m.author_name = r.Str("author_name");
    m.text = r.Str("text");
    m.at = r.Int("at");
    m.channel = r.Named("channel", kChannelNames, Channel::kWeb);
    m.client_msg_id = r.Str("client_msg_id");
    m.entry_id = r.Str("entry_id");
    const rapidjson::Value* items = nullptr;
    r.Note(r.object().GetArray("choices", Presence::kOptional, &items));
    for (rapidjson::SizeType i = 0; items != nullptr && i < items->Size(); ++i) {
      auto o = JsonObject::From((*items)[i]);
      if (!o.ok()) return r.Note(Status::Corruption("choice is not an object"));
      MessageChoice c;
      r.Note(o->GetString("entry_id", Presence::kOptional, &c.entry_id, 1000, true));
      r.Note(o->GetString("title", Presence::kOptional, &c.title, 100000, true));
      m.choices.push_back(std::move(c));
    }
    r.Note(r.object().GetArray("links", Presence::kOptional, &items));
    for (rapidjson::SizeType i = 0; items != nullptr && i < items->Size(); ++i) {
      auto o = JsonObject::From((*items)[i]);
      if (!o.ok()) return r.Note(Status::Corruption("link is not an object"));
      MessageLink l;
      r.Note(o->GetString("title", Presence::kOptional, &l.title, 100000, true));
      r.Note(o->GetString("url", Presence::kOptional, &l.url, 100000, true));
      m.links.push_back(std::move(l));
    }
  });
}

std::string EncodeAgent(const Agent& a) {
  JsonWriter w;
  w.BeginObject().Field("desk", a.desk).Field("username", a.username);
  Opt(w, "name", a.display_name);
  w.Field("password", a.password_hash);
  WriteStrings(w, "teams", a.teams);
  w.Field("capacity", a.capacity).Field("created", a.created_at);
  if (a.desk_admin) w.Field("desk_admin", true);
  Opt(w, "epoch", a.session_epoch);
  return w.EndObject().Take();
}

Result<Agent> DecodeAgent(std::string_view json) {
  return DecodeRecord<Agent>(json, "agent", [](RecordReader& r, Agent& a) {
    a.desk = r.Str("desk");
    a.username = r.Str("username");
    a.display_name = r.Str("name");
    a.password_hash = r.Str("password");
    a.teams = r.Strings("teams");
    a.capacity = static_cast<int>(r.Int("capacity"));
    a.created_at = r.Int("created");
    a.desk_admin = r.Bool("desk_admin");
    a.session_epoch = r.Str("epoch");
    if (a.username.empty()) r.Note(Status::Corruption("no username"));
  });
}

std::string EncodeTicket(const Ticket& t) {
  JsonWriter w;
  w.BeginObject().Field("id", t.id).Field("desk", t.desk).Field("number", t.number);
  w.Field("conversation", t.conversation).Field("customer", t.customer).Field("subject", t.subject);
  Opt(w, "priority", t.priority);
  WriteStrings(w, "tags", t.tags);
  Opt(w, "team", t.team);
  Opt(w, "assignee", t.assignee);
  w.Field("status", TicketStatusName(t.status)).Field("reason", EscalationReasonName(t.reason));
  w.Field("created", t.created_at).Field("updated", t.updated_at);
  Opt(w, "remind", t.remind_at);
  if (t.customer_notified) w.Field("notified", true);
  return w.EndObject().Take();
}

Result<Ticket> DecodeTicket(std::string_view json) {
  return DecodeRecord<Ticket>(json, "ticket", [](RecordReader& r, Ticket& t) {
    t.id = r.Str("id");
    t.desk = r.Str("desk");
    t.number = r.Int("number");
    t.conversation = r.Str("conversation");
    t.customer = r.Str("customer");
    t.subject = r.Str("subject");
    t.priority = static_cast<int>(r.Int("priority"));
    t.tags = r.Strings("tags");
    t.team = r.Str("team");
    t.assignee = r.Str("assignee");
    t.status = r.Named("status", kTicketNames, TicketStatus::kOpen);
    t.reason = r.Named("reason", kReasonNames, EscalationReason::kNone);
    t.created_at = r.Int("created");
    t.updated_at = r.Int("updated");
    t.remind_at = r.Int("remind");
    t.customer_notified = r.Bool("notified");
    if (t.id.empty()) r.Note(Status::Corruption("no id"));
  });
}

std::string EncodeEvent(const Event& e) {
  JsonWriter w;
  w.BeginObject().Field("id", e.id).Field("at", e.at).Field("desk", e.desk);
  Opt(w, "conversation", e.conversation);
  w.Field("type", EventTypeName(e.type));
  Opt(w, "actor", e.actor);
  if (e.type == EventType::kStateChanged) {
    w.Field("from", ConversationStateName(e.from)).Field("to", ConversationStateName(e.to));
  }
  Opt(w, "reason", e.reason);
  Opt(w, "detail", e.detail);
  Opt(w, "value", e.value);
  return w.EndObject().Take();
}

Result<Event> DecodeEvent(std::string_view json) {
  return DecodeRecord<Event>(json, "event", [](RecordReader& r, Event& e) {
    e.id = r.Seq("id");
    e.at = r.Int("at");
    e.desk = r.Str("desk");
    e.conversation = r.Str("conversation");
    e.type = r.Named("type", kEventNames, EventType::kStarted);
    e.actor = r.Str("actor");
    e.from = r.Named("from", kStateNames, ConversationState::kNew);
    e.to = r.Named("to", kStateNames, ConversationState::kNew);
    e.reason = r.Str("reason");
    e.detail = r.Str("detail");
    e.value = r.Int("value");
  });
}

std::string EncodeAgentLive(const AgentLive& a) {
  JsonWriter w;
  w.BeginObject().Field("presence", PresenceName(a.presence));
  Opt(w, "last_seen", a.last_seen);
  Opt(w, "heartbeat_due", a.heartbeat_due);
  Opt(w, "last_assigned", a.last_assigned_at);
  Opt(w, "failed_logins", a.failed_logins);
  Opt(w, "first_failed", a.first_failed_at);
  return w.EndObject().Take();
}

Result<AgentLive> DecodeAgentLive(std::string_view json) {
  return DecodeRecord<AgentLive>(json, "agent presence", [](RecordReader& r, AgentLive& a) {
    a.presence = r.Named("presence", kPresenceNames, AgentPresence::kOffline);
    a.last_seen = r.Int("last_seen");
    a.heartbeat_due = r.Int("heartbeat_due");
    a.last_assigned_at = r.Int("last_assigned");
    a.failed_logins = static_cast<int>(r.Int("failed_logins"));
    a.first_failed_at = r.Int("first_failed");
  });
}

std::string EncodeSession(const Session& s) {
  JsonWriter w;
  w.BeginObject().Field("desk", s.desk).Field("username", s.username).Field("expires", s.expires_at);
  Opt(w, "epoch", s.agent_epoch);
  return w.EndObject().Take();
}

Result<Session> DecodeSession(std::string_view json) {
  return DecodeRecord<Session>(json, "session", [](RecordReader& r, Session& s) {
    s.desk = r.Str("desk");
    s.username = r.Str("username");
    s.expires_at = r.Int("expires");
    s.agent_epoch = r.Str("epoch");
    if (s.username.empty()) r.Note(Status::Corruption("no username"));
  });
}

}  // namespace kefu
