#include "engine/migrate.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "engine/records.h"

namespace kefu {
namespace {

constexpr std::string_view kMigratingKey = "meta/migrating";
constexpr size_t kChunk = 2000;  // records written per transaction

size_t CountSlashes(std::string_view s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '/')); }

// Writes in chunks of transactions; counts what it wrote for the progress line.
class ChunkWriter {
 public:
  ChunkWriter(Store* store, WorkingSet* cache) : store_(store), cache_(cache) {}
  // A RecordTxn for the next records (a new transaction every kChunk calls).
  Result<RecordTxn*> Next() {
    if (rec_ != nullptr && ++in_chunk_ < kChunk) return rec_.get();
    KEFU_RETURN_IF_ERROR(Commit());
    auto tx = store_->Begin();
    if (!tx.ok()) return tx.status();
    tx_ = std::move(*tx);
    rec_ = std::make_unique<RecordTxn>(tx_.get(), cache_);
    in_chunk_ = 0;
    return rec_.get();
  }
  Status Commit() {
    if (rec_ == nullptr) return Status::OK();
    Status s = tx_->Commit();
    rec_.reset();
    tx_.reset();
    return s;
  }

 private:
  Store* store_;
  WorkingSet* cache_;
  std::unique_ptr<Transaction> tx_;
  std::unique_ptr<RecordTxn> rec_;
  size_t in_chunk_ = 0;
};

// What the layout-1 events say about each conversation's current episode, replayed in order the
// way layout 1's stats did: layout 2's events carry it themselves (stats.h).
struct Episode {
  bool escalated = false;
  int64_t queued_at = 0;
  int64_t assigned_at = 0;
};

// Layout-1 events of one desk, given what layout 2 adds: queue waits, handle times, the
// escalated flag of resolutions. Returns the assigned_at of conversations still with an agent.
Status MigrateEvents(Store* store, ChunkWriter& out, const std::string& desk, StatsAccumulator* stats,
                     std::map<int64_t, HourCounts>* hours, std::unordered_map<std::string, int64_t>* assigned_at) {
  std::unordered_map<std::string, Episode> open;
  Status error;
  const std::string prefix = "e/" + desk + "/";
  Status s = store->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    if (CountSlashes(key) != 2) return true;  // layout 2 already
    auto e = DecodeEvent(value);
    if (!e.ok()) return true;  // layout 1 skipped what it could not read too
    if (e->type == EventType::kStateChanged) {
      Episode& ep = open[e->conversation];
      if (e->to == ConversationState::kQueued) {
        ep.escalated = true;
        ep.queued_at = e->at;
      } else if (e->to == ConversationState::kAgent && e->from != ConversationState::kAgent) {
        if (e->from == ConversationState::kQueued) e->value = e->at - ep.queued_at;
        if (e->from == ConversationState::kResolved) ep.escalated = true;
        ep.assigned_at = e->at;
      } else if (e->to == ConversationState::kResolved) {
        if (ep.escalated) e->detail = std::string(kEscalatedEpisode);
        e->value = ep.assigned_at != 0 ? std::max<int64_t>(1, e->at - ep.assigned_at) : 0;
        open.erase(e->conversation);
      }
    }
    stats->Add(*e);
    const int64_t hour = e->at - e->at % kMicrosPerHour;
    auto& h = (*hours)[hour];
    h.hour = hour;
    h.Add(*e);
    auto rec = out.Next();
    if (!rec.ok()) {
      error = rec.status();
      return false;
    }
    (*rec)->PutFoldedEvent(*e);  // the old id, so that running this again writes the same row
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(error);
  for (const auto& [id, ep] : open) {
    if (ep.assigned_at != 0) (*assigned_at)[id] = ep.assigned_at;
  }
  return Status::OK();
}

