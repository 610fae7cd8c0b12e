#include "engine/pg/pg_live_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <vector>

namespace kefu {

namespace {

// The snapshot's horizon and the rows after `$1`, in one statement: both come from the same
// snapshot (a READ COMMITTED statement's). The LEFT JOIN returns the horizon even with no rows.
const PgStatement kFetch = {
    "kefu_live_fetch",
    "SELECT pg_snapshot_xmin(s), pg_snapshot_xmax(s), e.id, e.payload "
    "FROM pg_current_snapshot() s LEFT JOIN LATERAL "
    "(SELECT id, payload FROM live_events WHERE id > $1::int8 ORDER BY id LIMIT $2::int8) e ON true "
    "ORDER BY e.id"};

// At start, in one REPEATABLE READ snapshot: the horizon and newest id, the ids near the top (to
// find holes), then each desk's newest events up to the frontier.
const PgStatement kBeginSnapshot = {"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"};
const PgStatement kTop = {
    "",
    "SELECT pg_snapshot_xmin(s), pg_snapshot_xmax(s), (SELECT coalesce(max(id), 0) FROM live_events) "
    "FROM pg_current_snapshot() s"};
const PgStatement kIdsAbove = {"", "SELECT id FROM live_events WHERE id > $1::int8 ORDER BY id"};
const PgStatement kNewestPerDesk = {
    "",
    "SELECT e.id, e.payload FROM (SELECT DISTINCT desk FROM live_events) d CROSS JOIN LATERAL "
    "(SELECT id, payload FROM live_events WHERE desk = d.desk AND id <= $1::int8 "
    "ORDER BY id DESC LIMIT $2::int8) e ORDER BY e.id"};
const PgStatement kCommit = {"", "COMMIT"};

uint64_t U64(const PGresult* r, int row, int col) { return static_cast<uint64_t>(PgInt64(r, row, col)); }

}  // namespace

PgLiveListener::PgLiveListener(std::string uri, LiveBus* bus, PgLiveListenerOptions options)
    : uri_(std::move(uri)), bus_(bus), options_(options) {}

Result<std::unique_ptr<PgLiveListener>> PgLiveListener::Start(const std::string& uri, LiveBus* bus,
                                                              size_t per_desk,
                                                              const PgLiveListenerOptions& options) {
  std::unique_ptr<PgLiveListener> l(new PgLiveListener(uri, bus, options));
  KEFU_RETURN_IF_ERROR(l->Connect());
  KEFU_RETURN_IF_ERROR(l->Load(*l->conn_, per_desk));
  l->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->wake_fd_ < 0) return Status::Internal("eventfd failed");
  l->thread_ = std::thread([p = l.get()] { p->Run(); });
  return l;
}

PgLiveListener::~PgLiveListener() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

PgLiveListener::Stats PgLiveListener::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

Status PgLiveListener::Connect() {
  conn_.reset();
  Result<std::unique_ptr<PgConnection>> c =
      PgConnection::Connect(uri_, options_.connect_timeout_seconds, "", "kefu listener");
  if (!c.ok()) return c.status();
  KEFU_RETURN_IF_ERROR((*c)->ExecSimple("LISTEN kefu_live"));
  conn_ = std::move(c.value());
  return Status::OK();
}

Status PgLiveListener::Load(PgConnection& conn, size_t per_desk) {
  PgCommand top[] = {PgCommand(kBeginSnapshot), PgCommand(kTop)};
  Result<std::vector<PgResultPtr>> r = conn.ExecPipeline(top);
  if (!r.ok()) return r.status();
  const uint64_t xmax = U64(r->at(1).get(), 0, 1);
  const int64_t newest = PgInt64(r->at(1).get(), 0, 2);
  // The frontier starts below the lowest id missing near the top: those ids are holes to resolve.
  PgCommand ids_cmd(kIdsAbove);
  ids_cmd.Int64(std::max<int64_t>(0, newest - options_.start_window));
  Result<PgResultPtr> ids = conn.Exec(ids_cmd);
  if (!ids.ok()) return ids.status();
  std::set<uint64_t> present;
  for (int i = 0; i < PQntuples(ids->get()); ++i) present.insert(U64(ids->get(), i, 0));
  uint64_t frontier = static_cast<uint64_t>(newest);
  const auto now = std::chrono::steady_clock::now();
  for (uint64_t id = static_cast<uint64_t>(std::max<int64_t>(0, newest - options_.start_window)) + 1;
       id <= static_cast<uint64_t>(newest); ++id) {
    if (present.count(id)) continue;
    if (frontier == static_cast<uint64_t>(newest)) frontier = id - 1;
    holes_[id] = Hole{xmax, now};
  }
  PgCommand newest_cmd(kNewestPerDesk);
  newest_cmd.Int64(static_cast<int64_t>(frontier)).Int64(static_cast<int64_t>(per_desk));
  PgCommand rest[] = {std::move(newest_cmd), PgCommand(kCommit)};
  Result<std::vector<PgResultPtr>> events = conn.ExecPipeline(rest);
  if (!events.ok()) return events.status();
  const PGresult* rows = events->at(0).get();
  std::vector<LiveEvent> loaded;
  std::set<std::string> marked;
  for (int i = 0; i < PQntuples(rows); ++i) {
    LiveEvent e;
    if (!DecodeLiveEvent(PgBytes(rows, i, 1), &e)) continue;
    e.id = U64(rows, i, 0);
    // Rows come in id order: a desk's first row is its oldest loaded; older ones are gone here.
    if (marked.insert(e.desk).second) bus_->MarkUnavailableThrough(e.desk, e.id - 1);
    loaded.push_back(std::move(e));
  }
  bus_->Deliver(std::move(loaded));
  // Events between the frontier and the top are read again by the thread, in order.
  frontier_ = frontier;
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.frontier = frontier;
  return Status::OK();
}

