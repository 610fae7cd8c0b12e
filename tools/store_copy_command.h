// `kefu store copy`: moves a deployment's records between its two kinds of store, LevelDB (a data
// directory, as `kefu serve --data`) and PostgreSQL (a postgresql:// URI, as `kefu serve --store`),
// either way, and also directory to directory or database to database.
//
// What is copied: every row of the ordered key-value space (engine/store.h). It holds all of a
// deployment's records (engine/records.h): conversations, messages and their seqs, customer tokens,
// agents and their sessions, tickets and the ticket counter, stats, armed timers, uploaded KBs, the
// channels' side records. Not copied: PostgreSQL's live_events table, the hints that live streams
// follow; clients resume by message seq and resynchronise, as after a restart. Nor the admin token,
// which is not in the store (DIR/admin_token or KEFU_ADMIN_TOKEN): it is copied between two data
// directories, and a note says what to do otherwise.
//
// Safety. The source must not be live: a data directory is refused while a kefu holds its LevelDB
// LOCK (kefu serve, or another copy); a database while any other kefu process is connected to it
// (pg_stat_activity, by application_name "kefu..." — every serving node keeps its listener
// connection open), and while another copy holds the "kefu store copy" lease. The check is repeated
// after copying, and the source is read twice (counting, copying) and must read the same. The
// destination must hold no record, so that a copy never merges two deployments. After copying, the
// destination is read back and must match the source row for row (count, bytes and a checksum of
// every key and value).
#ifndef KEFU_TOOLS_STORE_COPY_COMMAND_H_
#define KEFU_TOOLS_STORE_COPY_COMMAND_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/store.h"

namespace kefu {

struct StoreCopyArgs {
  std::string from;  // a data directory or a postgresql:// URI
  std::string to;    // the same; must hold no record
};

// Copies, verifies and prints one summary line on stdout ("copied N records (X MB) in S s ..."); a
// progress bar on stderr when it is a terminal. Exit code 0 when copied and verified; 1 when
// refused (a live source, a destination with records) or failed (the message says whether the
// destination now holds a partial copy); 2 when a location is missing or both name the same store.
int RunStoreCopy(const StoreCopyArgs& args);

// What a sequence of rows adds up to: how many, their bytes, and an order-sensitive 64-bit hash of
// every key and value. Equal digests of two scans in key order mean the same rows (but for a hash
// collision). The hash is only comparable within one process (std::hash). Not thread-safe.
class RowDigest {
 public:
  void Add(std::string_view key, std::string_view value);

  uint64_t rows() const { return rows_; }
  uint64_t bytes() const { return bytes_; }  // keys and values
  uint64_t hash() const { return hash_; }
  bool operator==(const RowDigest&) const = default;

 private:
  uint64_t rows_ = 0;
  uint64_t bytes_ = 0;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// Called with the digest so far, now and then (every batch), for progress.
using RowProgressFn = std::function<void(const RowDigest&)>;

// The digest of every committed row of `store` (one Store::Scan). Errors are the store's.
Result<RowDigest> DigestStore(Store& store, const RowProgressFn& progress);

struct CopyRowsOptions {
  // A batch is written (Store::Write, atomic) when it reaches this many rows... Default 2,000.
  size_t batch_rows = 2000;
  // ...or this many bytes. Default 4 MiB: memory stays bounded whatever the store's size.
  size_t batch_bytes = size_t{4} << 20;
};

// Writes every committed row of `from` into `to`, in key order, in batches, and returns the digest
// of the rows read. The errors of either store, with context naming which; the rows written before
// a failure stay in `to`.
Result<RowDigest> CopyRows(Store& from, Store& to, const CopyRowsOptions& options, const RowProgressFn& progress);

}  // namespace kefu

#endif  // KEFU_TOOLS_STORE_COPY_COMMAND_H_
