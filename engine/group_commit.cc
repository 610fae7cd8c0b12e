#include "engine/group_commit.h"

#include <string>
#include <utility>

namespace kefu {
namespace {

bool SameError(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}

}  // namespace

GroupCommitter::GroupCommitter(WriteFn write, std::function<void(const Status&)> on_failure,
                               std::function<void(uint64_t)> on_durable)
    : write_(std::move(write)), on_failure_(std::move(on_failure)), on_durable_(std::move(on_durable)) {}

GroupCommitter::~GroupCommitter() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!pending_.empty() || writing_) {
    if (writing_) {
      committed_.wait(lock);
    } else {
      WriteGroup(lock);
    }
  }
}

uint64_t GroupCommitter::Submit(StoreBatch batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (batch.empty()) return submitted_;
  pending_.push_back(std::move(batch));
  return ++submitted_;
}

Status GroupCommitter::Wait(uint64_t ticket) {
  if (ticket == 0) return Status::OK();
  std::unique_lock<std::mutex> lock(mu_);
  if (ticket > submitted_) {
    return Status::InvalidArgument("commit ticket " + std::to_string(ticket) + " was never issued");
  }
  // Leader and followers: a waiter whose batch is pending and finds no write in progress writes
  // everything pending itself; the others wait for that write. No thread hand-off on the way.
  while (finished_ < ticket) {
    if (!writing_ && !pending_.empty()) {
      WriteGroup(lock);
    } else {
      committed_.wait(lock);
    }
  }
  auto it = failures_.lower_bound(ticket);
  if (it != failures_.end() && it->second.first <= ticket) return it->second.error;
  if (ticket <= forgotten_through_) {
    return Status::Unavailable("the outcome of commit " + std::to_string(ticket) +
                               " is no longer known");
  }
  return Status::OK();
}

void GroupCommitter::FailPending(const Status& error) {
  std::lock_guard<std::mutex> lock(mu_);
  FailPendingLocked(error);
  if (!writing_) {
    // Nothing ahead of the failed batches: they are finished now.
    finished_ = taken_;
    committed_.notify_all();
  }
}

uint64_t GroupCommitter::writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_;
}

uint64_t GroupCommitter::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

void GroupCommitter::FailPendingLocked(const Status& error) {
  if (pending_.empty()) return;
  RecordFailure(taken_ + 1, submitted_, error);
  taken_ = submitted_;
  pending_.clear();
}

void GroupCommitter::RecordFailure(uint64_t first, uint64_t last, const Status& error) {
  // Consecutive failures with the same error share one range (LevelDB repeats its first write
  // error until reopened), which keeps the map small during a long outage.
  auto prev = failures_.find(first - 1);
  if (prev != failures_.end() && SameError(prev->second.error, error)) {
    first = prev->second.first;
    failures_.erase(prev);
  }
  auto next = failures_.lower_bound(last + 1);
  if (next != failures_.end() && next->second.first == last + 1 &&
      SameError(next->second.error, error)) {
    next->second.first = first;
    return;
  }
  failures_.emplace(last, FailedRange{first, error});
  while (failures_.size() > kMaxFailedRanges) {
    forgotten_through_ = failures_.begin()->first;
    failures_.erase(failures_.begin());
  }
}

void GroupCommitter::WriteGroup(std::unique_lock<std::mutex>& lock) {
  std::deque<StoreBatch> group;
  group.swap(pending_);
  const uint64_t first = taken_ + 1;
  const uint64_t last = submitted_;
  taken_ = last;
  writing_ = true;
  lock.unlock();

  StoreBatch merged;
  const StoreBatch* to_write = &group.front();
  if (group.size() > 1) {
    for (const StoreBatch& b : group) merged.Append(b);
    to_write = &merged;
  }
  const Status status = write_(*to_write);
  const size_t group_size = group.size();
  group.clear();
  merged = StoreBatch();

  if (!status.ok()) {
    lock.lock();
    FailPendingLocked(status);  // submitted during the failed write: built on the lost changes
    lock.unlock();
    if (on_failure_) on_failure_(status);
  } else if (on_durable_) {
    on_durable_(last);
  }

  lock.lock();
  if (status.ok()) {
    ++writes_;
    batches_ += group_size;
  } else {
    RecordFailure(first, last, status);
  }
  writing_ = false;
  finished_ = taken_;
  committed_.notify_all();
}

}  // namespace kefu