// Phase 1: every layout-2 row, beside the old ones.
Status WriteLayout2(Store* store, const Clock* clock, const std::function<void(const std::string&)>& progress) {
  WorkingSet cache(size_t{16} << 20);
  ChunkWriter out(store, &cache);
  const int64_t now = clock->NowMicros();
  std::set<std::string> desks;
  KEFU_RETURN_IF_ERROR(store->ScanPrefix("a/", [&](std::string_view key, std::string_view) {
    desks.insert(std::string(key.substr(2, key.find('/', 2) - 2)));
    return true;
  }));
  KEFU_RETURN_IF_ERROR(store->ScanPrefix("c/", [&](std::string_view key, std::string_view) {
    if (CountSlashes(key) == 2) desks.insert(std::string(key.substr(2, key.find('/', 2) - 2)));
    return true;
  }));
  for (const std::string& desk : desks) {
    StatsAccumulator stats;
    std::map<int64_t, HourCounts> hours;
    std::unordered_map<std::string, int64_t> assigned_at;
    if (progress) progress("desk " + desk + ": events");
    KEFU_RETURN_IF_ERROR(MigrateEvents(store, out, desk, &stats, &hours, &assigned_at));
    auto rec = out.Next();
    if (!rec.ok()) return rec.status();
    (*rec)->PutStats(desk, stats);
    for (const auto& [hour, h] : hours) {
      auto r = out.Next();
      if (!r.ok()) return r.status();
      (*r)->PutHour(desk, h);
    }
    // Agents keep their accounts; each gets a live row (offline).
    KEFU_RETURN_IF_ERROR(store->ScanPrefix("a/" + desk + "/", [&](std::string_view key, std::string_view) {
      auto r = out.Next();
      if (!r.ok()) return false;
      const std::string user(key.substr(key.rfind('/') + 1));
      return (*r)->SaveAgentLive(desk, user, AgentLive(), AgentLive()).ok();
    }));
    // Conversations move to c/<id> with all their index rows; identified customers keep their latest.
    size_t done = 0;
    int64_t waiting = 0;
    std::map<std::string, std::pair<int64_t, std::string>> latest;  // non-web customer -> (created, id)
    Status error;
    KEFU_RETURN_IF_ERROR(store->ScanPrefix("c/" + desk + "/", [&](std::string_view, std::string_view value) {
      auto c = DecodeConversation(value);
      if (!c.ok()) return true;
      if (c->state == ConversationState::kBot) c->idle_due = now;
      if (c->state == ConversationState::kQueued) ++waiting;
      const bool waiting = c->state == ConversationState::kQueued || c->state == ConversationState::kAgent;
      if (waiting && !c->sla_breached && c->first_response_at == 0 && c->escalated_at != 0) c->sla_due = now;
      auto a = assigned_at.find(c->id);
      if (c->state == ConversationState::kAgent && a != assigned_at.end()) c->assigned_at = a->second;
      if (c->customer.rfind("web:", 0) != 0) {
        auto& l = latest[c->customer];
        if (l.second.empty() || l.first < c->created_at) l = {c->created_at, c->id};
      }
      auto r = out.Next();
      if (r.ok()) {
        error = (*r)->SaveConversation(nullptr, *c);
      } else {
        error = r.status();
      }
      if (progress && ++done % 10000 == 0) progress("desk " + desk + ": " + std::to_string(done) + " conversations");
      return error.ok();
    }));
    KEFU_RETURN_IF_ERROR(error);
    for (const auto& [customer, l] : latest) {
      auto r = out.Next();
      if (!r.ok()) return r.status();
      (*r)->SetCustomerConversation(desk, customer, l.second);
    }
    // Tickets get their status and customer index rows, reminders their timers, the desk a counter.
    int64_t last_ticket = 1000;
    KEFU_RETURN_IF_ERROR(store->ScanPrefix("t/" + desk + "/", [&](std::string_view, std::string_view value) {
      auto t = DecodeTicket(value);
      if (!t.ok()) return true;
      last_ticket = std::max(last_ticket, t->number);
      auto r = out.Next();
      error = r.ok() ? (*r)->SaveTicket(nullptr, *t) : r.status();
      return error.ok();
    }));
    KEFU_RETURN_IF_ERROR(error);
    auto r = out.Next();
    if (!r.ok()) return r.status();
    (*r)->tx().Put("n/" + desk + "/ticket", std::to_string(last_ticket));
    (*r)->tx().Put("n/" + desk + "/waiting", std::to_string(waiting));  // saves above counted too: set it
  }
  // Client message ids get their index rows.
  KEFU_RETURN_IF_ERROR(store->ScanPrefix("m/", [&](std::string_view key, std::string_view value) {
    if (value.find("\"client_msg_id\"") == std::string_view::npos) return true;
    auto m = DecodeMessage(value);
    if (!m.ok()) return true;
    auto r = out.Next();
    if (!r.ok()) return false;
    const std::string_view rest = key.substr(2);
    (*r)->PutMessage(rest.substr(0, rest.find('/')), *m);
    return true;
  }));
  // The knowledge loop's records move under its namespace.
  for (const char* old : {"v/", "d/", "l/"}) {
    KEFU_RETURN_IF_ERROR(store->ScanPrefix(old, [&](std::string_view key, std::string_view value) {
      auto r = out.Next();
      if (!r.ok()) return false;
      (*r)->tx().Put("kn/" + std::string(key), value);
      return true;
    }));
  }
  auto r = out.Next();
  if (!r.ok()) return r.status();
  (*r)->tx().Put(kMigratingKey, std::to_string(kSchemaVersion));
  return out.Commit();
}

