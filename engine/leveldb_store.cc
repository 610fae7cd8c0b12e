// The embedded store's key-value engine on LevelDB: on disk under a data directory, or on
// LevelDB's in-memory Env. Transactions, locks and group commit are embedded_store.cc's.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/helpers/memenv.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "engine/embedded_store.h"

namespace kefu {
namespace {

Status FromLevelDb(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  const std::string msg = s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsNotSupportedError()) return Status::Internal(msg);
  return Status::IOError(msg);
}

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }
std::string_view ToView(const leveldb::Slice& s) { return std::string_view(s.data(), s.size()); }

// LevelDB reports a taken LOCK as an IOError "lock <dir>/LOCK: <reason>": "already held by
// process" when this process holds it, the fcntl error (EAGAIN/EACCES) when another one does.
// Failures to create or open the LOCK file itself carry no "lock " prefix and stay IOErrors.
bool IsLockHeld(const leveldb::Status& s, const std::string& dir) {
  return s.IsIOError() && s.ToString().find("lock " + dir + "/LOCK") != std::string::npos;
}

// Opens the DB in `dir` with `lo`.
leveldb::Status OpenDb(const leveldb::Options& lo, const std::string& dir, std::unique_ptr<leveldb::DB>* db) {
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(lo, dir, &raw);
  db->reset(raw);
  return s;
}

// Writes and syncs `bytes` bytes to a scratch file in `dir` through `env`, then removes it: OK
// when the directory takes writes again (space returned, remounted read-write).
leveldb::Status ProbeWritable(leveldb::Env* env, const std::string& dir, size_t bytes) {
  const std::string path = dir + "/REOPEN-PROBE";
  leveldb::WritableFile* raw = nullptr;
  leveldb::Status s = env->NewWritableFile(path, &raw);
  if (!s.ok()) return s;
  std::unique_ptr<leveldb::WritableFile> file(raw);
  const std::string chunk(4096, 'p');
  for (size_t done = 0; s.ok() && done < bytes; done += chunk.size()) s = file->Append(chunk);
  if (s.ok()) s = file->Sync();
  leveldb::Status closed = file->Close();
  if (s.ok()) s = closed;
  file.reset();
  env->RemoveFile(path);  // best effort: a failed probe may have left part of it
  return s;
}

class LevelDbEngine final : public KvEngine {
 public:
  // Takes ownership of `owned_env` (null: `lo.env` is not owned) and `cache`.
  LevelDbEngine(std::string dir, leveldb::Options lo, const StoreOptions& options,
               std::unique_ptr<leveldb::Env> owned_env, std::unique_ptr<leveldb::Cache> cache,
               std::unique_ptr<const leveldb::FilterPolicy> filter, std::unique_ptr<leveldb::DB> db)
      : dir_(std::move(dir)),
        options_(options),
        owned_env_(std::move(owned_env)),
        cache_(std::move(cache)),
        filter_(std::move(filter)),
        lo_(lo),
        db_(std::move(db)) {
    write_options_.sync = options.sync;
    in_memory_ = owned_env_ != nullptr;
  }

  Status Write(std::span<const StoreBatch> group) override {
    leveldb::WriteBatch wb;
    size_t ops = 0;
    for (const StoreBatch& batch : group) {
      ops += batch.size();
      for (const StoreBatch::Op& op : batch.ops()) {
        if (op.is_delete) {
          wb.Delete(op.key);
        } else {
          wb.Put(op.key, op.value);
        }
      }
    }
    if (ops == 0) return Status::OK();
    std::lock_guard<std::mutex> writing(write_mu_);
    if (!failure_.ok() && !ReopenIfDue()) return Refusal();
    leveldb::Status s;
    {
      std::shared_lock<std::shared_mutex> lock = ReadLock();
      s = db_->Write(write_options_, &wb);
    }
    if (s.ok()) return Status::OK();
    // Never write to this DB again: its log may end in a torn record, and LevelDB may have
    // stopped taking writes. Reopen at once if the disk takes a probe, else later.
    const Status error = FromLevelDb(s);
    failure_ = error;
    backoff_millis_ = options_.reopen_backoff_min_millis;
    next_attempt_ = std::chrono::steady_clock::now();
    ReopenIfDue();
    return error;
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::shared_lock<std::shared_mutex> lock = ReadLock();
    if (db_ == nullptr) {
      lock.unlock();
      KEFU_RETURN_IF_ERROR(ReopenClosed());
      lock.lock();
      if (db_ == nullptr) return Closed();
    }
    std::string value;
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromLevelDb(s);
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(std::string_view start, std::string_view limit, const ScanFn& fn) override {
    std::shared_lock<std::shared_mutex> lock = ReadLock();
    if (db_ == nullptr) {
      lock.unlock();
      KEFU_RETURN_IF_ERROR(ReopenClosed());
      lock.lock();
      if (db_ == nullptr) return Closed();
    }
    // With no explicit snapshot, a LevelDB iterator pins an implicit one when it is created, so
    // the whole scan sees one consistent state while writes go on.
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    const leveldb::Slice limit_slice = ToSlice(limit);
    for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
      if (!limit.empty() && it->key().compare(limit_slice) >= 0) break;
      if (!fn(ToView(it->key()), ToView(it->value()))) break;
    }
    return FromLevelDb(it->status());
  }

  uint64_t DiskBytes() override {
    if (in_memory_) return 0;
    uint64_t total = 0;
    std::error_code ec;
    // The error_code overloads throughout: a file LevelDB deletes mid-walk is simply skipped.
    std::filesystem::directory_iterator it(dir_, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code size_ec;
      const uintmax_t size = it->is_regular_file(size_ec) ? it->file_size(size_ec) : 0;
      if (!size_ec) total += size;
    }
    return total;
  }

