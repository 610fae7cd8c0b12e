#include "engine/records.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <set>

namespace kefu {
namespace {

std::string Padded(uint64_t n, int width) {
  std::string s = std::to_string(n);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}

// A key component that may hold '/' (customer ids such as "wecom:<kf>/<user>"): '%' and '/' are
// escaped, so that a component never runs into the next.
std::string Component(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

std::string TokenKey(std::string_view hash) { return Join({"tk", hash}); }
std::string CustomerKey(std::string_view desk, std::string_view customer) {
  return Join({"cu", desk, Component(customer)});
}
std::string ClientMessageKey(std::string_view conversation, std::string_view client_msg_id) {
  return Join({"x", conversation, Component(client_msg_id)});
}
std::string QueueKey(std::string_view desk, const QueueEntry& e) {
  const int inverted = 999 - std::clamp(e.priority, 0, 999);
  return Join({"q", desk, Padded(static_cast<uint64_t>(inverted), 3), Padded(static_cast<uint64_t>(e.enqueued_at), 16),
               e.conversation});
}
std::string AgentKey(std::string_view desk, std::string_view user) { return Join({"a", desk, user}); }
std::string AgentLiveKey(std::string_view desk, std::string_view user) { return Join({"p", desk, user}); }
std::string ServingPrefix(std::string_view desk) { return Join({"ia", desk}) + "/"; }
std::string ServingKey(std::string_view desk, std::string_view user, std::string_view conversation) {
  return Join({"ia", desk, user, conversation});
}
std::string SessionKey(std::string_view hash) { return Join({"s", hash}); }
std::string TicketKey(std::string_view desk, int64_t number) {
  return Join({"t", desk, Padded(static_cast<uint64_t>(number), 12)});
}
std::string TicketStatusPrefix(std::string_view desk, TicketStatus status) {
  return Join({"ts", desk, TicketStatusName(status)}) + "/";
}
std::string TicketCustomerPrefix(std::string_view desk, std::string_view customer) {
  return Join({"tc", desk, Component(customer)}) + "/";
}
std::string CounterKey(std::string_view desk, std::string_view name) { return Join({"n", desk, name}); }

constexpr std::string_view kTimerKinds[] = {"idle", "sla", "remind", "heartbeat"};

std::string TimerKey(int64_t due, TimerKind kind, std::string_view desk, std::string_view id) {
  return Join({"tm", Padded(static_cast<uint64_t>(due), 16), kTimerKinds[static_cast<int>(kind)], desk, id});
}

uint64_t NewEventId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  return random() >> 1;  // 63 bits: records store integers as int64
}

std::string Hex16(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kDigits[v & 15];
  return out;
}

bool ParseUint(std::string_view s, uint64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::vector<std::string> TokensOf(const Conversation& c) {
  std::vector<std::string> out = c.device_token_hashes;
  if (!c.customer_token_hash.empty()) out.push_back(c.customer_token_hash);
  return out;
}

// Index rows a record has, so that a save can remove the old ones and add the new.
std::set<std::string> IndexRowsOf(const Conversation& c) {
  std::set<std::string> rows;
  for (const std::string& t : TokensOf(c)) rows.insert(TokenKey(t));
  if (c.state == ConversationState::kQueued) {
    rows.insert(QueueKey(c.desk, QueueEntry{c.id, c.team, c.priority, c.enqueued_at}));
  }
  if (c.state == ConversationState::kAgent && !c.assignee.empty()) rows.insert(ServingKey(c.desk, c.assignee, c.id));
  if (c.idle_due != 0) rows.insert(TimerKey(c.idle_due, TimerKind::kIdle, c.desk, c.id));
  if (c.sla_due != 0) rows.insert(TimerKey(c.sla_due, TimerKind::kSla, c.desk, c.id));
  return rows;
}

std::set<std::string> IndexRowsOf(const Ticket& t) {
  std::set<std::string> rows;
  const std::string number = Padded(static_cast<uint64_t>(t.number), 12);
  rows.insert(TicketStatusPrefix(t.desk, t.status) + number);
  rows.insert(TicketCustomerPrefix(t.desk, t.customer) + number);
  if (t.remind_at != 0 && t.status == TicketStatus::kPending) {
    rows.insert(TimerKey(t.remind_at, TimerKind::kRemind, t.desk, std::to_string(t.number)));
  }
  return rows;
}

// Deletes the rows only `before` has and puts the ones only `after` has (the value of an index
// row is `value_of(key)`).
void UpdateIndexRows(Transaction& tx, const std::set<std::string>& before, const std::set<std::string>& after,
                     const std::function<std::string(const std::string&)>& value_of) {
  for (const std::string& k : before) {
    if (after.count(k) == 0) tx.Delete(k);
  }
  for (const std::string& k : after) {
    if (before.count(k) == 0) tx.Put(k, value_of(k));
  }
}

}  // namespace

std::string SchemaKey() { return "meta/schema"; }
std::string ConversationKey(std::string_view id) { return Join({"c", id}); }
std::string MessagePrefix(std::string_view conversation) { return Join({"m", conversation}) + "/"; }
std::string MessageKey(std::string_view conversation, uint64_t seq) { return MessagePrefix(conversation) + Padded(seq, 12); }
std::string QueuePrefix(std::string_view desk) { return Join({"q", desk}) + "/"; }
std::string AgentPrefix(std::string_view desk) { return Join({"a", desk}) + "/"; }
std::string KbKey(std::string_view desk, std::string_view language) { return Join({"k", desk, language}); }
std::string EventPrefix(std::string_view desk, bool pending) { return Join({pending ? "ep" : "e", desk}) + "/"; }
std::string EventKey(std::string_view desk, int64_t at, uint64_t id, bool pending) {
  return EventPrefix(desk, pending) + Padded(static_cast<uint64_t>(std::max<int64_t>(0, at)), 16) + "/" + Hex16(id);
}
std::string TimerPrefix() { return "tm/"; }
std::string TimerLimit(int64_t due_through) { return "tm/" + Padded(static_cast<uint64_t>(due_through) + 1, 16); }

bool ParseTimerKey(std::string_view key, TimerRow* row) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) return false;
    parts.push_back(key.substr(start, slash - start));
    start = slash + 1;
  }
  parts.push_back(key.substr(start));  // the id may not hold '/', the rest is fixed
  uint64_t due = 0;
  if (parts[0] != "tm" || !ParseUint(parts[1], &due)) return false;
  auto kind = std::find(std::begin(kTimerKinds), std::end(kTimerKinds), parts[2]);
  if (kind == std::end(kTimerKinds) || parts[3].empty() || parts[4].empty()) return false;
  row->key = std::string(key);
  row->due = static_cast<int64_t>(due);
  row->kind = static_cast<TimerKind>(kind - std::begin(kTimerKinds));
  row->desk = std::string(parts[3]);
  row->id = std::string(parts[4]);
  return true;
}