// Phase 2: the layout-1 records go.
Status DeleteLayout1(Store* store) {
  StoreBatch batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    Status s = store->Write(batch);
    batch = StoreBatch();
    return s;
  };
  Status error;
  auto drop = [&](std::string_view prefix, size_t slashes) {
    return store->ScanPrefix(prefix, [&](std::string_view key, std::string_view) {
      if (slashes != 0 && CountSlashes(key) != slashes) return true;
      batch.Delete(key);
      if (batch.size() >= kChunk) error = flush();
      return error.ok();
    });
  };
  KEFU_RETURN_IF_ERROR(drop("c/", 2));
  KEFU_RETURN_IF_ERROR(drop("e/", 2));
  for (const char* old : {"v/", "d/", "l/"}) KEFU_RETURN_IF_ERROR(drop(old, 0));
  KEFU_RETURN_IF_ERROR(error);
  batch.Put(SchemaKey(), std::to_string(kSchemaVersion));
  batch.Delete(kMigratingKey);
  return flush();
}

}  // namespace

Result<int> StoreLayoutVersion(Store* store) {
  auto v = store->Get(SchemaKey());
  if (!v.ok()) return v.status();
  if (v->has_value()) {
    int version = 0;
    auto [end, ec] = std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), version);
    if (ec != std::errc() || end != (*v)->data() + (*v)->size()) return Status::Corruption("meta/schema: " + **v);
    return version;
  }
  bool any = false;
  KEFU_RETURN_IF_ERROR(store->Scan("", "", [&](std::string_view, std::string_view) {
    any = true;
    return false;
  }));
  return any ? 1 : 0;
}

Status MigrateStore(Store* store, const Clock* clock, const std::function<void(const std::string&)>& progress) {
  auto version = StoreLayoutVersion(store);
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return Status::Unavailable("the store was written by a newer kefu (data layout " + std::to_string(*version) +
                               "); this kefu knows layouts up to " + std::to_string(kSchemaVersion) +
                               ": run the newer kefu, or restore a backup taken before the upgrade");
  }
  if (*version == kSchemaVersion) return Status::OK();
  if (*version == 0) {
    StoreBatch batch;
    batch.Put(SchemaKey(), std::to_string(kSchemaVersion));
    return store->Write(batch);
  }
  auto say = [&](const std::string& line) {
    if (progress) {
      progress(line);
    } else {
      std::fprintf(stderr, "kefu: upgrading the data to layout %d: %s\n", kSchemaVersion, line.c_str());
    }
  };
  auto migrating = store->Get(kMigratingKey);
  if (!migrating.ok()) return migrating.status();
  if (!migrating->has_value()) {
    say("started (once; the old records stay until the new ones are complete)");
    KEFU_RETURN_IF_ERROR(WriteLayout2(store, clock, say));
  }
  say("removing the old records");
  KEFU_RETURN_IF_ERROR(DeleteLayout1(store));
  say("done");
  return Status::OK();
}

}  // namespace kefu
