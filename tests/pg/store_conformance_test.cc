// One behaviour, every backend: the contract of engine/store.h checked against each Store
// implementation by the same test cases (doctest's TEST_CASE_TEMPLATE over backend types). A
// backend is a type that opens a fresh, empty store and, when the backend can be shared, a second
// store on the same data (a second node: PostgreSQL); embedded backends have no peer, and the
// cross-node parts of a test then run within the one store.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "engine/pg/pg_store.h"
#include "engine/store.h"
#include "tests/pg/pg_cluster.h"

namespace kefu {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Store> Require(Result<std::unique_ptr<Store>> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r.value());
}

// PostgreSQL: a new database of the test binary's shared cluster per test case.
struct PgBackend {
  static constexpr const char* kName = "postgresql";
  std::string uri;
  std::unique_ptr<Store> Open() {
    Result<std::string> db = SharedPgCluster().CreateDatabase("conformance");
    REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    uri = *db;
    return Require(OpenPostgresStore(uri));
  }
  std::unique_ptr<Store> OpenPeer() { return Require(OpenPostgresStore(uri)); }
};

// LevelDB on the in-memory Env.
struct MemoryBackend {
  static constexpr const char* kName = "memory";
  std::unique_ptr<Store> Open() { return Require(OpenMemoryStore()); }
  std::unique_ptr<Store> OpenPeer() { return nullptr; }
};

// LevelDB on disk, in a temporary directory.
struct LevelDbBackend {
  static constexpr const char* kName = "leveldb";
  std::filesystem::path dir;
  ~LevelDbBackend() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  std::unique_ptr<Store> Open() {
    char tmpl[] = "/tmp/kefu-conformance-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    StoreOptions options;
    options.sync = false;
    return Require(OpenLevelDbStore(dir.string(), options));
  }
  std::unique_ptr<Store> OpenPeer() { return nullptr; }
};
#define KEFU_STORE_BACKENDS MemoryBackend, LevelDbBackend, PgBackend

std::unique_ptr<Transaction> Begin(Store& store) {
  Result<std::unique_ptr<Transaction>> txn = store.Begin();
  REQUIRE_MESSAGE(txn.ok(), txn.status().ToString());
  return std::move(txn.value());
}

// The value of a read, "<absent>" when there is none; the read must succeed.
std::string Value(const Result<std::optional<std::string>>& r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return r->value_or("<absent>");
}

void Write(Store& store, std::initializer_list<std::pair<std::string, std::string>> rows) {
  StoreBatch batch;
  for (const auto& [k, v] : rows) batch.Put(k, v);
  const Status s = store.Write(batch);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
}

// "key=value" for every row of [start, limit) seen by `txn` (or by the store when null).
std::vector<std::string> Rows(Store& store, Transaction* txn, std::string_view start, std::string_view limit,
                              ScanOptions options = {}) {
  std::vector<std::string> rows;
  auto fn = [&rows](std::string_view k, std::string_view v) {
    rows.push_back(std::string(k) + "=" + std::string(v));
    return true;
  };
  const Status s = txn ? txn->Scan(start, limit, options, fn) : store.Scan(start, limit, fn);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return rows;
}

bool IsAborted(const Status& s) { return s.code() == Status::Code::kAborted; }

LiveEvent Event(std::string desk, std::string data) {
  LiveEvent e;
  e.desk = std::move(desk);
  e.conversation = "c1";
  e.type = LiveEventType::kMessage;
  e.data = std::move(data);
  return e;
}

// Events of `desk` after `after`, waiting up to `timeout` for at least `count`.
std::vector<LiveEvent> WaitEvents(Store& store, std::string_view desk, uint64_t after, size_t count,
                                  std::chrono::milliseconds timeout) {
  std::vector<LiveEvent> got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    bool gap = false;
    auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    for (LiveEvent& e : store.live()->Wait(
             desk, after, left.count(), [](const LiveEvent&) { return true; }, &gap)) {
      after = e.id;
      got.push_back(std::move(e));
    }
  }
  return got;
}

