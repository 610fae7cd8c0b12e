// A leveldb::Env that fails on demand, over a real one: the disk fills up, turns read-only, or
// stops syncing, and comes back. Files opened before a fault fail too from then on, as on a real
// full disk. Thread-safe.
#ifndef KEFU_TESTS_RELIABILITY_FAULT_ENV_H_
#define KEFU_TESTS_RELIABILITY_FAULT_ENV_H_

#include <leveldb/env.h>
#include <leveldb/status.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace kefu::testing {

class FaultEnv : public leveldb::EnvWrapper {
 public:
  enum class Fault {
    kNone,
    kDiskFull,   // new files, appends, flushes and syncs fail with ENOSPC
    kReadOnly,   // the same with EROFS
    kSyncFails,  // only fsync fails (EIO): the data may or may not be on the disk
  };

  explicit FaultEnv(leveldb::Env* base) : EnvWrapper(base) {}

  void Set(Fault fault) { fault_.store(fault); }
  Fault fault() const { return fault_.load(); }
  // Operations refused so far.
  int injected() const { return injected_.load(); }

  leveldb::Status NewWritableFile(const std::string& name, leveldb::WritableFile** result) override {
    if (leveldb::Status s = Check(name, /*sync=*/false); !s.ok()) {
      *result = nullptr;
      return s;
    }
    leveldb::WritableFile* file = nullptr;
    leveldb::Status s = target()->NewWritableFile(name, &file);
    *result = s.ok() ? new File(this, name, file) : nullptr;
    return s;
  }

  leveldb::Status NewAppendableFile(const std::string& name, leveldb::WritableFile** result) override {
    if (leveldb::Status s = Check(name, false); !s.ok()) {
      *result = nullptr;
      return s;
    }
    leveldb::WritableFile* file = nullptr;
    leveldb::Status s = target()->NewAppendableFile(name, &file);
    *result = s.ok() ? new File(this, name, file) : nullptr;
    return s;
  }

  leveldb::Status RenameFile(const std::string& from, const std::string& to) override {
    if (fault() == Fault::kReadOnly) return Refuse(from, EROFS);
    return target()->RenameFile(from, to);
  }

 private:
  class File : public leveldb::WritableFile {
   public:
    File(FaultEnv* env, std::string name, leveldb::WritableFile* file) : env_(env), name_(std::move(name)), file_(file) {}
    leveldb::Status Append(const leveldb::Slice& data) override {
      if (leveldb::Status s = env_->Check(name_, false); !s.ok()) return s;
      return file_->Append(data);
    }
    leveldb::Status Close() override { return file_->Close(); }
    leveldb::Status Flush() override {
      if (leveldb::Status s = env_->Check(name_, false); !s.ok()) return s;
      return file_->Flush();
    }
    leveldb::Status Sync() override {
      if (leveldb::Status s = env_->Check(name_, true); !s.ok()) return s;
      return file_->Sync();
    }

   private:
    FaultEnv* env_;
    std::string name_;
    std::unique_ptr<leveldb::WritableFile> file_;
  };

  leveldb::Status Check(const std::string& name, bool sync) {
    switch (fault()) {
      case Fault::kNone: return leveldb::Status::OK();
      case Fault::kDiskFull: return Refuse(name, ENOSPC);
      case Fault::kReadOnly: return Refuse(name, EROFS);
      case Fault::kSyncFails: return sync ? Refuse(name, EIO) : leveldb::Status::OK();
    }
    return leveldb::Status::OK();
  }

  leveldb::Status Refuse(const std::string& name, int error) {
    ++injected_;
    return leveldb::Status::IOError(name, std::strerror(error));
  }

  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<int> injected_{0};
};

}  // namespace kefu::testing

#endif  // KEFU_TESTS_RELIABILITY_FAULT_ENV_H_