// ---- Reading through the working set -------------------------------------------------------------

Result<std::optional<std::string>> RecordTxn::Read(std::string_view key, Lock lock, int rank) {
  switch (lock) {
    case Lock::kNone: return tx_->Get(key);
    case Lock::kUpdate: return tx_->GetForUpdate(key, rank);
    case Lock::kTry: return tx_->GetForUpdate(key, kTryLock);
  }
  return tx_->Get(key);
}

template <typename T>
Result<std::optional<std::shared_ptr<const T>>> RecordTxn::Load(std::string_view key, Lock lock, int rank,
                                                               Result<T> (*decode)(std::string_view),
                                                               std::string* stored) {
  auto bytes = Read(key, lock, rank);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<std::shared_ptr<const T>>();
  auto record = cache_->Get<T>(key, **bytes, decode);
  if (!record.ok()) return record.status().WithContext(std::string(key));
  if (stored != nullptr) *stored = std::move(**bytes);
  return std::optional<std::shared_ptr<const T>>(std::move(*record));
}

void RecordTxn::Committed() {
  for (auto& [key, w] : written_) w.remember(cache_, key, w.bytes);
  written_.clear();
}

// ---- Conversations and messages -------------------------------------------------------------------

Result<Conversation> RecordTxn::LoadConversation(std::string_view id, Lock lock, std::string* bytes) {
  auto c = Load<Conversation>(ConversationKey(id), lock, kRankConversation, &DecodeConversation, bytes);
  if (!c.ok()) return c.status();
  if (!c->has_value()) return Status::NotFound("no such conversation");
  return ***c;
}