 private:
  // A shared hold of db_mu_, taken after passing the gate (see ReopenIfDue).
  std::shared_lock<std::shared_mutex> ReadLock() {
    { std::lock_guard<std::mutex> gate(gate_mu_); }
    return std::shared_lock<std::shared_mutex>(db_mu_);
  }

  // After a failure: when the next attempt is due, probes the directory and reopens the DB.
  // True when the store takes writes again. REQUIRES(write_mu_).
  bool ReopenIfDue() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) return false;
    leveldb::Status s = ProbeWritable(lo_.env, dir_, options_.reopen_probe_bytes);
    if (s.ok()) {
      // Waits for the reads in progress; the gate keeps new ones from overtaking (glibc's rwlock
      // prefers readers: a steady stream of them would starve the reopen).
      std::lock_guard<std::mutex> gate(gate_mu_);
      std::unique_lock<std::shared_mutex> lock(db_mu_);
      db_.reset();  // releases the LOCK file before the new open takes it
      s = OpenDb(lo_, dir_, &db_);
      if (!s.ok()) db_.reset();
    }
    if (s.ok()) {
      std::fprintf(stderr, "kefu: store %s reopened after a failed write (%s)\n", dir_.c_str(),
                   failure_.ToString().c_str());
      failure_ = Status::OK();
      return true;
    }
    next_attempt_ = now + std::chrono::milliseconds(backoff_millis_);
    backoff_millis_ = std::min(std::max(1, backoff_millis_ * 2), options_.reopen_backoff_max_millis);
    return false;
  }

  // A read found the DB closed (a reopen failed after the probe passed): tries again when due.
  Status ReopenClosed() {
    std::lock_guard<std::mutex> writing(write_mu_);
    if (!failure_.ok()) ReopenIfDue();
    return Status::OK();
  }

  Status Refusal() const {
    return Status::Unavailable("writes are suspended after a disk error until the data directory takes writes again (" +
                               failure_.ToString() + ")");
  }

  Status Closed() const {
    return Status::Unavailable("the store is closed after a disk error and could not be reopened yet");
  }

  const std::string dir_;
  const StoreOptions options_;
  // Destroyed in reverse order: the DB first, then the cache and Env it uses.
  std::unique_ptr<leveldb::Env> owned_env_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  const leveldb::Options lo_;
  bool in_memory_ = false;
  leveldb::WriteOptions write_options_;

  // Writes are serialised (the store's GroupCommitter already hands over one group at a time),
  // so that no write can land in a log behind a failed one before the DB is reopened.
  std::mutex write_mu_;
  Status failure_;  // GUARDED_BY(write_mu_) OK, or the error that stopped writes
  std::chrono::steady_clock::time_point next_attempt_;  // GUARDED_BY(write_mu_)
  int backoff_millis_ = 0;                              // GUARDED_BY(write_mu_)

  // Reads and writes hold it shared; a reopen holds it exclusively. Lock order: write_mu_, then
  // gate_mu_, then db_mu_.
  std::mutex gate_mu_;  // held by a reopen while it waits for db_mu_; passed by every reader
  std::shared_mutex db_mu_;
  std::unique_ptr<leveldb::DB> db_;  // GUARDED_BY(db_mu_) null only after a failed reopen
};

Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options,
                                    std::unique_ptr<leveldb::Env> owned_env) {
  std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(options.block_cache_bytes));
  // Most point reads are of keys that do not exist: a new client_msg_id, a customer without a
  // conversation yet. Without a filter LevelDB looks for such a key in every level-0 table and
  // every level, reading and decompressing a block from each; with 10 bits per key it skips
  // 99% of those tables. Tables written before the filter was set are read as before.
  std::unique_ptr<const leveldb::FilterPolicy> filter(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options lo;
  lo.create_if_missing = true;
  lo.write_buffer_size = options.write_buffer_bytes;
  lo.block_cache = cache.get();
  lo.filter_policy = filter.get();
  if (owned_env != nullptr) {
    lo.env = owned_env.get();
  } else if (options.env != nullptr) {
    lo.env = options.env;
  }
  std::unique_ptr<leveldb::DB> db;
  leveldb::Status s = OpenDb(lo, dir, &db);
  if (!s.ok()) {
    if (IsLockHeld(s, dir)) {
      return Status::Unavailable("data directory " + dir + " is in use by another kefu process (" +
                                 s.ToString() + ")");
    }
    return FromLevelDb(s).WithContext("cannot open data directory " + dir);
  }
  return NewEmbeddedStore(
      std::unique_ptr<KvEngine>(new LevelDbEngine(dir, lo, options, std::move(owned_env), std::move(cache),
                                              std::move(filter), std::move(db))),
      options);
}

}  // namespace

Result<std::unique_ptr<Store>> OpenLevelDbStore(const std::string& dir,
                                                const StoreOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("data directory path is empty");
  // LevelDB creates only the last path component; create the parents too, and fail clearly.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create data directory " + dir + ": " + ec.message());
  return Open(dir, options, nullptr);
}

Result<std::unique_ptr<Store>> OpenMemoryStore() {
  std::unique_ptr<leveldb::Env> env(leveldb::NewMemEnv(leveldb::Env::Default()));
  StoreOptions options;
  options.sync = false;  // nothing to sync in memory
  options.block_cache_bytes = size_t{8} << 20;
  options.write_buffer_bytes = size_t{16} << 20;  // fewer flushes and compactions: tests and the CPU bench measure kefu, not LevelDB's background work
  return Open("/kefu-memory-store", options, std::move(env));
}

}  // namespace kefu
