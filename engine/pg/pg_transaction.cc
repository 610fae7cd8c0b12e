#include "engine/pg/pg_transaction.h"

#include <algorithm>
#include <cstring>

#include "engine/pg/pg_schema.h"
#include "engine/pg/pg_sql.h"

namespace kefu {

namespace {

// Node-local lock keys: rows and names are separate lock spaces (engine/store.h).
std::string RowLockKey(std::string_view key) { return "r" + std::string(key); }
std::string NameLockKey(std::string_view name) { return "n" + std::string(name); }

std::optional<std::string> FirstValue(const PGresult* r) {
  if (PQntuples(r) == 0) return std::nullopt;
  return std::string(PgBytes(r, 0, 0));
}

}  // namespace

PgTransaction::PgTransaction(PgPool::Handle conn, PgLocalLocks* locks, PgTransactionCounters* counters,
                             size_t scan_page_rows, bool snapshot)
    : conn_(std::move(conn)),
      locks_(locks),
      counters_(counters),
      scan_page_rows_(std::max<size_t>(1, scan_page_rows)) {
  pending_.emplace_back(snapshot ? sql::kBeginSnapshot : sql::kBegin);
}

PgTransaction::~PgTransaction() {
  if (conn_ && conn_->ok() && conn_->in_transaction()) {
    if (!conn_->ExecSimple("ROLLBACK").ok()) conn_->MarkBroken();
  }
  conn_.Release();
  for (const std::string& key : local_keys_) locks_->Unlock(key, this);
}

Status PgTransaction::Fail(Status s) {
  if (s.ok() || over_) return s;
  over_ = true;
  error_ = s;
  if (s.code() == Status::Code::kAborted) ++counters_->aborted;
  if (s.code() == Status::Code::kUnavailable) ++counters_->unavailable;
  return s;
}

Result<PgResultPtr> PgTransaction::Run(PgCommand command) {
  if (over_) return error_.ok() ? Status::Internal("transaction already committed") : error_;
  pending_.push_back(std::move(command));
  Result<std::vector<PgResultPtr>> results = conn_->ExecPipeline(pending_);
  pending_.clear();
  sent_anything_ = true;
  if (!results.ok()) return Fail(results.status());
  return std::move(results.value().back());
}

void PgTransaction::NoteLocked(int rank) {
  max_rank_held_ = max_rank_held_ ? std::max(*max_rank_held_, rank) : rank;
}

Result<PgLocalLocks::Outcome> PgTransaction::LockLocally(const std::string& key, bool wait) {
  if (over_) return error_.ok() ? Status::Internal("transaction already committed") : error_;
  PgLocalLocks::Outcome outcome = locks_->Lock(key, this, wait);
  if (outcome == PgLocalLocks::Outcome::kBusy) {
    // A wait that timed out ends the transaction, as PostgreSQL's lock_timeout does; a failed try
    // leaves it usable.
    if (wait) return Fail(Status::Aborted("lock wait timed out behind another transaction of this node"));
    return Status::Aborted("lock held by another transaction of this node");
  }
  if (outcome == PgLocalLocks::Outcome::kTaken) local_keys_.push_back(key);
  return outcome;
}

void PgTransaction::UnlockLocally(const std::string& key, PgLocalLocks::Outcome outcome) {
  if (outcome != PgLocalLocks::Outcome::kTaken) return;  // held before this call: keep it
  locks_->Unlock(key, this);
  local_keys_.erase(std::find(local_keys_.begin(), local_keys_.end(), key));
}

Result<std::optional<std::string>> PgTransaction::Get(std::string_view key) {
  Result<PgResultPtr> r = Run(std::move(PgCommand(sql::kGet).Bytes(key)));
  if (!r.ok()) return r.status();
  return FirstValue(r->get());
}

Result<std::optional<std::string>> PgTransaction::GetForUpdate(std::string_view key, int rank) {
  const bool wait = MayWait(rank);
  const std::string lock_key = RowLockKey(key);
  Result<PgLocalLocks::Outcome> local = LockLocally(lock_key, wait);
  if (!local.ok()) return local.status();
  Result<PgResultPtr> r =
      Run(std::move(PgCommand(wait ? sql::kGetForUpdate : sql::kGetForUpdateTry).Bytes(key)));
  if (!r.ok()) return r.status();
  std::optional<std::string> value;
  if (PQntuples(r->get()) > 0 && !PgIsNull(r->get(), 0, 0)) value = std::string(PgBytes(r->get(), 0, 0));
  if (!value) {
    // PostgreSQL locked nothing; neither does the node, so that the two agree.
    UnlockLocally(lock_key, *local);
    if (!wait && PgBool(r->get(), 0, 1)) return Status::Aborted("row locked by another transaction");
    return value;
  }
  NoteLocked(rank);
  return value;
}

Status PgTransaction::LockName(std::string_view name, int rank) {
  const bool wait = MayWait(rank);
  const std::string lock_key = NameLockKey(name);
  Result<PgLocalLocks::Outcome> local = LockLocally(lock_key, wait);
  if (!local.ok()) return local.status();
  const int64_t key = PgAdvisoryKey(PgLockKind::kName, name);
  Result<PgResultPtr> r = Run(std::move(PgCommand(wait ? sql::kLockName : sql::kTryLockName).Int64(key)));
  if (!r.ok()) return r.status();
  if (!wait && !PgBool(r->get(), 0, 0)) {
    UnlockLocally(lock_key, *local);
    return Status::Aborted("named lock held by another transaction");
  }
  NoteLocked(rank);
  return Status::OK();
}

Status PgTransaction::Scan(std::string_view start, std::string_view limit, const ScanOptions& options,
                           const ScanFn& fn) {
  std::string from(start);
  size_t passed = 0;
  while (passed < options.max_rows) {
    // Never more rows than may still be passed: a claim locks every row it fetches.
    const size_t want = std::min(options.max_rows - passed, scan_page_rows_);
    const PgStatement& st = limit.empty() ? (options.skip_locked ? sql::kClaimFrom : sql::kScanFrom)
                                          : (options.skip_locked ? sql::kClaimRange : sql::kScanRange);
    PgCommand command(st);
    command.Bytes(from);
    if (!limit.empty()) command.Bytes(limit);
    command.Int64(static_cast<int64_t>(want));
    Result<PgResultPtr> r = Run(std::move(command));
    if (!r.ok()) return r.status();
    const PGresult* rows = r->get();
    const int n = PQntuples(rows);
    for (int i = 0; i < n; ++i) {
      std::string_view key = PgBytes(rows, i, 0);
      if (options.skip_locked) {
        // Committed but not yet destroyed by another thread of this node: still its claim.
        if (locks_->Lock(RowLockKey(key), this, false) == PgLocalLocks::Outcome::kBusy) continue;
        local_keys_.push_back(RowLockKey(key));
        NoteLocked(options.lock_rank);
      }
      ++passed;
      if (!fn(key, PgBytes(rows, i, 1)) || passed == options.max_rows) return Status::OK();
    }
    if (static_cast<size_t>(n) < want) return Status::OK();
    from.assign(PgBytes(rows, n - 1, 0));
    from.push_back('\0');  // the smallest key after the last one
  }
  return Status::OK();
}

void PgTransaction::Put(std::string_view key, std::string_view value) {
  if (!over_) pending_.push_back(std::move(PgCommand(sql::kPut).Bytes(key).Bytes(value)));
}

void PgTransaction::Delete(std::string_view key) {
  if (!over_) pending_.push_back(std::move(PgCommand(sql::kDelete).Bytes(key)));
}

void PgTransaction::Publish(LiveEvent event) {
  if (over_) return;
  if (std::find(event_desks_.begin(), event_desks_.end(), event.desk) == event_desks_.end()) {
    event_desks_.push_back(event.desk);
  }
  events_.push_back(std::move(PgCommand(sql::kPublish).Bytes(event.desk).Bytes(EncodeLiveEvent(event))));
}

Status PgTransaction::Commit() {
  if (over_) return error_.ok() ? Status::Internal("transaction already committed") : error_;
  if (!sent_anything_ && pending_.size() == 1 && events_.empty()) {
    over_ = true;  // nothing read, nothing written: the server never heard of it
    return Status::OK();
  }
  for (PgCommand& e : events_) pending_.push_back(std::move(e));
  pending_.emplace_back(sql::kCommit);
  const size_t commit_index = pending_.size() - 1;
  for (const std::string& desk : event_desks_)
    pending_.push_back(std::move(PgCommand(sql::kNotify).Bytes(desk)));
  Result<std::vector<PgResultPtr>> results = conn_->ExecPipeline(pending_, event_desks_.size());
  pending_.clear();
  events_.clear();
  sent_anything_ = true;
  if (!results.ok()) return Fail(results.status());
  // COMMIT of a transaction the server had already failed answers ROLLBACK, not an error.
  if (std::strcmp(PQcmdStatus(results->at(commit_index).get()), "COMMIT") != 0) {
    return Fail(Status::Aborted("postgresql rolled the transaction back at COMMIT"));
  }
  over_ = true;
  ++counters_->commits;
  return Status::OK();
}

}  // namespace kefu
