// Ordered group commit, under the embedded store's transactions (leveldb_store.cc). A committing
// transaction hands its StoreBatch to Submit, so batches reach LevelDB in submission order, and
// then Waits. When nothing is being written, the waiting thread writes its batch itself; batches
// submitted while a write is in flight are taken, as one synced write, by a writer thread of the
// committer's own as soon as that write ends. Many concurrent requests thus share one fsync, and
// the disk always holds a prefix of the history that memory went through.
//
// Why a thread of its own rather than a waiting request thread as the next writer (LevelDB's
// writer queue): on a machine with few cores and many request threads, a request thread that had
// just written was queued behind the others for the CPU after each fsync, and the store sat idle
// meanwhile. The writer sleeps through its fsyncs, so the scheduler runs it as soon as one ends.
// Measured: `tools/bench engine`, 64 threads, 2 cores: 11,800 durable messages/s with a request
// thread as the writer, 15,900 with the writer thread (medians of three interleaved runs). An
// idle committer still lets the waiting thread write: a hand-off per commit cost about half the
// in-memory rate on one thread.
//
// When a write fails, the history after the failure point must not reach the disk either, since
// it was built on changes the disk does not have. So, in this order:
//   1. the failed group's batches and every batch submitted while that write was in flight are
//      failed (they never reach the store);
//   2. `on_failure(error)` runs on the writing thread, with no committer lock held (a caller that
//      keeps derived state may rebuild it there and call FailPending(error), which fails the
//      batches submitted between the failure and the rebuild);
//   3. the waiters of all those batches wake with `error`;
//   4. batches submitted after that are written as usual, if the store accepts writes again.
// LevelDB caveat: after a failed log sync it refuses every later write until it is reopened, and
// the failed batch may or may not be there after the reopen; a failed commit means "not known to
// be durable", never "known to be absent".
//
// Thread-safe: every public method may be called from any thread, except as noted.
#ifndef KEFU_ENGINE_GROUP_COMMIT_H_
#define KEFU_ENGINE_GROUP_COMMIT_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "engine/store.h"

namespace kefu {

class GroupCommitter {
 public:
  // Writes each group with `write` (one atomic, durable write of the group's batches, in order:
  // the embedded store's LevelDB), on the writer thread started here or, when the committer is
  // idle, on the thread that Waits. `on_failure` (optional) runs on the writing thread after a
  // failed write, before waiters are woken. It must not call Wait or Commit (it would wait for
  // itself).
  // `on_durable` (optional) runs on the writing thread after each successful write, with no
  // committer lock held and before the group's waiters wake, with the last durable ticket.
  using WriteFn = std::function<Status(std::span<const StoreBatch> group)>;
  explicit GroupCommitter(WriteFn write, std::function<void(const Status&)> on_failure = nullptr,
                          std::function<void(uint64_t)> on_durable = nullptr);
  // Writes what is pending, then stops the writer thread. No Submit may run concurrently.
  ~GroupCommitter();

  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `batch` and returns its ticket (1, 2, 3, ... in call order). An empty batch gets the
  // ticket of the last batch submitted (0 when there is none). The batch is written when someone
  // Waits for it or a later ticket, when a write in flight ends, or when the committer is
  // destroyed.
  uint64_t Submit(StoreBatch batch);

  // Blocks until the batch of `ticket` (and all before it) is durable or has failed: OK, or the
  // error of the write (IOError/Unavailable/...) that failed it (see the file comment). Ticket 0
  // is OK at once; a ticket never issued is InvalidArgument. The outcomes of the last 4096
  // distinct failures are remembered; waiting on a ticket older than those gives Unavailable.
  Status Wait(uint64_t ticket);

  // Submit then Wait.
  Status Commit(StoreBatch batch) { return Wait(Submit(std::move(batch))); }

  // Fails every batch submitted but not yet handed to the store: it never reaches the store and
  // its waiters get `error` (once every batch before it has finished). For on_failure, which
  // usable from any thread.
  void FailPending(const Status& error);

  // Number of successful store writes and of the batches they carried so far
  // (batches / writes = mean group size).
  uint64_t writes() const;
  uint64_t batches() const;

 private:
  struct FailedRange {
    uint64_t first;  // the range's first ticket; the map key is its last
    Status error;
  };
  struct Waiter;
  static constexpr size_t kMaxFailedRanges = 4096;

  // The writer thread: writes groups until the committer is destroyed and nothing is pending.
  void WriterLoop();
  // Writes everything pending as one store write. REQUIRES(mu_) held via `lock`, !writing_.
  void WriteGroup(std::unique_lock<std::mutex>& lock);
  void FailPendingLocked(const Status& error);                             // REQUIRES(mu_)
  void RecordFailure(uint64_t first, uint64_t last, const Status& error);  // REQUIRES(mu_)
  // The outcome of a finished ticket. REQUIRES(mu_)
  Status OutcomeLocked(uint64_t ticket) const;
  // Removes from waiters_ those whose ticket is finished, with their outcome set. REQUIRES(mu_)
  std::vector<Waiter*> TakeFinishedLocked();
  // Wakes what TakeFinishedLocked took. REQUIRES(mu_ not held)
  static void Wake(const std::vector<Waiter*>& done);

  WriteFn write_;
  std::function<void(const Status&)> on_failure_;
  std::function<void(uint64_t)> on_durable_;
  mutable std::mutex mu_;
  std::condition_variable work_;  // for the writer thread: batches pending, or stopping
  // Tickets in (taken_, submitted_] are in pending_; (finished_, taken_] are being written or
  // wait for the group being written; tickets <= finished_ have an outcome.
  std::vector<StoreBatch> pending_;           // GUARDED_BY(mu_)
  std::vector<Waiter*> waiters_;              // GUARDED_BY(mu_) asleep in Wait
  uint64_t submitted_ = 0;                    // GUARDED_BY(mu_) ticket of the last submitted batch
  uint64_t taken_ = 0;                        // GUARDED_BY(mu_) last ticket written or failed
  uint64_t finished_ = 0;                     // GUARDED_BY(mu_) last ticket with an outcome
  bool writing_ = false;                      // GUARDED_BY(mu_) a group is with the store
  bool stopping_ = false;                     // GUARDED_BY(mu_) the destructor runs
  bool writer_busy_ = true;                   // GUARDED_BY(mu_) the writer thread is not asleep
  std::map<uint64_t, FailedRange> failures_;  // GUARDED_BY(mu_) keyed by last ticket
  uint64_t forgotten_through_ = 0;            // GUARDED_BY(mu_) outcomes <= this dropped
  uint64_t writes_ = 0, batches_ = 0;         // GUARDED_BY(mu_)
  std::thread writer_;                        // last: starts once everything above exists
};

}  // namespace kefu

#endif  // KEFU_ENGINE_GROUP_COMMIT_H_
