// The embedded store: Store and Transaction (store.h) for one process over an ordered key-value
// engine that writes atomic batches (LevelDB). Everything a transaction needs beyond that lives
// here, in memory: row and name locks (lock_manager.h), a transaction's uncommitted writes laid
// over its reads, group commit of concurrent transactions into one synced write
// (group_commit.h), the live event bus, and leases.
//
// A transaction's reads see committed rows (LevelDB makes a batch visible only once its write,
// synced when StoreOptions::sync, has succeeded) plus its own writes. Its Commit submits its
// writes as one batch to the group committer and returns when that batch is durable; its live
// events are then appended to the bus, before its locks are released, so that the events of one
// row follow the order of its commits.
#ifndef KEFU_ENGINE_EMBEDDED_STORE_H_
#define KEFU_ENGINE_EMBEDDED_STORE_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "engine/store.h"

namespace kefu {

// The ordered key-value engine under an embedded store. Thread-safe.
class KvEngine {
 public:
  virtual ~KvEngine() = default;
  // Applies the batches of `group`, in order, as one atomic write; durably when the engine was
  // opened to sync. See Store::Write.
  virtual Status Write(std::span<const StoreBatch> group) = 0;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // One consistent snapshot of [start, limit) ("" limit: no bound), in key order.
  virtual Status Scan(std::string_view start, std::string_view limit, const ScanFn& fn) = 0;
  virtual uint64_t DiskBytes() = 0;
};

// A Store over `engine`, owning it.
std::unique_ptr<Store> NewEmbeddedStore(std::unique_ptr<KvEngine> engine, const StoreOptions& options);

}  // namespace kefu

#endif  // KEFU_ENGINE_EMBEDDED_STORE_H_