Status RecordTxn::SaveConversation(const Conversation* before, const Conversation& after, std::string bytes) {
  const std::string key = ConversationKey(after.id);
  if (bytes.empty()) bytes = EncodeConversation(after);
  tx_->Put(key, bytes);
  Remember(key, std::move(bytes), std::make_shared<const Conversation>(after));
  const bool was_waiting = before != nullptr && before->state == ConversationState::kQueued;
  const bool waiting = after.state == ConversationState::kQueued;
  if (was_waiting != waiting) KEFU_RETURN_IF_ERROR(AddToCounter(after.desk, "waiting", waiting ? 1 : -1));
  const std::set<std::string> old_rows = before ? IndexRowsOf(*before) : std::set<std::string>();
  UpdateIndexRows(*tx_, old_rows, IndexRowsOf(after), [&](const std::string& k) -> std::string {
    if (k.rfind("tk/", 0) == 0) return after.id;
    if (k.rfind("q/", 0) == 0) return after.team;
    return "";
  });
  if (before == nullptr || before->customer != after.customer) {
    if (before != nullptr) {
      auto owner = ConversationOfCustomer(before->desk, before->customer);
      if (!owner.ok()) return owner.status();
      if (*owner == before->id) tx_->Delete(CustomerKey(before->desk, before->customer));
    }
    tx_->Put(CustomerKey(after.desk, after.customer), after.id);
  }
  return Status::OK();
}

void RecordTxn::PutMessage(std::string_view conversation, const Message& m, std::string_view encoded) {
  if (encoded.empty()) {
    tx_->Put(MessageKey(conversation, m.seq), EncodeMessage(m));
  } else {
    tx_->Put(MessageKey(conversation, m.seq), encoded);
  }
  if (m.kind == MessageKind::kCustomer && !m.client_msg_id.empty()) {
    tx_->Put(ClientMessageKey(conversation, m.client_msg_id), std::to_string(m.seq));
  }
}

Result<std::optional<Message>> RecordTxn::LoadMessage(std::string_view conversation, uint64_t seq) {
  auto bytes = tx_->Get(MessageKey(conversation, seq));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<Message>();
  auto m = DecodeMessage(**bytes);
  if (!m.ok()) return m.status();
  return std::optional<Message>(std::move(*m));
}

Result<std::optional<uint64_t>> RecordTxn::FindClientMessage(std::string_view conversation,
                                                              std::string_view client_msg_id) {
  auto v = tx_->Get(ClientMessageKey(conversation, client_msg_id));
  if (!v.ok()) return v.status();
  uint64_t seq = 0;
  if (!v->has_value()) return std::optional<uint64_t>();
  if (!ParseUint(**v, &seq)) return Status::Corruption("client message index of " + std::string(conversation));
  return std::optional<uint64_t>(seq);
}

Result<std::vector<Message>> RecordTxn::Messages(std::string_view conversation, uint64_t after_seq, size_t limit,
                                                 bool include_notes) {
  std::vector<Message> out;
  Status decode_error;
  ScanOptions options;
  Status s = tx_->Scan(MessageKey(conversation, after_seq + 1), PrefixLimit(MessagePrefix(conversation)), options,
                       [&](std::string_view, std::string_view value) {
                         auto m = DecodeMessage(value);
                         if (!m.ok()) {
                           decode_error = m.status();
                           return false;
                         }
                         if (include_notes || !m->internal()) out.push_back(std::move(*m));
                         return out.size() < limit;
                       });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(decode_error);
  return out;
}

