// The Store on LevelDB: on disk under a data directory, or on LevelDB's in-memory Env.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "engine/store.h"

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

class LevelDbStore final : public Store {
 public:
  // Takes ownership of `env` (may be null: the default Env, not owned) and `cache`.
  LevelDbStore(std::string dir, std::unique_ptr<leveldb::Env> env,
               std::unique_ptr<leveldb::Cache> cache, std::unique_ptr<leveldb::DB> db, bool sync)
      : dir_(std::move(dir)), env_(std::move(env)), cache_(std::move(cache)), db_(std::move(db)) {
    write_options_.sync = sync;
  }

  Status Write(const StoreBatch& batch) override {
    if (batch.empty()) return Status::OK();
    leveldb::WriteBatch wb;
    for (const StoreBatch::Op& op : batch.ops()) {
      if (op.is_delete) {
        wb.Delete(op.key);
      } else {
        wb.Put(op.key, op.value);
      }
    }
    return FromLevelDb(db_->Write(write_options_, &wb));
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromLevelDb(s);
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(
      std::string_view start, std::string_view limit,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) override {
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
    if (env_ != nullptr) return 0;  // in memory
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
  // Destroyed in reverse order: the DB first, then the cache and Env it uses.
  std::string dir_;
  std::unique_ptr<leveldb::Env> env_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<leveldb::DB> db_;
  leveldb::WriteOptions write_options_;
};

Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options,
                                    std::unique_ptr<leveldb::Env> env) {
  std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(options.block_cache_bytes));
  leveldb::Options lo;
  lo.create_if_missing = true;
  lo.write_buffer_size = options.write_buffer_bytes;
  lo.block_cache = cache.get();
  if (env != nullptr) lo.env = env.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(lo, dir, &raw);
  if (!s.ok()) {
    if (IsLockHeld(s, dir)) {
      return Status::Unavailable("data directory " + dir + " is in use by another kefu process (" +
                                 s.ToString() + ")");
    }
    return FromLevelDb(s).WithContext("cannot open data directory " + dir);
  }
  std::unique_ptr<leveldb::DB> db(raw);
  return std::unique_ptr<Store>(
      new LevelDbStore(dir, std::move(env), std::move(cache), std::move(db), options.sync));
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
  options.block_cache_bytes = size_t{1} << 20;
  options.write_buffer_bytes = size_t{1} << 20;
  return Open("/kefu-memory-store", options, std::move(env));
}

}  // namespace kefu
