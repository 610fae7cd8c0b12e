// The store on a disk that fills up, turns read-only or stops syncing: the failing write is an
// error that names the cause, reads keep working, later writes are refused cheaply until the disk
// takes writes again, then the store reopens LevelDB by itself (LevelDB refuses every write after
// a failed sync until reopened) and nothing acknowledged is lost.
#include <doctest/doctest.h>
#include <leveldb/env.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/store.h"
#include "tests/engine/test_util.h"
#include "tests/reliability/fault_env.h"

namespace kefu::testing {
namespace {

using Fault = FaultEnv::Fault;

StoreOptions FastReopen(FaultEnv* env) {
  StoreOptions o;
  o.env = env;
  o.reopen_backoff_min_millis = 5;
  o.reopen_backoff_max_millis = 20;
  return o;
}

std::unique_ptr<Store> MustOpen(const std::string& dir, const StoreOptions& options) {
  auto store = OpenLevelDbStore(dir, options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(store).value();
}

Status Put(Store& store, const std::string& key, const std::string& value) {
  StoreBatch b;
  b.Put(key, value);
  return store.Write(b);
}

// Writes until the store takes a write again (the reopen is due within the backoff).
void WriteUntilAccepted(Store& store, const std::string& key, std::set<std::string>* acked) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Status s;
  while (!(s = Put(store, key, "v-" + key)).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  acked->insert(key);
}

std::set<std::string> Keys(Store& store) {
  std::set<std::string> keys;
  REQUIRE(store.Scan("", "", [&](std::string_view k, std::string_view) {
    keys.insert(std::string(k));
    return true;
  }).ok());
  return keys;
}

// Every acknowledged key is there after the store is closed and opened again on a healthy disk.
void ExpectAllAckedAfterReopen(const std::string& dir, const std::set<std::string>& acked) {
  auto reopened = MustOpen(dir, StoreOptions());
  const std::set<std::string> keys = Keys(*reopened);
  for (const std::string& k : acked) CHECK_MESSAGE(keys.count(k) == 1, "lost acknowledged key " << k);
}

void RunOutage(Fault fault, const char* expected_error) {
  TempDir tmp;
  FaultEnv env(leveldb::Env::Default());
  std::set<std::string> acked;
  {
    auto store = MustOpen(tmp.Sub("db"), FastReopen(&env));
    for (int i = 0; i < 50; ++i) {
      REQUIRE(Put(*store, "before/" + std::to_string(i), "v").ok());
      acked.insert("before/" + std::to_string(i));
    }
    env.Set(fault);
    Status failed = Put(*store, "during/0", "v");
    CHECK(failed.code() == Status::Code::kIOError);
    CHECK_MESSAGE(failed.message().find(expected_error) != std::string::npos, failed.ToString());
    for (int i = 1; i < 20; ++i) {
      Status s = Put(*store, "during/" + std::to_string(i), "v");
      CHECK(!s.ok());
      CHECK_MESSAGE(s.message().find(expected_error) != std::string::npos, s.ToString());
    }
    // Reads keep working on what was acknowledged.
    auto got = store->Get("before/7");
    REQUIRE(got.ok());
    CHECK(got->has_value());
    const std::set<std::string> during = Keys(*store);
    for (const std::string& k : acked) CHECK(during.count(k) == 1);

    env.Set(Fault::kNone);
    for (int i = 0; i < 50; ++i) WriteUntilAccepted(*store, "after/" + std::to_string(i), &acked);
    const std::set<std::string> now = Keys(*store);
    for (const std::string& k : acked) CHECK(now.count(k) == 1);
  }
  ExpectAllAckedAfterReopen(tmp.Sub("db"), acked);
}

TEST_CASE("a full disk: the write fails naming ENOSPC, reads work, writes resume when space returns, nothing acked is lost") {
  RunOutage(Fault::kDiskFull, "No space left on device");
}

TEST_CASE("a read-only disk: the same, naming EROFS") { RunOutage(Fault::kReadOnly, "Read-only file system"); }

TEST_CASE("a failed fsync (after which LevelDB refuses every write until reopened) is recovered by a reopen") {
  // Without the store's reopen, LevelDB answers every later write with the old sync error forever.
  RunOutage(Fault::kSyncFails, "Input/output error");
}

TEST_CASE("during an outage writes are refused at once: one probe per backoff step, not one per write") {
  TempDir tmp;
  FaultEnv env(leveldb::Env::Default());
  StoreOptions o = FastReopen(&env);
  o.reopen_backoff_min_millis = 60000;  // no second attempt during this test
  o.reopen_backoff_max_millis = 60000;
  auto store = MustOpen(tmp.Sub("db"), o);
  REQUIRE(Put(*store, "a", "1").ok());
  env.Set(Fault::kDiskFull);
  CHECK(!Put(*store, "b", "2").ok());
  const int after_first = env.injected();
  for (int i = 0; i < 1000; ++i) {
    Status s = Put(*store, "c", "3");
    CHECK(s.code() == Status::Code::kUnavailable);
  }
  CHECK(env.injected() == after_first);
  Status s = Put(*store, "d", "4");
  CHECK(s.message().find("No space left on device") != std::string::npos);
  CHECK(s.message().find("suspended") != std::string::npos);
}

TEST_CASE("readers run through repeated outages and reopens; every acknowledged write survives") {
  TempDir tmp;
  FaultEnv env(leveldb::Env::Default());
  std::set<std::string> acked;
  std::atomic<bool> done{false};
  std::atomic<int> read_errors{0};
  {
    auto store = MustOpen(tmp.Sub("db"), FastReopen(&env));
    REQUIRE(Put(*store, "k/00000", "v").ok());
    acked.insert("k/00000");
    std::vector<std::thread> readers;
    for (int r = 0; r < 3; ++r) {
      readers.emplace_back([&] {
        while (!done) {
          auto got = store->Get("k/00000");
          if (!got.ok() || !got->has_value()) ++read_errors;
          size_t n = 0;
          if (!store->ScanPrefix("k/", [&](std::string_view, std::string_view) { return ++n < 100000; }).ok()) ++read_errors;
          if (n == 0) ++read_errors;
        }
      });
    }
    for (int i = 1; i < 3000; ++i) {
      if (i % 500 == 100) env.Set(i % 1000 == 100 ? Fault::kDiskFull : Fault::kSyncFails);
      if (i % 500 == 150) env.Set(Fault::kNone);
      char key[16];
      std::snprintf(key, sizeof key, "k/%05d", i);
      if (Put(*store, key, "v").ok()) acked.insert(key);
      if (i % 500 == 160) {
        // The outage is over: the store takes writes again within its backoff.
        WriteUntilAccepted(*store, std::string(key) + "+", &acked);
      }
    }
    done = true;
    for (std::thread& t : readers) t.join();
    CHECK(read_errors == 0);
    CHECK(acked.size() > 2500);
  }
  ExpectAllAckedAfterReopen(tmp.Sub("db"), acked);
}

}  // namespace
}  // namespace kefu::testing