Result<std::optional<std::string>> RecordTxn::ConversationOfToken(std::string_view token_hash) {
  return tx_->Get(TokenKey(token_hash));
}

Result<std::optional<std::string>> RecordTxn::ConversationOfCustomer(std::string_view desk, std::string_view customer) {
  return tx_->Get(CustomerKey(desk, customer));
}

void RecordTxn::SetCustomerConversation(std::string_view desk, std::string_view customer,
                                        std::string_view conversation) {
  tx_->Put(CustomerKey(desk, customer), conversation);
}

Status RecordTxn::LockCustomer(std::string_view desk, std::string_view customer) {
  return tx_->LockName(CustomerKey(desk, customer), kRankCustomer);
}

// ---- The waiting line -----------------------------------------------------------------------------

namespace {
bool ParseQueueRow(std::string_view desk, std::string_view key, std::string_view team, QueueRow* row) {
  const std::string prefix = QueuePrefix(desk);
  if (key.size() < prefix.size() + 3 + 1 + 16 + 2) return false;
  std::string_view rest = key.substr(prefix.size());
  uint64_t inverted = 0, enqueued = 0;
  if (!ParseUint(rest.substr(0, 3), &inverted) || rest[3] != '/' || !ParseUint(rest.substr(4, 16), &enqueued) ||
      rest[20] != '/') {
    return false;
  }
  row->key = std::string(key);
  row->entry = QueueEntry{std::string(rest.substr(21)), std::string(team), 999 - static_cast<int>(inverted),
                          static_cast<int64_t>(enqueued)};
  return true;
}
}  // namespace

Status RecordTxn::ScanQueue(std::string_view desk, const std::function<bool(const QueueRow&)>& fn) {
  const std::string prefix = QueuePrefix(desk);
  return tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view v) {
    QueueRow row;
    return !ParseQueueRow(desk, k, v, &row) || fn(row);
  });
}

