// The store is the authority: every record (conversations, messages, agents, tickets, events)
// and every index over them lives here, and the engine runs each operation as one short
// transaction over it, keeping only a bounded cache in memory.
//
// The interface is an ordered key-value store with transactions, row locks and "claim" scans
// (SKIP LOCKED), so that two very different backends serve the same engine code:
//   - LevelDB (OpenLevelDbStore): embedded, one process. Locks live in the process; a commit is
//     one synced LevelDB write, concurrent commits sharing one fsync (group commit).
//   - PostgreSQL (engine/pg/pg_store.h): any number of kefu processes. Locks are PostgreSQL's row
//     locks; a claim is SELECT ... FOR UPDATE SKIP LOCKED; commits are PostgreSQL transactions.
// Keys are byte strings compared bytewise (the records module, engine/records.h, owns the
// layout); values are opaque bytes.
//
// Isolation is "read committed" on both: a read sees what was committed when it ran (plus the
// transaction's own writes); consistency comes from locks. Deadlocks are avoided by lock ranks:
// a transaction waits for a lock only when its rank is higher than that of every lock it holds
// (any rank >= 0 waits when it holds none); otherwise it only tries, and a lock held elsewhere
// fails the call with Aborted. A negative rank (kTryLock) never waits. A failed try takes
// nothing and leaves the transaction usable: the caller may go on without that lock (the router
// skips a conversation someone else holds), or drop the transaction and run the operation again
// (Engine's RunTransaction does). Any other Aborted (a deadlock the database found, a wait past
// its timeout) ends the transaction.
#ifndef KEFU_ENGINE_STORE_H_
#define KEFU_ENGINE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/live_bus.h"

namespace leveldb {
class Env;
}  // namespace leveldb

namespace kefu {

// Puts and deletes applied atomically, in order.
class StoreBatch {
 public:
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Appends all of `other`'s operations after this batch's.
  void Append(const StoreBatch& other);
  // The operations of `group`'s batches, in order, as one batch.
  static StoreBatch Joined(std::span<const StoreBatch> group);
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  size_t ApproximateBytes() const { return bytes_; }

  struct Op {
    bool is_delete = false;
    std::string key;
    std::string value;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

// A lock rank that never waits: the lock is taken if free, else Aborted.
constexpr int kTryLock = -1;

struct ScanOptions {
  // At most this many rows are passed to the callback. Default: no limit.
  size_t max_rows = SIZE_MAX;
  // Claim: each row returned is locked until the transaction ends, and rows that other
  // transactions hold are skipped (PostgreSQL's FOR UPDATE SKIP LOCKED). Never waits. Default
  // false: a plain read of committed rows.
  bool skip_locked = false;
  // The rank of the locks a claim takes (see the file comment).
  int lock_rank = 0;
};

// One operation's reads and writes. Writes become visible to others, all at once, at Commit;
// locks are held until the transaction is destroyed, so that the caller can update its caches of
// what it wrote before anyone else may lock those rows. Destroying an uncommitted transaction
// rolls it back. Not thread-safe: one thread uses a transaction at a time.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // The value of `key` (this transaction's own writes included), std::nullopt when absent.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;

  // Locks the row of `key` until the transaction ends, then reads it (the value after the lock,
  // never an older one). A missing row is not locked (PostgreSQL cannot lock what does not exist):
  // use LockName for keys that may be absent. Aborted when the lock is held elsewhere and the
  // rank rule forbids waiting; Unavailable when the store cannot be reached.
  virtual Result<std::optional<std::string>> GetForUpdate(std::string_view key, int rank) = 0;

  // Locks the name `name` (any string; a row need not exist) until the transaction ends. Names and
  // rows are separate lock spaces: lock a given key always the same way. Aborted as GetForUpdate.
  virtual Status LockName(std::string_view name, int rank) = 0;

  // Calls `fn(key, value)` for the keys in [start, limit) in key order ("" as limit: no upper
  // bound), this transaction's writes included, until `fn` returns false or `options.max_rows`
  // rows were passed. With `options.skip_locked`, see ScanOptions.
  virtual Status Scan(std::string_view start, std::string_view limit, const ScanOptions& options,
                      const ScanFn& fn) = 0;

  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;

  // Live events made visible, in order, once the transaction has committed (never on rollback).
  virtual void Publish(LiveEvent event) = 0;

