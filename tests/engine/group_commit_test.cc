#include "engine/group_commit.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/store.h"
#include "tests/engine/test_util.h"

namespace kefu {
namespace {

using namespace std::chrono_literals;

// A test double around a real store: records the keys of every write in order, can hold writes
// at a gate, and fails the writes a script says to fail (for the failure path only).
class ScriptedStore final {
 public:
  explicit ScriptedStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Status Write(const StoreBatch& batch) {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !hold_; });
    bool fail = false;
    if (!script_.empty()) {
      fail = script_.front();
      script_.pop_front();
    }
    if (fail) {
      ++failed_;
      if (same_error_) return Status::IOError("injected write failure");
      return Status::IOError("injected write failure " + std::to_string(failed_));
    }
    for (const StoreBatch::Op& op : batch.ops()) keys_.push_back(op.key);
    return inner_->Write(batch);
  }
  Result<std::optional<std::string>> Get(std::string_view key) { return inner_->Get(key); }
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn) { return inner_->ScanPrefix(prefix, fn); }

  // Writes block at the gate while held.
  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
    changed_.notify_all();
  }
  // The next writes fail (true) or succeed (false), in order; then all succeed.
  void Script(std::initializer_list<bool> outcomes) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.insert(script_.end(), outcomes);
  }
  // Every failure carries the same message (as LevelDB's sticky error does), not a numbered one.
  void SameError() {
    std::lock_guard<std::mutex> lock(mu_);
    same_error_ = true;
  }
  // Blocks until `n` writes have entered Write.
  void AwaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<std::string> keys() {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_;
  }

 private:
  std::unique_ptr<Store> inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool hold_ = false;
  int entered_ = 0;
  int failed_ = 0;
  bool same_error_ = false;
  std::deque<bool> script_;
  std::vector<std::string> keys_;
};

// The committer's writes go to `store`.
template <typename S>
GroupCommitter::WriteFn WritesTo(S* store) {
  return [store](std::span<const StoreBatch> group) { return store->Write(StoreBatch::Joined(group)); };
}

std::unique_ptr<ScriptedStore> NewScriptedStore() {
  auto inner = OpenMemoryStore();
  REQUIRE(inner.ok());
  return std::make_unique<ScriptedStore>(std::move(inner).value());
}

// "<prefix><i>" (appending avoids GCC 12's false -Wrestrict on "literal" + std::string at -O3).
std::string Numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
}

StoreBatch OnePut(const std::string& key, const std::string& value = "v") {
  StoreBatch batch;
  batch.Put(key, value);
  return batch;
}

template <typename S>
bool Has(S& store, const std::string& key) {
  auto got = store.Get(key);
  REQUIRE(got.ok());
  return got->has_value();
}

// Submits `batch` and waits for it on another thread, as a request thread does.
std::future<Status> SubmitWaited(GroupCommitter& committer, StoreBatch batch, uint64_t* ticket = nullptr) {
  const uint64_t t = committer.Submit(std::move(batch));
  if (ticket != nullptr) *ticket = t;
  return std::async(std::launch::async, [&committer, t] { return committer.Wait(t); });
}