TEST_CASE_TEMPLATE("a transaction reads its own writes in Get and Scan", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  Write(*store, {{"k/1", "one"}, {"k/3", "three"}, {"k/5", "five"}});
  auto txn = Begin(*store);
  txn->Put("k/2", "two");
  txn->Put("k/3", "THREE");
  txn->Delete("k/5");
  CHECK(Value(txn->Get("k/2")) == "two");
  CHECK(Value(txn->Get("k/3")) == "THREE");
  CHECK(Value(txn->Get("k/5")) == "<absent>");
  CHECK(Rows(*store, txn.get(), "k/", "k0") == std::vector<std::string>{"k/1=one", "k/2=two", "k/3=THREE"});
  txn->Put("k/4", "four");  // a write after a scan is seen by the next scan
  CHECK(Rows(*store, txn.get(), "k/3", "") == std::vector<std::string>{"k/3=THREE", "k/4=four"});
  REQUIRE(txn->Commit().ok());
  txn.reset();
  CHECK(Rows(*store, nullptr, "k/", "k0") ==
        std::vector<std::string>{"k/1=one", "k/2=two", "k/3=THREE", "k/4=four"});
}

TEST_CASE_TEMPLATE("uncommitted writes are invisible to others until commit", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  auto writer = Begin(*store);
  writer->Put("iso/a", "new");
  CHECK(Value(writer->Get("iso/a")) == "new");  // sent to the server, where one is
  CHECK(Value(store->Get("iso/a")) == "<absent>");
  auto reader = Begin(*store);
  CHECK(Value(reader->Get("iso/a")) == "<absent>");
  CHECK(Rows(*store, reader.get(), "iso/", "").empty());
  REQUIRE(writer->Commit().ok());
  writer.reset();
  CHECK(Value(store->Get("iso/a")) == "new");
  CHECK(Value(reader->Get("iso/a")) == "new");  // read committed: each read sees the latest commit
}

TEST_CASE_TEMPLATE("a destroyed uncommitted transaction rolls back and publishes nothing", B,
                   KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  Write(*store, {{"rb/kept", "v"}});
  const uint64_t position = store->live()->Position("hr");
  {
    auto txn = Begin(*store);
    txn->Put("rb/new", "x");
    txn->Delete("rb/kept");
    CHECK(Value(txn->Get("rb/kept")) == "<absent>");
    txn->Publish(Event("hr", "rolled back"));
  }
  CHECK(Value(store->Get("rb/new")) == "<absent>");
  CHECK(Value(store->Get("rb/kept")) == "v");
  // The store still works after a rollback (the connection or the locks went back cleanly).
  auto txn = Begin(*store);
  txn->Put("rb/new", "y");
  txn->Publish(Event("hr", "committed"));
  REQUIRE(txn->Commit().ok());
  txn.reset();
  std::vector<LiveEvent> events = WaitEvents(*store, "hr", position, 1, 5s);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "committed");
  CHECK(WaitEvents(*store, "hr", events[0].id, 1, 200ms).empty());
}

TEST_CASE_TEMPLATE("GetForUpdate waits for the holder, then reads the value it committed", B,
                   KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  Write(*store, {{"lock/k", "v0"}});
  auto holder = Begin(*store);
  CHECK(Value(holder->GetForUpdate("lock/k", 1)) == "v0");
  std::atomic<bool> done{false};
  std::string seen;
  std::thread waiter([&] {
    auto txn = Begin(*store);
    seen = Value(txn->GetForUpdate("lock/k", 1));  // holds no lock: may wait
    done = true;
  });
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(done.load());
  holder->Put("lock/k", "v1");
  REQUIRE(holder->Commit().ok());
  holder.reset();
  waiter.join();
  CHECK(seen == "v1");
}

TEST_CASE_TEMPLATE("a lock ranked no higher than one held is only tried: Aborted at once", B,
                   KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  Write(*store, {{"rank/a", "a"}, {"rank/b", "b"}, {"rank/c", "c"}});
  auto holder = Begin(*store);
  REQUIRE(Value(holder->GetForUpdate("rank/b", 1)) == "b");

  auto higher = Begin(*store);
  REQUIRE(Value(higher->GetForUpdate("rank/a", 2)) == "a");
  auto start = std::chrono::steady_clock::now();
  Result<std::optional<std::string>> r = higher->GetForUpdate("rank/b", 1);  // lower: try only
  CHECK(IsAborted(r.status()));
  CHECK(std::chrono::steady_clock::now() - start < 2s);

  auto equal = Begin(*store);
  REQUIRE(Value(equal->GetForUpdate("rank/c", 1)) == "c");
  CHECK(IsAborted(equal->GetForUpdate("rank/b", 1).status()));  // equal: try only
}