Result<std::vector<QueueRow>> RecordTxn::ClaimQueue(std::string_view desk, size_t max) {
  const std::string prefix = QueuePrefix(desk);
  std::vector<QueueRow> out;
  ScanOptions options;
  options.max_rows = max;
  options.skip_locked = true;
  options.lock_rank = kRankQueue;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), options, [&](std::string_view k, std::string_view v) {
    QueueRow row;
    if (ParseQueueRow(desk, k, v, &row)) out.push_back(std::move(row));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

// ---- Agents -----------------------------------------------------------------------------------------

Result<std::optional<Agent>> RecordTxn::LoadAgent(std::string_view desk, std::string_view username) {
  auto a = Load<Agent>(AgentKey(desk, username), Lock::kNone, 0, &DecodeAgent);
  if (!a.ok()) return a.status();
  if (!a->has_value()) return std::optional<Agent>();
  return std::optional<Agent>(***a);
}

Result<std::vector<Agent>> RecordTxn::Agents(std::string_view desk) {
  std::vector<Agent> out;
  const std::string prefix = AgentPrefix(desk);
  Status error;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view v) {
    auto a = cache_->Get<Agent>(k, v, &DecodeAgent);
    if (!a.ok()) {
      error = a.status();
      return false;
    }
    out.push_back(**a);
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(error);
  return out;
}

void RecordTxn::PutAgent(const Agent& a) {
  const std::string key = AgentKey(a.desk, a.username);
  std::string bytes = EncodeAgent(a);
  tx_->Put(key, bytes);
  Remember(key, std::move(bytes), std::make_shared<const Agent>(a));
}

void RecordTxn::DeleteAgent(std::string_view desk, std::string_view username, const AgentLive& live) {
  tx_->Delete(AgentKey(desk, username));
  tx_->Delete(AgentLiveKey(desk, username));
  if (live.heartbeat_due != 0) tx_->Delete(TimerKey(live.heartbeat_due, TimerKind::kHeartbeat, desk, username));
}

Result<AgentLive> RecordTxn::LoadAgentLive(std::string_view desk, std::string_view username, Lock lock) {
  auto a = Load<AgentLive>(AgentLiveKey(desk, username), lock, kRankAgent, &DecodeAgentLive);
  if (!a.ok()) return a.status();
  return a->has_value() ? ***a : AgentLive();
}

Status RecordTxn::SaveAgentLive(std::string_view desk, std::string_view username, const AgentLive& before,
                                const AgentLive& after) {
  const std::string key = AgentLiveKey(desk, username);
  std::string bytes = EncodeAgentLive(after);
  tx_->Put(key, bytes);
  Remember(key, std::move(bytes), std::make_shared<const AgentLive>(after));
  if (before.heartbeat_due != after.heartbeat_due) {
    if (before.heartbeat_due != 0) tx_->Delete(TimerKey(before.heartbeat_due, TimerKind::kHeartbeat, desk, username));
    if (after.heartbeat_due != 0) tx_->Put(TimerKey(after.heartbeat_due, TimerKind::kHeartbeat, desk, username), "");
  }
  return Status::OK();
}

Result<std::map<std::string, AgentLive>> RecordTxn::AgentLives(std::string_view desk) {
  std::map<std::string, AgentLive> out;
  const std::string prefix = Join({"p", desk}) + "/";
  Status error;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view v) {
    auto a = cache_->Get<AgentLive>(k, v, &DecodeAgentLive);
    if (!a.ok()) {
      error = a.status();
      return false;
    }
    out.emplace(std::string(k.substr(prefix.size())), **a);
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(error);
  return out;
}

Result<std::map<std::string, int>> RecordTxn::ServingCounts(std::string_view desk) {
  std::map<std::string, int> out;
  const std::string prefix = ServingPrefix(desk);
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view) {
    std::string_view rest = k.substr(prefix.size());
    ++out[std::string(rest.substr(0, rest.find('/')))];
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<std::string>> RecordTxn::Serving(std::string_view desk, std::string_view username) {
  std::vector<std::string> out;
  const std::string prefix = ServingPrefix(desk) + std::string(username) + "/";
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view) {
    out.emplace_back(k.substr(prefix.size()));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

// ---- Sessions ------------------------------------------------------------------------------------------

Result<std::optional<Session>> RecordTxn::LoadSession(std::string_view token_hash) {
  auto s = Load<Session>(SessionKey(token_hash), Lock::kNone, 0, &DecodeSession);
  if (!s.ok()) return s.status();
  if (!s->has_value()) return std::optional<Session>();
  return std::optional<Session>(***s);
}

void RecordTxn::PutSession(std::string_view token_hash, const Session& s) {
  tx_->Put(SessionKey(token_hash), EncodeSession(s));
}

void RecordTxn::DeleteSession(std::string_view token_hash) {
  tx_->Delete(SessionKey(token_hash));
  cache_->Erase(SessionKey(token_hash));
}

// ---- Tickets -----------------------------------------------------------------------------------------

Result<int64_t> RecordTxn::ReadCounter(std::string_view desk, std::string_view name, bool lock) {
  const std::string key = CounterKey(desk, name);
  auto v = lock ? tx_->GetForUpdate(key, kRankCounter) : tx_->Get(key);
  if (!v.ok()) return v.status();
  int64_t n = 0;
  if (!v->has_value()) return n;
  auto [end, ec] = std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), n);
  if (ec != std::errc() || end != (*v)->data() + (*v)->size()) {
    return Status::Corruption("counter " + std::string(name) + " of desk " + std::string(desk));
  }
  return n;
}

Status RecordTxn::AddToCounter(std::string_view desk, std::string_view name, int64_t delta) {
  auto n = ReadCounter(desk, name, /*lock=*/true);
  if (!n.ok()) return n.status();
  tx_->Put(CounterKey(desk, name), std::to_string(std::max<int64_t>(0, *n + delta)));
  return Status::OK();
}

Result<int64_t> RecordTxn::WaitingCount(std::string_view desk) { return ReadCounter(desk, "waiting", false); }

Result<int64_t> RecordTxn::NextTicketNumber(std::string_view desk) {
  auto last = ReadCounter(desk, "ticket", /*lock=*/true);
  if (!last.ok()) return last.status();
  const int64_t next = std::max<int64_t>(*last, 1000) + 1;  // the first ticket is <PREFIX>-1001
  tx_->Put(CounterKey(desk, "ticket"), std::to_string(next));
  return next;
}

Result<std::optional<Ticket>> RecordTxn::LoadTicket(std::string_view desk, int64_t number, Lock lock) {
  auto t = Load<Ticket>(TicketKey(desk, number), lock, kRankTicket, &DecodeTicket);
  if (!t.ok()) return t.status();
  if (!t->has_value()) return std::optional<Ticket>();
  return std::optional<Ticket>(***t);
}

Status RecordTxn::SaveTicket(const Ticket* before, const Ticket& after) {
  const std::string key = TicketKey(after.desk, after.number);
  std::string bytes = EncodeTicket(after);
  tx_->Put(key, bytes);
  Remember(key, std::move(bytes), std::make_shared<const Ticket>(after));
  UpdateIndexRows(*tx_, before ? IndexRowsOf(*before) : std::set<std::string>(), IndexRowsOf(after),
                  [](const std::string&) { return std::string(); });
  return Status::OK();
}

Status RecordTxn::CollectTickets(const std::string& prefix, std::string_view desk, std::vector<Ticket>* out) {
  std::vector<int64_t> numbers;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view) {
    uint64_t n = 0;
    if (ParseUint(k.substr(prefix.size()), &n)) numbers.push_back(static_cast<int64_t>(n));
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  for (int64_t n : numbers) {
    auto t = LoadTicket(desk, n, Lock::kNone);
    if (!t.ok()) return t.status();
    if (t->has_value()) out->push_back(std::move(**t));
  }
  return Status::OK();
}

Result<std::vector<Ticket>> RecordTxn::TicketsByStatus(std::string_view desk, std::optional<TicketStatus> status) {
  std::vector<Ticket> out;
  if (status) {
    KEFU_RETURN_IF_ERROR(CollectTickets(TicketStatusPrefix(desk, *status), desk, &out));
    return out;
  }
  const std::string prefix = Join({"t", desk}) + "/";
  Status error;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view v) {
    auto t = cache_->Get<Ticket>(k, v, &DecodeTicket);
    if (!t.ok()) {
      error = t.status();
      return false;
    }
    out.push_back(**t);
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(error);
  return out;
}

Result<std::vector<Ticket>> RecordTxn::TicketsOfCustomer(std::string_view desk, std::string_view customer) {
  std::vector<Ticket> out;
  KEFU_RETURN_IF_ERROR(CollectTickets(TicketCustomerPrefix(desk, customer), desk, &out));
  return out;
}

// ---- Events ----------------------------------------------------------------------------------------------

void RecordTxn::PutEvent(Event& e) {
  e.id = NewEventId();
  tx_->Put(EventKey(e.desk, e.at, e.id, /*pending=*/true), EncodeEvent(e));
}

void RecordTxn::PutFoldedEvent(const Event& e) {
  tx_->Put(EventKey(e.desk, e.at, e.id, /*pending=*/false), EncodeEvent(e));
}

Result<std::vector<std::pair<std::string, Event>>> RecordTxn::ClaimPendingEvents(std::string_view desk, size_t max) {
  std::vector<std::pair<std::string, Event>> out;
  ScanOptions options;
  options.max_rows = max;
  options.skip_locked = true;
  options.lock_rank = kRankPendingEvent;
  const std::string prefix = EventPrefix(desk, /*pending=*/true);
  Status error;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), options, [&](std::string_view k, std::string_view v) {
    auto e = DecodeEvent(v);
    if (!e.ok()) {
      tx_->Delete(k);  // an undecodable event can never count: drop it rather than block the fold
      return true;
    }
    out.emplace_back(std::string(k), std::move(*e));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

void RecordTxn::MarkFolded(const std::string& key, const Event& e) {
  tx_->Delete(key);
  PutFoldedEvent(e);
}

Result<StatsAccumulator> RecordTxn::LoadStats(std::string_view desk, Lock lock) {
  auto s = Load<StatsAccumulator>(Join({"sr", desk}), lock, kRankStats, &StatsAccumulator::Decode);
  if (!s.ok()) return s.status();
  return s->has_value() ? ***s : StatsAccumulator();
}

void RecordTxn::PutStats(std::string_view desk, const StatsAccumulator& stats) {
  const std::string key = Join({"sr", desk});
  std::string bytes = stats.Encode();
  tx_->Put(key, bytes);
  Remember(key, std::move(bytes), std::make_shared<const StatsAccumulator>(stats));
}

Result<std::optional<HourCounts>> RecordTxn::LoadHour(std::string_view desk, int64_t hour) {
  auto v = tx_->GetForUpdate(Join({"sh", desk, Padded(static_cast<uint64_t>(hour), 16)}), kRankStats + 1);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<HourCounts>();
  auto h = DecodeHourCounts(**v);
  if (!h.ok()) return h.status();
  return std::optional<HourCounts>(*h);
}

void RecordTxn::PutHour(std::string_view desk, const HourCounts& h) {
  tx_->Put(Join({"sh", desk, Padded(static_cast<uint64_t>(h.hour), 16)}), EncodeHourCounts(h));
}

Result<std::vector<HourCounts>> RecordTxn::Hours(std::string_view desk, int64_t from, int64_t until) {
  std::vector<HourCounts> out;
  const std::string prefix = Join({"sh", desk}) + "/";
  Status error;
  Status s = tx_->Scan(prefix + Padded(static_cast<uint64_t>(std::max<int64_t>(0, from)), 16),
                       until > 0 ? prefix + Padded(static_cast<uint64_t>(until), 16) : PrefixLimit(prefix),
                       ScanOptions(), [&](std::string_view, std::string_view v) {
                         auto h = DecodeHourCounts(v);
                         if (!h.ok()) {
                           error = h.status();
                           return false;
                         }
                         out.push_back(*h);
                         return true;
                       });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(error);
  return out;
}

Status RecordTxn::ScanEvents(std::string_view desk, int64_t from, int64_t until,
                             const std::function<bool(const Event&)>& fn) {
  bool stopped = false;
  Status error;
  for (bool pending : {false, true}) {
    const std::string prefix = EventPrefix(desk, pending);
    const std::string start = prefix + Padded(static_cast<uint64_t>(std::max<int64_t>(0, from)), 16);
    const std::string limit = until > 0 ? prefix + Padded(static_cast<uint64_t>(until), 16) : PrefixLimit(prefix);
    Status s = tx_->Scan(start, limit, ScanOptions(), [&](std::string_view, std::string_view v) {
      auto e = DecodeEvent(v);
      if (!e.ok()) {
        error = e.status();
        return false;
      }
      stopped = !fn(*e);
      return !stopped;
    });
    KEFU_RETURN_IF_ERROR(s);
    KEFU_RETURN_IF_ERROR(error);
    if (stopped) break;
  }
  return Status::OK();
}

Status RecordTxn::ScanPendingEvents(std::string_view desk, const std::function<bool(const Event&)>& fn) {
  const std::string prefix = EventPrefix(desk, /*pending=*/true);
  Status error;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view, std::string_view v) {
    auto e = DecodeEvent(v);
    if (!e.ok()) return true;  // the fold drops it too
    return fn(*e);
  });
  return s;
}

