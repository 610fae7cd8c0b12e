#include "engine/embedded_store.h"

#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "engine/group_commit.h"
#include "engine/lock_manager.h"

namespace kefu {
namespace {

// Rows and names are separate lock spaces (store.h): their lock keys differ in the first byte.
std::string RowLockKey(std::string_view key) { return "r" + std::string(key); }
std::string NameLockKey(std::string_view name) { return "n" + std::string(name); }

// Rows a transaction scan reads from LevelDB at a time: the callback never runs while a LevelDB
// iterator is open (it may read again, and a reopen after a disk error waits for iterators).
constexpr size_t kScanChunk = 256;

class EmbeddedStore;

class EmbeddedTransaction final : public Transaction {
 public:
  explicit EmbeddedTransaction(EmbeddedStore* store);

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Result<std::optional<std::string>> GetForUpdate(std::string_view key, int rank) override;
  Status LockName(std::string_view name, int rank) override;
  Status Scan(std::string_view start, std::string_view limit, const ScanOptions& options,
              const ScanFn& fn) override;
  void Put(std::string_view key, std::string_view value) override { writes_[std::string(key)] = std::string(value); }
  void Delete(std::string_view key) override { writes_[std::string(key)] = std::nullopt; }
  void Publish(LiveEvent event) override { live_.push_back(std::move(event)); }
  Status Commit() override;

 private:
  using Row = std::pair<std::string, std::string>;
  // The committed rows of [start, limit) from the engine, at most kScanChunk, merged with this
  // transaction's writes in that key range up to the last engine row read (or to `limit` when
  // the engine had no more). `*next` is where the following chunk starts ("" when done).
  Status ReadChunk(std::string_view start, std::string_view limit, std::vector<Row>* rows, std::string* next);

  EmbeddedStore* store_;
  LockSet locks_;
  std::map<std::string, std::optional<std::string>, std::less<>> writes_;  // nullopt: deleted
  std::vector<LiveEvent> live_;
  bool finished_ = false;
};

class EmbeddedLease final : public Store::Lease {
 public:
  EmbeddedLease(EmbeddedStore* store, std::string name) : store_(store), name_(std::move(name)) {}
  ~EmbeddedLease() override;
  bool held() override { return true; }  // nothing outside this process can take it

 private:
  EmbeddedStore* store_;
  std::string name_;
};

class EmbeddedStore final : public Store {
 public:
  EmbeddedStore(std::unique_ptr<KvEngine> kv, const StoreOptions& options)
      : kv_(std::move(kv)),
        committer_([this](std::span<const StoreBatch> group) { return kv_->Write(group); }),
        bus_(options.live_events_per_desk) {}

  Result<std::unique_ptr<Transaction>> Begin() override {
    return std::unique_ptr<Transaction>(new EmbeddedTransaction(this));
  }
  Status Write(const StoreBatch& batch) override { return committer_.Commit(batch); }
  Result<std::optional<std::string>> Get(std::string_view key) override { return kv_->Get(key); }
  Status Scan(std::string_view start, std::string_view limit, const ScanFn& fn) override {
    return kv_->Scan(start, limit, fn);
  }
  LiveBus* live() override { return &bus_; }

  Result<std::unique_ptr<Lease>> TryLease(std::string_view name) override {
    std::lock_guard<std::mutex> lock(leases_mu_);
    if (!leases_.insert(std::string(name)).second) return std::unique_ptr<Lease>();
    return std::unique_ptr<Lease>(new EmbeddedLease(this, std::string(name)));
  }
  void EndLease(const std::string& name) {
    std::lock_guard<std::mutex> lock(leases_mu_);
    leases_.erase(name);
  }

  bool shared() const override { return false; }
  uint64_t DiskBytes() override { return kv_->DiskBytes(); }
  Counters counters() const override { return {committer_.writes(), committer_.batches()}; }