TEST_CASE_TEMPLATE("kTryLock never waits, even in a transaction that holds no lock", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  Write(*store, {{"try/k", "v"}});
  auto holder = Begin(*store);
  REQUIRE(Value(holder->GetForUpdate("try/k", 1)) == "v");
  REQUIRE(holder->LockName("try/name", 1).ok());
  const auto start = std::chrono::steady_clock::now();
  CHECK(IsAborted(Begin(*store)->GetForUpdate("try/k", kTryLock).status()));
  CHECK(IsAborted(Begin(*store)->LockName("try/name", kTryLock)));
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  auto free = Begin(*store);
  CHECK(Value(free->GetForUpdate("try/other", kTryLock)) == "<absent>");
  CHECK(free->LockName("try/free", kTryLock).ok());
}

TEST_CASE_TEMPLATE("a failed try leaves the transaction usable", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  Write(*store, {{"busy/k", "v"}, {"free/k", "w"}});
  auto holder = Begin(*store);
  REQUIRE(Value(holder->GetForUpdate("busy/k", 1)) == "v");
  REQUIRE(holder->LockName("busy/name", 1).ok());
  auto txn = Begin(*store);
  REQUIRE(Value(txn->GetForUpdate("free/k", 2)) == "w");
  txn->Put("mine/1", "x");
  CHECK(IsAborted(txn->GetForUpdate("busy/k", kTryLock).status()));
  CHECK(IsAborted(txn->GetForUpdate("busy/k", 1).status()));  // below a held rank: tried
  CHECK(IsAborted(txn->LockName("busy/name", kTryLock)));
  // The router's way: skip what another holds, go on with the rest.
  CHECK(Value(txn->Get("mine/1")) == "x");
  CHECK(txn->LockName("other/name", kTryLock).ok());
  txn->Put("mine/2", "y");
  REQUIRE(txn->Commit().ok());
  txn.reset();
  CHECK(Value(store->Get("mine/1")) == "x");
  CHECK(Value(store->Get("mine/2")) == "y");
  // The failed tries took nothing: once the holder is gone, others get the locks.
  holder.reset();
  auto later = Begin(*store);
  CHECK(Value(later->GetForUpdate("busy/k", kTryLock)) == "v");
  CHECK(later->LockName("busy/name", kTryLock).ok());
}

TEST_CASE_TEMPLATE("LockName locks names that have no row, with the same rank rule", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  auto holder = Begin(*store);
  REQUIRE(holder->LockName("customer/absent", 1).ok());
  CHECK(Value(holder->Get("customer/absent")) == "<absent>");

  auto trier = Begin(*store);
  REQUIRE(trier->LockName("other", 2).ok());
  CHECK(IsAborted(trier->LockName("customer/absent", 1)));

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    auto txn = Begin(*store);
    CHECK(txn->LockName("customer/absent", 1).ok());
    done = true;
  });
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(done.load());
  holder.reset();  // rollback releases the name
  waiter.join();
  CHECK(done.load());
}