// ---- Timers --------------------------------------------------------------------------------------------

Result<std::vector<TimerRow>> RecordTxn::ClaimDueTimers(int64_t now, size_t max) {
  std::vector<TimerRow> out;
  ScanOptions options;
  options.max_rows = max;
  options.skip_locked = true;
  options.lock_rank = kRankTimer;
  Status s = tx_->Scan(TimerPrefix(), TimerLimit(now), options, [&](std::string_view k, std::string_view) {
    TimerRow row;
    if (ParseTimerKey(k, &row)) {
      out.push_back(std::move(row));
    } else {
      tx_->Delete(k);  // a malformed timer can never fire: drop it
    }
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

// ---- Knowledge bases ----------------------------------------------------------------------------------

Result<std::optional<std::string>> RecordTxn::LoadKb(std::string_view desk, std::string_view language) {
  return tx_->Get(KbKey(desk, language));
}

Status RecordTxn::PutKb(std::string_view desk, std::string_view language, std::string_view json) {
  tx_->Put(KbKey(desk, language), json);
  return AddToCounter(desk, "kb", 1);
}

Result<std::vector<std::string>> RecordTxn::KbLanguages(std::string_view desk) {
  const std::string prefix = KbKey(desk, "");
  std::vector<std::string> out;
  Status s = tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(), [&](std::string_view k, std::string_view) {
    out.emplace_back(k.substr(prefix.size()));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

// ---- Desks of the admin API ---------------------------------------------------------------------------

static std::string DeskObjectKey(std::string_view desk) { return Join({"dk", desk}); }

Result<std::optional<std::string>> RecordTxn::LoadDeskObject(std::string_view desk, Lock lock) {
  // A name lock: the row may not exist yet (two processes creating the same desk).
  if (lock != Lock::kNone) KEFU_RETURN_IF_ERROR(tx_->LockName(DeskObjectKey(desk), lock == Lock::kTry ? kTryLock : kRankDesk));
  return tx_->Get(DeskObjectKey(desk));
}

Status RecordTxn::PutDeskObject(std::string_view desk, std::optional<std::string_view> json) {
  if (json.has_value()) {
    tx_->Put(DeskObjectKey(desk), *json);
  } else {
    tx_->Delete(DeskObjectKey(desk));
  }
  return AddToCounter("_", "desks", 1);
}

Status RecordTxn::ScanDeskObjects(const std::function<bool(std::string_view desk, std::string_view json)>& fn) {
  const std::string prefix = "dk/";
  return tx_->Scan(prefix, PrefixLimit(prefix), ScanOptions(),
                   [&](std::string_view k, std::string_view v) { return fn(k.substr(prefix.size()), v); });
}

Result<std::vector<std::string>> RecordTxn::OpenConversations(std::string_view desk) {
  std::set<std::string> open;
  KEFU_RETURN_IF_ERROR(ScanQueue(desk, [&](const QueueRow& row) {
    open.insert(row.entry.conversation);
    return true;
  }));
  const std::string serving = ServingPrefix(desk);
  KEFU_RETURN_IF_ERROR(tx_->Scan(serving, PrefixLimit(serving), ScanOptions(), [&](std::string_view k, std::string_view) {
    const std::string_view rest = k.substr(serving.size());
    const size_t slash = rest.find('/');
    if (slash != std::string_view::npos) open.emplace(rest.substr(slash + 1));
    return true;
  }));
  const std::string timers = TimerPrefix();
  KEFU_RETURN_IF_ERROR(tx_->Scan(timers, PrefixLimit(timers), ScanOptions(), [&](std::string_view k, std::string_view) {
    TimerRow row;
    if (ParseTimerKey(k, &row) && row.kind == TimerKind::kIdle && row.desk == desk) open.insert(row.id);
    return true;
  }));
  return std::vector<std::string>(open.begin(), open.end());
}

}  // namespace kefu
