#include "adapters/elastic_pool.h"

#include <algorithm>
#include <utility>

namespace kefu {

ElasticThreadPool::ElasticThreadPool(size_t min_threads, size_t max_threads,
                                     std::chrono::milliseconds idle_exit)
    : min_threads_(std::max<size_t>(1, min_threads)),
      max_threads_(std::max(std::max<size_t>(1, min_threads), max_threads)),
      idle_exit_(idle_exit) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < min_threads_; ++i) StartWorkerLocked();
}

ElasticThreadPool::~ElasticThreadPool() { shutdown(); }

void ElasticThreadPool::StartWorkerLocked() {
  size_t slot;
  if (!finished_slots_.empty()) {
    slot = finished_slots_.back();
    finished_slots_.pop_back();
    if (workers_[slot].joinable()) workers_[slot].join();  // it has returned from Work already
    workers_[slot] = std::thread(&ElasticThreadPool::Work, this, slot);
  } else {
    slot = workers_.size();
    workers_.emplace_back(&ElasticThreadPool::Work, this, slot);
  }
  ++alive_;
  ++idle_;  // counted idle until it takes a job, so that one arrival starts one worker
  peak_ = std::max(peak_, alive_);
}

void ElasticThreadPool::enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && alive_ < max_threads_) StartWorkerLocked();
  }
  has_work_.notify_one();
}

void ElasticThreadPool::Work(size_t slot) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const bool woke = has_work_.wait_for(lock, idle_exit_, [this] { return stopping_ || !jobs_.empty(); });
    if (!woke && alive_ > min_threads_) break;  // idled long enough, and beyond the floor
    if (jobs_.empty()) {
      if (stopping_) break;
      continue;
    }
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    --idle_;
    lock.unlock();
    job();
    job = nullptr;  // release what the job holds (its socket) before waiting again
    lock.lock();
    ++idle_;
  }
  --idle_;
  --alive_;
  if (!stopping_) finished_slots_.push_back(slot);
}

void ElasticThreadPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && alive_ == 0) return;
    stopping_ = true;
  }
  has_work_.notify_all();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
}

size_t ElasticThreadPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return alive_;
}

size_t ElasticThreadPool::peak_threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

}  // namespace kefu