TEST_CASE_TEMPLATE("claims with skip_locked never return a row another transaction holds", B,
                   KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  StoreBatch batch;
  constexpr int kRows = 40;
  for (int i = 0; i < kRows; ++i) batch.Put("line/" + std::to_string(100 + i), std::to_string(i));
  REQUIRE(store->Write(batch).ok());

  ScanOptions claim;
  claim.max_rows = 1;
  claim.skip_locked = true;
  claim.lock_rank = 1;
  auto first = Begin(*store);
  auto second = Begin(*store);
  CHECK(Rows(*store, first.get(), "line/", "line0", claim) == std::vector<std::string>{"line/100=0"});
  CHECK(Rows(*store, second.get(), "line/", "line0", claim) == std::vector<std::string>{"line/101=1"});
  first.reset();
  second.reset();

  // Two workers claim, delete and commit until the line is empty: each row served exactly once.
  std::mutex mu;
  std::multiset<std::string> served;
  auto worker = [&] {
    while (true) {
      auto txn = Begin(*store);
      std::vector<std::string> got = Rows(*store, txn.get(), "line/", "line0", claim);
      if (got.empty()) return;
      const std::string key = got[0].substr(0, got[0].find('='));
      txn->Delete(key);
      if (!txn->Commit().ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      served.insert(key);
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  CHECK(served.size() == kRows);
  CHECK(std::set<std::string>(served.begin(), served.end()).size() == kRows);
}

TEST_CASE_TEMPLATE("live events are published only on commit, and reach every node", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  auto peer = backend.OpenPeer();
  Store& other = peer ? *peer : *store;
  const uint64_t here = store->live()->Position("shop");
  const uint64_t there = other.live()->Position("shop");
  auto txn = Begin(*store);
  txn->Put("ev/k", "v");
  txn->Publish(Event("shop", "first"));
  txn->Publish(Event("shop", "second"));
  CHECK(WaitEvents(*store, "shop", here, 1, 200ms).empty());
  REQUIRE(txn->Commit().ok());
  txn.reset();
  for (Store* s : {store.get(), &other}) {
    std::vector<LiveEvent> events = WaitEvents(*s, "shop", s == store.get() ? here : there, 2, 5s);
    REQUIRE(events.size() == 2);
    CHECK(events[0].data == "first");
    CHECK(events[1].data == "second");
    CHECK(events[0].id < events[1].id);
    CHECK(events[0].conversation == "c1");
  }
}

TEST_CASE_TEMPLATE("a lease is exclusive until its holder lets go", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  auto peer = backend.OpenPeer();
  Store& other = peer ? *peer : *store;
  Result<std::unique_ptr<Store::Lease>> lease = store->TryLease("wecom/acct-1");
  REQUIRE(lease.ok());
  REQUIRE(*lease != nullptr);
  CHECK((*lease)->held());
  Result<std::unique_ptr<Store::Lease>> second = other.TryLease("wecom/acct-1");
  REQUIRE(second.ok());
  CHECK(*second == nullptr);
  Result<std::unique_ptr<Store::Lease>> same_node = store->TryLease("wecom/acct-1");
  REQUIRE(same_node.ok());
  CHECK(*same_node == nullptr);
  Result<std::unique_ptr<Store::Lease>> unrelated = other.TryLease("wecom/acct-2");
  REQUIRE(unrelated.ok());
  CHECK(*unrelated != nullptr);
  lease->reset();
  Result<std::unique_ptr<Store::Lease>> third = other.TryLease("wecom/acct-1");
  REQUIRE(third.ok());
  CHECK(*third != nullptr);
}

TEST_CASE_TEMPLATE("keys order bytewise and scans honour limits and max_rows", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  using namespace std::string_literals;
  Write(*store, {{"b"s, "4"}, {"a\xff"s, "3"}, {"a"s, "1"}, {"a\0"s, "2"}, {"\xff\x01"s, "5"}});
  std::vector<std::string> all = Rows(*store, nullptr, "", "");
  CHECK(all == std::vector<std::string>{"a=1", "a\0=2"s, "a\xff=3", "b=4", "\xff\x01=5"});
  CHECK(Rows(*store, nullptr, "a\0"s, "b") == std::vector<std::string>{"a\0=2"s, "a\xff=3"});
  std::vector<std::string> prefixed;
  REQUIRE(store
              ->ScanPrefix("a",
                           [&](std::string_view k, std::string_view) {
                             prefixed.emplace_back(k);
                             return true;
                           })
              .ok());
  CHECK(prefixed.size() == 3);

  // Longer than a page; max_rows and an early stop.
  StoreBatch batch;
  for (int i = 0; i < 700; ++i) batch.Put("page/" + std::to_string(1000 + i), "v");
  REQUIRE(store->Write(batch).ok());
  CHECK(Rows(*store, nullptr, "page/", "page0").size() == 700);
  auto txn = Begin(*store);
  ScanOptions some;
  some.max_rows = 300;
  std::vector<std::string> rows = Rows(*store, txn.get(), "page/", "page0", some);
  REQUIRE(rows.size() == 300);
  CHECK(rows.back() == "page/1299=v");
  int seen = 0;
  REQUIRE(
      txn->Scan("page/", "", ScanOptions(), [&](std::string_view, std::string_view) { return ++seen < 5; })
          .ok());
  CHECK(seen == 5);
}

TEST_CASE_TEMPLATE("Write applies a batch atomically, deletes included", B, KEFU_STORE_BACKENDS) {
  B backend;
  auto store = backend.Open();
  Write(*store, {{"w/1", "a"}, {"w/2", "b"}});
  StoreBatch batch;
  batch.Put("w/3", "c");
  batch.Delete("w/1");
  batch.Put("w/2", "B");
  REQUIRE(store->Write(batch).ok());
  CHECK(Rows(*store, nullptr, "w/", "") == std::vector<std::string>{"w/2=B", "w/3=c"});
  CHECK(store->Write(StoreBatch()).ok());
  const Store::Counters counters = store->counters();
  CHECK(counters.transactions >= 2);
  CHECK(counters.writes >= 1);
}

}  // namespace
}  // namespace kefu
