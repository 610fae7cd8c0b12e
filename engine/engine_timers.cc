// Timers and stats: what is due fires (read from the timers' index by due time, never by scanning
// conversations), waiting customers are routed to free seats, and events are folded into the
// stored rollups as they come.
#include <charconv>

#include "base/json.h"
#include "engine/engine.h"
#include "engine/engine_impl.h"

namespace kefu {
namespace {

// Timers fired per transaction, and events folded per transaction.
constexpr size_t kTimersPerTransaction = 32;
constexpr size_t kEventsPerFold = 2000;

int64_t HourOf(int64_t micros) { return micros - micros % kMicrosPerHour; }

}  // namespace

// One due timer, in `op`. A timer whose record no longer says it is due at that time is stale
// (the conversation moved on, the ticket's reminder changed): it is dropped.
static Status FireTimer(Engine::Impl& m, Op& op, const TimerRow& row) {
  op.rec.DeleteTimer(row);
  DeskRuntime* d = m.Desk(row.desk);
  if (d == nullptr) return Status::OK();  // a desk removed from the config or deleted
  const DeskSettings& settings = d->config().settings;
  switch (row.kind) {
    case TimerKind::kIdle:
    case TimerKind::kSla: {
      auto slot = op.Load(row.id);
      if (!slot.ok()) return slot.status().code() == Status::Code::kNotFound ? Status::OK() : slot.status();
      Conversation& c = (*slot)->c;
      if (row.kind == TimerKind::kIdle) {
        if (c.idle_due != row.due) return Status::OK();
        std::string reason;
        if (IdleTimerFires(c, settings, op.now, &reason)) return m.Resolve(op, *d, c, &(*slot)->turn, "system", reason);
        return Status::OK();
      }
      if (c.sla_due != row.due) return Status::OK();
      if (SlaTimerFires(c, settings, op.now)) {
        Event e = EventOf(c, EventType::kSlaBreached, "system", op.now);
        e.value = op.now - c.escalated_at;
        (*slot)->turn.events.push_back(std::move(e));
      }
      return Status::OK();
    }
    case TimerKind::kRemind: {
      int64_t number = 0;
      auto [end, ec] = std::from_chars(row.id.data(), row.id.data() + row.id.size(), number);
      if (ec != std::errc()) return Status::OK();
      auto t = op.LoadTicket(row.desk, number);
      if (!t.ok()) return t.status().code() == Status::Code::kNotFound ? Status::OK() : t.status();
      Ticket& ticket = (*t)->t;
      if (ticket.status != TicketStatus::kPending || ticket.remind_at != row.due) return Status::OK();
      ticket.remind_at = 0;
      LiveEvent e;
      e.desk = row.desk;
      e.type = LiveEventType::kReminder;
      e.agent = ticket.assignee;
      e.conversation = ticket.conversation;
      e.data = EncodeTicket(ticket);
      op.Publish(std::move(e));
      return Status::OK();
    }
    case TimerKind::kHeartbeat: {
      auto live = op.rec.LoadAgentLive(row.desk, row.id, RecordTxn::Lock::kUpdate);
      if (!live.ok()) return live.status();
      if (live->heartbeat_due != row.due) return Status::OK();
      AgentLive after = *live;
      if (live->presence == AgentPresence::kOffline) {
        after.heartbeat_due = 0;
      } else if (op.now - live->last_seen <= settings.heartbeat_timeout_micros) {
        after.heartbeat_due = live->last_seen + settings.heartbeat_timeout_micros + 1;  // heard from since
      } else {
        // Silent: offline, and what they served goes back to the line, first in line.
        after.presence = AgentPresence::kOffline;
        after.heartbeat_due = 0;
        auto agent = op.rec.LoadAgent(row.desk, row.id);
        if (!agent.ok()) return agent.status();
        op.Publish(PresenceEvent(row.desk, row.id, agent->has_value() ? DisplayName(**agent) : row.id, AgentPresence::kOffline));
        KEFU_RETURN_IF_ERROR(op.rec.SaveAgentLive(row.desk, row.id, *live, after));
        return m.RequeueAgentConversations(op, *d, row.id);
      }
      return op.rec.SaveAgentLive(row.desk, row.id, *live, after);
    }
  }
  return Status::OK();
}

// Folds up to kEventsPerFold pending events of `desk` into its rollups; `*more` when there may be
// more to fold.
static Status FoldEvents(Engine::Impl& m, const std::string& desk, bool* more) {
  return m.Run([&](Op& op) {
    auto pending = op.rec.ClaimPendingEvents(desk, kEventsPerFold);
    if (!pending.ok()) return pending.status();
    *more = pending->size() == kEventsPerFold;
    if (pending->empty()) return Status::OK();
    auto stats = op.rec.LoadStats(desk, RecordTxn::Lock::kUpdate);
    if (!stats.ok()) return stats.status();
    std::map<int64_t, HourCounts> hours;
    for (const auto& [key, e] : *pending) {
      stats->Add(e);
      HourCounts& h = hours[HourOf(e.at)];
      h.hour = HourOf(e.at);
      h.Add(e);
      op.rec.MarkFolded(key, e);
    }
    op.rec.PutStats(desk, *stats);
    for (auto& [hour, h] : hours) {
      auto stored = op.rec.LoadHour(desk, hour);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) h.Merge(**stored);
      op.rec.PutHour(desk, h);
    }
    return Status::OK();
  });
}

