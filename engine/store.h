// Durable storage behind an interface: LevelDB under the data directory, or in memory for tests.
// The engine writes one StoreBatch per request (the customer's message, the bot's reply, the
// conversation's new state and its events) and acknowledges only after the batch is durable.
//
// Keys are prefixed by record kind and desk (see docs/architecture.md, "Storage"); values are
// compact JSON. A store holds records only; everything derived (queue order, agents' load,
// ticket counters) is rebuilt from the records when the engine opens the store.
#ifndef KEFU_ENGINE_STORE_H_
#define KEFU_ENGINE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

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

struct StoreOptions {
  // Sync every write to disk before Write returns. Default true: an acknowledged message must
  // survive a machine crash, not only a process crash. Tests of logic may turn it off.
  bool sync = true;
  // LevelDB block cache, bytes. Default 32 MiB.
  size_t block_cache_bytes = size_t{32} << 20;
  // LevelDB write buffer (memtable), bytes. Default 16 MiB.
  size_t write_buffer_bytes = size_t{16} << 20;

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
  // one. Tests pass a fault-injecting leveldb::Env (tests/engine/fault_env.h).
  leveldb::Env* env = nullptr;
};

// Thread-safe: concurrent Writes from several threads are grouped into one synced log write
// (LevelDB's group commit), reads may run alongside writes.
class Store {
 public:
  virtual ~Store() = default;

  // Applies `batch` atomically and durably (per StoreOptions::sync). IOError when the disk
  // refuses the write (full, read-only); the batch is then not known to be applied (it may
  // reappear after a reopen if its log record reached the disk: "not known to be durable").
  // Unavailable while a LevelDB store waits to reopen after such a failure (StoreOptions).
  virtual Status Write(const StoreBatch& batch) = 0;

  // The value of `key`, std::nullopt when absent; IOError or Corruption on failure.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;

  // Calls `fn(key, value)` for every key in [start, limit) in key order ("" as limit: no upper
  // bound) until `fn` returns false. Sees a consistent snapshot.
  virtual Status Scan(std::string_view start, std::string_view limit,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;

  // Calls `fn` for every key that starts with `prefix`, in key order, until it returns false.
  Status ScanPrefix(std::string_view prefix,
                    const std::function<bool(std::string_view key, std::string_view value)>& fn);

  // Bytes the store occupies on disk (0 in memory).
  virtual uint64_t DiskBytes() = 0;
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