  // Makes every write durable and visible at once. OK: durable. IOError or Unavailable: not
  // known to be durable (the disk or the database failed); the transaction is then over either
  // way. Locks stay held until the transaction is destroyed.
  virtual Status Commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // A new transaction. Unavailable when the store cannot take one (a database down; LevelDB
  // waiting to reopen after a disk error still gives transactions, whose Commit then fails).
  virtual Result<std::unique_ptr<Transaction>> Begin() = 0;

  // Applies `batch` atomically and durably outside any transaction's locks (side records,
  // migrations, tests). Errors as Transaction::Commit.
  virtual Status Write(const StoreBatch& batch) = 0;

  // A committed value, std::nullopt when absent.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;

  // Committed rows of [start, limit) in key order ("" as limit: no upper bound) until `fn` returns
  // false. Sees one consistent snapshot.
  virtual Status Scan(std::string_view start, std::string_view limit, const ScanFn& fn) = 0;

  // Calls `fn` for every key that starts with `prefix`, in key order, until it returns false.
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn);

  // The live events of every desk, published by committed transactions. Owned by the store.
  virtual LiveBus* live() = 0;

  // A lease on `name` for this process: std::nullopt-like nullptr when another process (or
  // another lease in this one) holds it. Released when the returned object is destroyed, or
  // when this process dies (PostgreSQL: a session advisory lock on a connection of its own).
  class Lease {
   public:
    virtual ~Lease() = default;
    // False once the lease is lost (its database connection broke): stop the leased work.
    virtual bool held() = 0;
  };
  virtual Result<std::unique_ptr<Lease>> TryLease(std::string_view name) = 0;

  // True when other processes may share this store (PostgreSQL): caches must be validated
  // against the store on every use. False for LevelDB: this process is the only writer.
  virtual bool shared() const = 0;

  // Bytes the store occupies on disk (0 in memory or when unknown).
  virtual uint64_t DiskBytes() = 0;

  // Commits since open (group commits for LevelDB) and the transactions they carried.
  struct Counters {
    uint64_t writes = 0;
    uint64_t transactions = 0;
  };
  virtual Counters counters() const = 0;
};

struct StoreOptions {
  // Sync every write to disk before it is acknowledged. Default true: an acknowledged message must
  // survive a machine crash, not only a process crash. Tests of logic may turn it off.
  bool sync = true;
  // LevelDB block cache, bytes. Default 32 MiB.
  size_t block_cache_bytes = size_t{32} << 20;
  // LevelDB write buffer (memtable), bytes. Default 16 MiB.
  size_t write_buffer_bytes = size_t{16} << 20;
  // Live events kept per desk for streams to resume from. Default 10,000.
  size_t live_events_per_desk = 10000;

  // After a failed write (disk full, read-only, I/O error) LevelDB refuses every later write until
  // it is reopened, and the log it was writing may end in a torn record. The store therefore
  // never writes to that DB again: it reopens it (which recovers the log into a table and starts
  // a new one) once a probe file of `reopen_probe_bytes` can be written and synced in the
  // directory. The first attempt is made at once, then after `reopen_backoff_min_millis`,
  // doubling up to `reopen_backoff_max_millis`; writes in between fail at once with the original
  // error, and reads keep working on the old DB. Defaults 100 ms, 5 s, 64 KiB: recovery within
  // seconds of space returning, and a full disk costs one probe per few seconds.
  int reopen_backoff_min_millis = 100;
  int reopen_backoff_max_millis = 5000;
  size_t reopen_probe_bytes = size_t{64} << 10;

  // The file system LevelDB uses; not owned, must outlive the store. Default nullptr: the real
  // one. Tests pass a fault-injecting leveldb::Env (tests/reliability/fault_env.h).
  leveldb::Env* env = nullptr;
};

// Opens (creating it and its parents if needed) a LevelDB store in directory `dir`. Unavailable
// with a message that says another kefu holds `dir` when its LOCK is taken (by another process,
// or by a store this process still has open); IOError when `dir` cannot be created or read;
// Corruption when LevelDB finds its files damaged.
Result<std::unique_ptr<Store>> OpenLevelDbStore(const std::string& dir, const StoreOptions& options = {});

// A LevelDB store on LevelDB's in-memory Env (leveldb/helpers/memenv.h): the real engine, no
// disk, for unit tests. Each call returns a new, empty store; its records die with it.
Result<std::unique_ptr<Store>> OpenMemoryStore();

// The smallest key greater than every key that starts with `prefix` (for Scan's limit); "" when
// there is none (prefix all 0xFF).
std::string PrefixLimit(std::string_view prefix);

}  // namespace kefu

#endif  // KEFU_ENGINE_STORE_H_