 private:
  friend class EmbeddedTransaction;
  // Declared in this order so that destruction drains the committer before the engine closes.
  std::unique_ptr<KvEngine> kv_;
  GroupCommitter committer_;
  LockManager locks_;
  LiveBus bus_;
  std::mutex leases_mu_;
  std::set<std::string> leases_;  // GUARDED_BY(leases_mu_)
};

EmbeddedLease::~EmbeddedLease() { store_->EndLease(name_); }

EmbeddedTransaction::EmbeddedTransaction(EmbeddedStore* store) : store_(store), locks_(&store->locks_) {}

Result<std::optional<std::string>> EmbeddedTransaction::Get(std::string_view key) {
  auto w = writes_.find(key);
  if (w != writes_.end()) return w->second;
  return store_->kv_->Get(key);
}

Result<std::optional<std::string>> EmbeddedTransaction::GetForUpdate(std::string_view key, int rank) {
  KEFU_RETURN_IF_ERROR(locks_.Lock(RowLockKey(key), rank));
  return Get(key);
}

Status EmbeddedTransaction::LockName(std::string_view name, int rank) { return locks_.Lock(NameLockKey(name), rank); }

Status EmbeddedTransaction::ReadChunk(std::string_view start, std::string_view limit, std::vector<Row>* rows,
                                      std::string* next) {
  std::vector<Row> engine_rows;
  Status s = store_->kv_->Scan(start, limit, [&](std::string_view k, std::string_view v) {
    engine_rows.emplace_back(std::string(k), std::string(v));
    return engine_rows.size() < kScanChunk;
  });
  KEFU_RETURN_IF_ERROR(s);
  const bool more = engine_rows.size() == kScanChunk;
  // This chunk covers [start, end): up to and including the last engine row when there may be
  // more, else the whole remaining range.
  std::string end;
  if (more) {
    end = engine_rows.back().first;
    end.push_back('\0');  // the smallest key after it
  } else {
    end = std::string(limit);
  }
  auto w = writes_.lower_bound(start);
  auto w_end = end.empty() ? writes_.end() : writes_.lower_bound(end);
  size_t e = 0;
  while (e < engine_rows.size() || w != w_end) {
    const bool take_write = w != w_end && (e == engine_rows.size() || w->first <= engine_rows[e].first);
    if (take_write) {
      if (e < engine_rows.size() && w->first == engine_rows[e].first) ++e;  // overwritten
      if (w->second) rows->emplace_back(w->first, *w->second);
      ++w;
    } else {
      rows->push_back(std::move(engine_rows[e++]));
    }
  }
  *next = more ? end : std::string();
  return Status::OK();
}

Status EmbeddedTransaction::Scan(std::string_view start, std::string_view limit, const ScanOptions& options,
                                 const ScanFn& fn) {
  size_t passed = 0;
  std::string from(start);
  while (passed < options.max_rows) {
    std::vector<Row> rows;
    std::string next;
    KEFU_RETURN_IF_ERROR(ReadChunk(from, limit, &rows, &next));
    for (Row& row : rows) {
      if (options.skip_locked && writes_.count(row.first) == 0) {
        if (!locks_.TryLock(RowLockKey(row.first), options.lock_rank)) continue;
        // Read again under the lock: the row may have changed or gone since the chunk was read.
        auto now = store_->kv_->Get(row.first);
        if (!now.ok()) return now.status();
        if (!now->has_value()) continue;
        row.second = std::move(**now);
      } else if (options.skip_locked) {
        locks_.TryLock(RowLockKey(row.first), options.lock_rank);  // our own write: claim it too
      }
      if (!fn(row.first, row.second) || ++passed >= options.max_rows) return Status::OK();
    }
    if (next.empty()) return Status::OK();
    from = std::move(next);
  }
  return Status::OK();
}

Status EmbeddedTransaction::Commit() {
  if (finished_) return Status::Internal("the transaction was committed already");
  finished_ = true;
  StoreBatch batch;
  for (const auto& [key, value] : writes_) {
    if (value) {
      batch.Put(key, *value);
    } else {
      batch.Delete(key);
    }
  }
  if (!batch.empty()) {
    Status s = store_->committer_.Commit(std::move(batch));
    if (!s.ok()) return Status::Unavailable("the data directory refused the write: " + s.message());
  }
  store_->bus_.Append(std::move(live_));
  return Status::OK();
}

}  // namespace

std::unique_ptr<Store> NewEmbeddedStore(std::unique_ptr<KvEngine> engine, const StoreOptions& options) {
  return std::make_unique<EmbeddedStore>(std::move(engine), options);
}

}  // namespace kefu
