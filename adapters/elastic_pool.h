// A worker pool for the HTTP server that grows with demand: cpp-httplib gives every open
// connection (keep-alive idle time, an SSE stream, a long poll, a half-sent request) a thread of
// its own until it closes, so a fixed pool of N threads is exhausted by N slow or idle clients.
// This pool keeps `min_threads` ready, starts another thread whenever a connection arrives and
// none is free (up to `max_threads`), and lets the extra ones exit after they have idled a while.
#ifndef KEFU_ADAPTERS_ELASTIC_POOL_H_
#define KEFU_ADAPTERS_ELASTIC_POOL_H_

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kefu {

class ElasticThreadPool : public httplib::TaskQueue {
 public:
  // Starts `min_threads` workers (at least 1); never runs more than `max_threads` at once.
  ElasticThreadPool(size_t min_threads, size_t max_threads,
                    std::chrono::milliseconds idle_exit = std::chrono::seconds(30));
  ~ElasticThreadPool() override;

  // Queues `fn`; starts a worker when none is waiting for work and the ceiling allows.
  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then stops and joins every worker.
  void shutdown() override;

  // Workers alive now, and the most that were alive at once (for tests and /metrics).
  size_t threads() const;
  size_t peak_threads() const;

 private:
  void Work(size_t slot);
  void StartWorkerLocked();

  const size_t min_threads_;
  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;

  mutable std::mutex mu_;
  std::condition_variable has_work_;
  std::deque<std::function<void()>> jobs_;
  // One slot per worker ever started; a slot whose worker exited is joined and reused.
  std::vector<std::thread> workers_;
  std::vector<size_t> finished_slots_;
  size_t alive_ = 0;
  size_t idle_ = 0;
  size_t peak_ = 0;
  bool stopping_ = false;
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_ELASTIC_POOL_H_