TEST_CASE("tickets count up in submission order; an empty batch shares the last ticket") {
  auto store = NewScriptedStore();
  GroupCommitter committer(WritesTo(store.get()));
  CHECK(committer.Submit(StoreBatch()) == 0);
  CHECK(committer.Wait(0).ok());
  CHECK(committer.Submit(OnePut("a")) == 1);
  CHECK(committer.Submit(OnePut("b")) == 2);
  CHECK(committer.Submit(StoreBatch()) == 2);
  CHECK(committer.Submit(OnePut("c")) == 3);
  CHECK(committer.Wait(3).ok());
  CHECK(committer.Wait(1).ok());  // an old ticket: still OK
  CHECK(committer.Wait(4).code() == Status::Code::kInvalidArgument);
  CHECK(store->keys() == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("batches reach the store in ticket order, grouped while the store is busy") {
  auto store = NewScriptedStore();
  GroupCommitter committer(WritesTo(store.get()));
  store->Hold(true);
  auto first = SubmitWaited(committer, OnePut("k000"));
  store->AwaitEntered(1);  // the first write is at the gate; the rest pile up
  uint64_t last = 0;
  std::vector<std::string> expected = {"k000"};
  for (int i = 1; i < 100; ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "k%03d", i);
    expected.push_back(key);
    last = committer.Submit(OnePut(key));
  }
  store->Hold(false);
  CHECK(first.get().ok());
  CHECK(committer.Wait(last).ok());
  CHECK(store->keys() == expected);
  CHECK(committer.batches() == 100);
  CHECK(committer.writes() == 2);  // the first batch alone, then the 99 that waited, as one
}

TEST_CASE("waiters asleep behind a write are all answered, their batches written as one group") {
  auto store = NewScriptedStore();
  GroupCommitter committer(WritesTo(store.get()));
  store->Hold(true);
  auto first = SubmitWaited(committer, OnePut("first"));
  store->AwaitEntered(1);
  // Sixteen request threads wait for batches pending behind the held write, each asleep on its
  // own: the end of the write must wake each of them, and the writer must write their batches
  // without anyone else calling Wait.
  std::vector<std::future<Status>> waiting;
  for (int i = 0; i < 16; ++i) waiting.push_back(SubmitWaited(committer, OnePut(Numbered("w", i))));
  std::this_thread::sleep_for(50ms);  // let them fall asleep (the outcome is the same if not)
  store->Hold(false);
  CHECK(first.get().ok());
  for (auto& w : waiting) CHECK(w.get().ok());
  CHECK(committer.writes() == 2);  // the held write, then the sixteen as one group
  CHECK(store->keys().size() == 17);
}

TEST_CASE("a batch submitted during a write is written after it even when nobody waits for it") {
  auto store = NewScriptedStore();
  GroupCommitter committer(WritesTo(store.get()));
  store->Hold(true);
  auto first = SubmitWaited(committer, OnePut("first"));
  store->AwaitEntered(1);
  committer.Submit(OnePut("unwaited"));
  store->Hold(false);
  CHECK(first.get().ok());
  store->AwaitEntered(2);  // the writer thread took it on its own (else this never returns)
}

TEST_CASE("Wait returns only once the batch is durable") {
  auto store = NewScriptedStore();
  GroupCommitter committer(WritesTo(store.get()));
  store->Hold(true);
  auto done = std::async(std::launch::async, [&] { return committer.Commit(OnePut("k")); });
  store->AwaitEntered(1);
  CHECK(done.wait_for(50ms) == std::future_status::timeout);
  CHECK(!Has(*store, "k"));
  store->Hold(false);
  CHECK(done.get().ok());
  CHECK(Has(*store, "k"));
}

TEST_CASE("the destructor writes what is pending") {
  auto store = NewScriptedStore();
  {
    GroupCommitter committer(WritesTo(store.get()));
    store->Hold(true);
    auto first = SubmitWaited(committer, OnePut("first"));
    store->AwaitEntered(1);
    for (int i = 0; i < 10; ++i) committer.Submit(OnePut(Numbered("p", i)));
    store->Hold(false);
    CHECK(first.get().ok());  // nobody waits for the ten: the destructor must write them
  }
  CHECK(store->keys().size() == 11);
  CHECK(Has(*store, "p9"));
}

TEST_CASE("8 threads x 2000 synced commits on LevelDB all land, in per-thread order, grouped") {
  testing::TempDir tmp;
  auto opened = OpenLevelDbStore(tmp.path());  // sync = true, the default
  REQUIRE(opened.ok());
  ScriptedStore store(std::move(opened).value());  // records the order; never holds or fails
  GroupCommitter committer(WritesTo(&store));
  constexpr int kThreads = 8, kCommits = 2000;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kCommits; ++n) {
        char key[32];
        std::snprintf(key, sizeof key, "t%d/%06d", t, n);
        if (!committer.Commit(OnePut(key, std::to_string(n))).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(failures == 0);

  std::vector<int> next(kThreads, 0);
  int out_of_order = 0;
  for (const std::string& key : store.keys()) {
    const int t = key[1] - '0';
    out_of_order += std::stoi(key.substr(3)) != next[t]++;
  }
  CHECK(out_of_order == 0);
  for (int t = 0; t < kThreads; ++t) CHECK(next[t] == kCommits);
  int found = 0;
  REQUIRE(store.ScanPrefix("t", [&](std::string_view, std::string_view) { return ++found, true; })
              .ok());
  CHECK(found == kThreads * kCommits);

  CHECK(committer.batches() == static_cast<uint64_t>(kThreads * kCommits));
  CHECK(committer.writes() < committer.batches());  // grouping happened
  MESSAGE((kThreads * kCommits / seconds)
          << " commits/s, mean group " << double(committer.batches()) / double(committer.writes()));
}

TEST_CASE("a failed write fails its whole group and runs on_failure first; later commits succeed") {
  auto store = NewScriptedStore();
  std::atomic<int> failure_calls{0};
  Status seen;
  GroupCommitter committer(WritesTo(store.get()), [&](const Status& s) {
    seen = s;
    ++failure_calls;
  });
  store->Hold(true);
  uint64_t t1 = 0;
  auto first = SubmitWaited(committer, OnePut("ok-1"), &t1);
  store->AwaitEntered(1);
  store->Script({false, true});  // ok-1 succeeds, the next group fails
  std::vector<uint64_t> group;
  for (const char* k : {"bad-1", "bad-2", "bad-3"}) group.push_back(committer.Submit(OnePut(k)));
  std::vector<std::future<Status>> waiters;
  for (uint64_t t : group) {
    waiters.push_back(std::async(std::launch::async, [&, t] {
      Status s = committer.Wait(t);
      CHECK(failure_calls == 1);  // on_failure ran before this waiter woke
      return s;
    }));
  }
  store->Hold(false);
  CHECK(first.get().ok());
  CHECK(committer.Wait(t1).ok());
  for (auto& w : waiters) {
    Status s = w.get();
    CHECK(s.code() == Status::Code::kIOError);
    CHECK(s.message() == "injected write failure 1");
  }
  CHECK(failure_calls == 1);
  CHECK(seen.message() == "injected write failure 1");
  for (const char* k : {"bad-1", "bad-2", "bad-3"}) CHECK(!Has(*store, k));

  CHECK(committer.Commit(OnePut("ok-2")).ok());
  CHECK(Has(*store, "ok-2"));
  CHECK(committer.Wait(group[1]).code() ==
        Status::Code::kIOError);  // remembered after later success
  CHECK(committer.Wait(t1).ok());
  CHECK(committer.writes() == 2);
  CHECK(committer.batches() == 2);
}

TEST_CASE("batches submitted during a failing write fail with it and never reach the store") {
  auto store = NewScriptedStore();
  std::atomic<int> failure_calls{0};
  GroupCommitter committer(WritesTo(store.get()), [&](const Status&) { ++failure_calls; });
  store->Script({true});
  store->Hold(true);
  uint64_t doomed = 0;
  auto first = SubmitWaited(committer, OnePut("doomed"), &doomed);
  store->AwaitEntered(1);
  const uint64_t built_on_doomed = committer.Submit(OnePut("built-on-doomed"));
  store->Hold(false);
  CHECK(first.get().code() == Status::Code::kIOError);
  CHECK(committer.Wait(doomed).code() == Status::Code::kIOError);
  CHECK(committer.Wait(built_on_doomed).code() == Status::Code::kIOError);
  CHECK(failure_calls == 1);
  CHECK(store->keys().empty());
  CHECK(committer.Commit(OnePut("after")).ok());
  CHECK(store->keys() == std::vector<std::string>{"after"});
}

TEST_CASE("on_failure can fail the batches submitted before its reload with FailPending") {
  auto store = NewScriptedStore();
  std::mutex engine_mu;  // plays the engine's lock
  std::promise<void> in_on_failure;
  std::promise<void> request_submitted;
  uint64_t stale = 0;
  GroupCommitter* c = nullptr;
  GroupCommitter committer(WritesTo(store.get()), [&](const Status& error) {
    in_on_failure.set_value();
    request_submitted.get_future().wait();  // a request slips in before the reload takes the lock
    std::lock_guard<std::mutex> lock(engine_mu);
    c->FailPending(error);  // ... reload memory from the store, then drop what was built before
  });
  c = &committer;
  store->Script({true});
  uint64_t failed = 0;
  auto first = SubmitWaited(committer, OnePut("failed"), &failed);
  in_on_failure.get_future().wait();
  {
    std::lock_guard<std::mutex> lock(engine_mu);
    stale = committer.Submit(OnePut("stale"));
  }
  request_submitted.set_value();
  CHECK(first.get().code() == Status::Code::kIOError);
  CHECK(committer.Wait(failed).code() == Status::Code::kIOError);
  CHECK(committer.Wait(stale).code() == Status::Code::kIOError);
  CHECK(committer.Commit(OnePut("fresh")).ok());
  CHECK(store->keys() == std::vector<std::string>{"fresh"});
}

TEST_CASE("FailPending outside on_failure fails only what is not yet written") {
  auto store = NewScriptedStore();
  GroupCommitter committer(WritesTo(store.get()));
  store->Hold(true);
  uint64_t writing = 0;
  auto first = SubmitWaited(committer, OnePut("writing"), &writing);
  store->AwaitEntered(1);
  const uint64_t queued = committer.Submit(OnePut("queued"));
  committer.FailPending(Status::Unavailable("shutting down"));
  store->Hold(false);
  CHECK(first.get().ok());
  CHECK(committer.Wait(writing).ok());
  CHECK(committer.Wait(queued).code() == Status::Code::kUnavailable);
  committer.FailPending(Status::Unavailable("nothing pending"));  // no-op
  CHECK(committer.Commit(OnePut("next")).ok());
  CHECK(store->keys() == std::vector<std::string>{"writing", "next"});
}

TEST_CASE("consecutive failures with one error are remembered as one range") {
  auto store = NewScriptedStore();
  store->SameError();
  GroupCommitter committer(WritesTo(store.get()));
  for (int i = 0; i < 5000; ++i) store->Script({true});
  int failed = 0;
  for (int i = 0; i < 5000; ++i) failed += !committer.Commit(OnePut(Numbered("x", i))).ok();
  CHECK(failed == 5000);
  CHECK(committer.Wait(1).code() == Status::Code::kIOError);
  CHECK(committer.Wait(5000).code() == Status::Code::kIOError);
  CHECK(committer.Commit(OnePut("ok")).ok());
}

TEST_CASE("an outcome beyond the 4096 remembered failures is Unavailable, never OK") {
  auto store = NewScriptedStore();
  GroupCommitter committer(WritesTo(store.get()));
  int failed = 0;
  for (int i = 0; i < 5000; ++i) {
    store->Script({true});
    failed += !committer.Commit(OnePut(Numbered("x", i))).ok();
    CHECK(committer.Commit(OnePut(Numbered("y", i))).ok());  // failures apart: 5000 ranges
  }
  CHECK(failed == 5000);
  CHECK(committer.Wait(1).code() == Status::Code::kUnavailable);  // forgotten
  CHECK(committer.Wait(2).code() == Status::Code::kUnavailable);  // (a success, but unknowable)
  CHECK(committer.Wait(9999).code() == Status::Code::kIOError);   // still known
  CHECK(committer.Wait(10000).ok());
}

}  // namespace
}  // namespace kefu
