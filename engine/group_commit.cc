#include "engine/group_commit.h"

#include <string>
#include <utility>

namespace kefu {
namespace {

bool SameError(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}

}  // namespace

// A thread blocked in Wait. It sleeps on a condition variable of its own, so that the end of a
// write wakes exactly the waiters it finished, not every waiter (with 64 request threads, waking
// all of them after each write cost a fifth of the CPU).
struct GroupCommitter::Waiter {
  explicit Waiter(uint64_t t) : ticket(t) {}
  const uint64_t ticket;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // GUARDED_BY(mu)
  Status outcome;     // set before done
};

GroupCommitter::GroupCommitter(WriteFn write, std::function<void(const Status&)> on_failure,
                               std::function<void(uint64_t)> on_durable)
    : write_(std::move(write)),
      on_failure_(std::move(on_failure)),
      on_durable_(std::move(on_durable)),
      writer_([this] { WriterLoop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  writer_.join();
}

void GroupCommitter::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    writer_busy_ = false;
    work_.wait(lock, [&] { return stopping_ || (!writing_ && !pending_.empty()); });
    writer_busy_ = true;
    if (!writing_ && !pending_.empty()) {
      WriteGroup(lock);
    } else if (stopping_) {
      return;  // and everything is written
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
  // An idle committer: this thread writes at once, which costs no hand-off to the writer thread
  // and back (a commit in memory took twice as long with them).
  if (finished_ < ticket && !writing_ && !writer_busy_ && !pending_.empty()) WriteGroup(lock);
  if (finished_ >= ticket) return OutcomeLocked(ticket);
  Waiter self(ticket);
  waiters_.push_back(&self);
  lock.unlock();
  std::unique_lock<std::mutex> mine(self.mu);
  self.cv.wait(mine, [&] { return self.done; });
  return self.outcome;
}

void GroupCommitter::FailPending(const Status& error) {
  std::vector<Waiter*> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    FailPendingLocked(error);
    if (writing_) return;  // the write in flight finishes them
    // Nothing ahead of the failed batches: they are finished now.
    finished_ = taken_;
    done = TakeFinishedLocked();
  }
  Wake(done);
}

uint64_t GroupCommitter::writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_;
}

uint64_t GroupCommitter::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

Status GroupCommitter::OutcomeLocked(uint64_t ticket) const {
  auto it = failures_.lower_bound(ticket);
  if (it != failures_.end() && it->second.first <= ticket) return it->second.error;
  if (ticket <= forgotten_through_) {
    return Status::Unavailable("the outcome of commit " + std::to_string(ticket) +
                               " is no longer known");
  }
  return Status::OK();
}

std::vector<GroupCommitter::Waiter*> GroupCommitter::TakeFinishedLocked() {
  std::vector<Waiter*> done;
  size_t kept = 0;
  for (Waiter* w : waiters_) {
    if (w->ticket <= finished_) {
      w->outcome = OutcomeLocked(w->ticket);
      done.push_back(w);
    } else {
      waiters_[kept++] = w;
    }
  }
  waiters_.resize(kept);
  return done;
}

void GroupCommitter::Wake(const std::vector<Waiter*>& done) {
  // Each waiter is signalled under its own mutex: it cannot return (and destroy itself) before
  // that mutex is released, and nothing touches it after.
  for (Waiter* w : done) {
    std::lock_guard<std::mutex> mine(w->mu);
    w->done = true;
    w->cv.notify_one();
  }
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
  std::vector<StoreBatch> group;
  group.swap(pending_);
  const uint64_t first = taken_ + 1;
  const uint64_t last = submitted_;
  taken_ = last;
  writing_ = true;
  lock.unlock();

  // The group goes to the store as it is: merging it into one batch first copied every key and
  // value once more on the one thread that all writers wait for.
  const Status status = write_(std::span<const StoreBatch>(group));
  const size_t group_size = group.size();
  group.clear();

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
  std::vector<Waiter*> done = TakeFinishedLocked();
  if (!pending_.empty()) work_.notify_one();  // what came during this write: the writer thread takes it
  lock.unlock();
  Wake(done);
  lock.lock();
}

}  // namespace kefu
