// The HTTP server's worker pool: grows while every worker is held, never beyond its ceiling, and
// shrinks back to its floor when the demand is gone.
#include "adapters/elastic_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kefu {
namespace {

using namespace std::chrono_literals;

// A gate that held jobs wait on until it opens.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> waiting{0};
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    ++waiting;
    cv.wait(lock, [this] { return open; });
    --waiting;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

template <typename F>
bool Eventually(F f) {
  for (int i = 0; i < 400; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

TEST_CASE("a held worker does not delay the next job: the pool grows") {
  ElasticThreadPool pool(2, 16, 50ms);
  Gate gate;
  for (int i = 0; i < 10; ++i) pool.enqueue([&] { gate.Wait(); });
  CHECK(Eventually([&] { return gate.waiting == 10; }));
  std::atomic<bool> ran{false};
  pool.enqueue([&] { ran = true; });
  CHECK(Eventually([&] { return ran.load(); }));
  CHECK(pool.threads() == 11);
  gate.Open();
  // Beyond the floor, idle workers exit.
  CHECK(Eventually([&] { return pool.threads() == 2; }));
  CHECK(pool.peak_threads() == 11);
  pool.shutdown();
}

TEST_CASE("the ceiling holds: jobs beyond it wait for a worker") {
  ElasticThreadPool pool(1, 4, 50ms);
  Gate gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 8; ++i) pool.enqueue([&] { gate.Wait(); ++done; });
  CHECK(Eventually([&] { return gate.waiting == 4; }));
  std::this_thread::sleep_for(30ms);
  CHECK(gate.waiting == 4);
  CHECK(pool.threads() == 4);
  gate.Open();
  CHECK(Eventually([&] { return done == 8; }));
  CHECK(pool.peak_threads() == 4);
}

TEST_CASE("workers that exited are replaced when demand returns, and shutdown runs what is queued") {
  ElasticThreadPool pool(1, 8, 20ms);
  for (int round = 0; round < 3; ++round) {
    Gate gate;
    for (int i = 0; i < 6; ++i) pool.enqueue([&] { gate.Wait(); });
    CHECK(Eventually([&] { return gate.waiting == 6; }));
    gate.Open();
    CHECK(Eventually([&] { return pool.threads() == 1; }));
  }
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) pool.enqueue([&] { std::this_thread::sleep_for(2ms); ++done; });
  pool.shutdown();
  CHECK(done == 5);
  CHECK(pool.threads() == 0);
  pool.enqueue([&] { ++done; });  // after shutdown: dropped, not run on a dead pool
  CHECK(done == 5);
}

}  // namespace
}  // namespace kefu