void PgLiveListener::Sleep(int millis) {
  pollfd p{wake_fd_, POLLIN, 0};
  (void)::poll(&p, 1, millis);
}

void PgLiveListener::Run() {
  while (!stopping_) {
    if (conn_ == nullptr || !conn_->ok()) {
      Status s = Connect();
      if (!s.ok()) {
        Sleep(options_.reconnect_millis);
        continue;
      }
      std::lock_guard<std::mutex> lock(stats_mu_);
      ++stats_.reconnects;
    }
    bool full = true;
    Status s;
    while (full && s.ok() && !stopping_) s = FetchOnce(&full);
    if (!s.ok()) {
      // Reconnect: a lost connection is the usual cause, and a fresh session is the cure for the
      // rest too; the pause keeps a persistent error from spinning.
      std::fprintf(stderr, "kefu: live events: %s\n", s.ToString().c_str());
      conn_->MarkBroken();
      Sleep(options_.reconnect_millis);
      continue;
    }
    bool notified = false;
    while (PGnotify* n = PQnotifies(conn_->raw())) {
      notified = true;
      PQfreemem(n);
    }
    if (notified) continue;  // arrived while reading: read again at once
    pollfd fds[2] = {{conn_->socket(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int timeout = holes_.empty() ? options_.poll_millis : options_.hole_recheck_millis;
    if (::poll(fds, 2, timeout) > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (PQconsumeInput(conn_->raw()) == 0) conn_->MarkBroken();
    }
  }
}

Status PgLiveListener::FetchOnce(bool* full) {
  const uint64_t frontier = frontier_;
  PgCommand cmd(kFetch);
  cmd.Int64(static_cast<int64_t>(frontier)).Int64(static_cast<int64_t>(options_.fetch_rows));
  Result<PgResultPtr> r = conn_->Exec(cmd);
  if (!r.ok()) return r.status();
  const PGresult* rows = r->get();
  const int n = PQntuples(rows);
  uint64_t corrupt = 0;
  int fetched = 0;
  for (int i = 0; i < n; ++i) {
    if (PgIsNull(rows, i, 2)) continue;
    ++fetched;
    LiveEvent e;
    const uint64_t id = U64(rows, i, 2);
    if (!DecodeLiveEvent(PgBytes(rows, i, 3), &e)) {
      ++corrupt;
      e.desk.clear();  // resolves the id without delivering anything
    }
    e.id = id;
    pending_[id] = std::move(e);
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.fetches;
    stats_.corrupt += corrupt;
  }
  Advance(U64(rows, 0, 0), U64(rows, 0, 1));
  // A whole page: read on, unless stuck behind a hole (then wait for it).
  *full = static_cast<size_t>(fetched) >= options_.fetch_rows && frontier_ != frontier;
  return Status::OK();
}

void PgLiveListener::Advance(uint64_t xmin, uint64_t xmax) {
  const uint64_t top = pending_.empty() ? frontier_ : pending_.rbegin()->first;
  const auto now = std::chrono::steady_clock::now();
  std::vector<LiveEvent> out;
  uint64_t dead = 0, timed_out = 0;
  uint64_t id = frontier_ + 1;
  for (; id <= top; ++id) {
    auto it = pending_.find(id);
    if (it != pending_.end()) {
      if (!it->second.desk.empty()) out.push_back(std::move(it->second));
      pending_.erase(it);
      holes_.erase(id);
      continue;
    }
    // Missing below a visible id: its transaction started before this snapshot's xmax.
    const Hole& hole = holes_.try_emplace(id, Hole{xmax, now}).first->second;
    if (xmin >= hole.xmax) {
      ++dead;
    } else if (now - hole.since >= std::chrono::milliseconds(options_.hole_timeout_millis)) {
      ++timed_out;
      std::fprintf(stderr, "kefu: live event %llu still uncommitted after %d ms: passed over\n",
                   static_cast<unsigned long long>(id), options_.hole_timeout_millis);
    } else {
      break;
    }
    holes_.erase(id);
  }
  frontier_ = id - 1;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.frontier = frontier_;
    stats_.delivered += out.size();
    stats_.holes_dead += dead;
    stats_.holes_timed_out += timed_out;
  }
  bus_->Deliver(std::move(out));
}

}  // namespace kefu