Status Engine::RunTimers() {
  Impl& m = *impl_;
  const int64_t now = m.Now();
  for (bool more = true; more;) {
    KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
      auto due = op.rec.ClaimDueTimers(now, kTimersPerTransaction);
      if (!due.ok()) return due.status();
      more = due->size() == kTimersPerTransaction;
      for (const TimerRow& row : *due) KEFU_RETURN_IF_ERROR(FireTimer(m, op, row));
      return op.Finish();
    }));
  }
  KEFU_RETURN_IF_ERROR(m.FollowDesks(/*force=*/false));  // desks changed through other processes
  for (DeskRuntime* desk : m.LiveDesks()) {
    const std::string& id = desk->config().id;
    KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
      bool waiting = false;
      KEFU_RETURN_IF_ERROR(op.rec.ScanQueue(id, [&](const QueueRow&) { return !(waiting = true); }));
      if (!waiting) return Status::OK();
      KEFU_RETURN_IF_ERROR(m.Route(op, *desk));
      return op.Finish();
    }));
    KEFU_RETURN_IF_ERROR(m.SweepQueue(*desk));
    for (bool more = true; more;) KEFU_RETURN_IF_ERROR(FoldEvents(m, id, &more));
    KEFU_RETURN_IF_ERROR(m.FollowKbUploads(*desk));  // uploads made through other processes
  }
  return Status::OK();
}

Result<DeskStats> Engine::Stats(std::string_view desk) const {
  if (impl_->Desk(desk) == nullptr) return Status::NotFound("no such desk");
  StatsAccumulator total;
  Status s = impl_->Run([&](Op& op) {
    auto stored = op.rec.LoadStats(desk, RecordTxn::Lock::kNone);
    if (!stored.ok()) return stored.status();
    total = std::move(*stored);
    // The events not folded yet: at most a timer tick's worth.
    return op.rec.ScanPendingEvents(desk, [&](const Event& e) {
      total.Add(e);
      return true;
    });
  });
  if (!s.ok()) return s;
  return total.Snapshot();
}

Result<std::vector<HourCounts>> Engine::HourlyStats(std::string_view desk, int64_t from, int64_t until) const {
  if (impl_->Desk(desk) == nullptr) return Status::NotFound("no such desk");
  std::vector<HourCounts> out;
  Status s = impl_->Run([&](Op& op) {
    auto hours = op.rec.Hours(desk, from, until);
    if (!hours.ok()) return hours.status();
    out = std::move(*hours);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Status Engine::ScanEvents(std::string_view desk, int64_t from, int64_t until,
                          const std::function<bool(const Event&)>& fn) const {
  if (impl_->Desk(desk) == nullptr) return Status::NotFound("no such desk");
  return impl_->Run([&](Op& op) { return op.rec.ScanEvents(desk, from, until, fn); });
}

}  // namespace kefu
