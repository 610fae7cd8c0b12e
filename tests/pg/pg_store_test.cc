// What only the PostgreSQL store has: schema migrations, nodes sharing a database, live events
// ordered across nodes (holes), leases that die with their connection, errors mapped from
// SQLSTATEs, the pool, the database clock, and the database going away and coming back.
// Everything runs against a real server (tests/pg/pg_cluster.h).
#include "engine/pg/pg_store.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "engine/pg/pg_connection.h"
#include "engine/pg/pg_schema.h"
#include "engine/pg/pg_sql.h"
#include "tests/pg/pg_cluster.h"

namespace kefu {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string NewDatabase(const char* hint) {
  Result<std::string> uri = SharedPgCluster().CreateDatabase(hint);
  REQUIRE_MESSAGE(uri.ok(), uri.status().ToString());
  return *uri;
}

std::string DatabaseName(const std::string& uri) { return uri.substr(uri.rfind('/') + 1); }

std::string Query(const std::string& uri, const std::string& sql) {
  Result<std::string> r = SharedPgCluster().Query(DatabaseName(uri), sql);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

std::unique_ptr<Store> Open(const std::string& uri, const PgStoreOptions& options = {}) {
  Result<std::unique_ptr<Store>> store = OpenPostgresStore(uri, options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(store.value());
}

std::unique_ptr<PgConnection> Connect(const std::string& uri) {
  Result<std::unique_ptr<PgConnection>> c = PgConnection::Connect(uri, 5);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return std::move(c.value());
}

LiveEvent Event(std::string desk, std::string data) {
  LiveEvent e;
  e.desk = std::move(desk);
  e.type = LiveEventType::kMessage;
  e.data = std::move(data);
  return e;
}

Status Publish(Store& store, const std::string& desk, const std::string& data) {
  Result<std::unique_ptr<Transaction>> txn = store.Begin();
  if (!txn.ok()) return txn.status();
  (*txn)->Publish(Event(desk, data));
  return (*txn)->Commit();
}

// The data of `desk`'s events after `after`, waiting up to `timeout` for `count` of them.
std::vector<std::string> WaitData(Store& store, const std::string& desk, uint64_t after, size_t count,
                                  std::chrono::milliseconds timeout, bool* gap = nullptr) {
  std::vector<std::string> got;
  const auto deadline = Clock::now() + timeout;
  bool any_gap = false;
  while (got.size() < count && Clock::now() < deadline) {
    bool g = false;
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    for (const LiveEvent& e : store.live()->Wait(
             desk, after, left.count(), [](const LiveEvent&) { return true; }, &g)) {
      after = e.id;
      got.push_back(e.data);
    }
    any_gap = any_gap || g;
  }
  if (gap) *gap = any_gap;
  return got;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

TEST_CASE("two nodes opening a fresh database at once apply each migration once") {
  const std::string uri = NewDatabase("migrate");
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  for (int i = 0; i < 3; ++i) {
    nodes.emplace_back([&] {
      Result<std::unique_ptr<Store>> store = OpenPostgresStore(uri);
      CHECK_MESSAGE(store.ok(), store.status().ToString());
      if (store.ok()) ++opened;
    });
  }
  for (std::thread& t : nodes) t.join();
  CHECK(opened == 3);
  CHECK(Query(uri, "SELECT count(*) FROM kefu_schema") == std::to_string(LatestPgSchemaVersion()));
  CHECK(Query(uri, "SELECT max(version) FROM kefu_schema") == std::to_string(LatestPgSchemaVersion()));
}

TEST_CASE("a node refuses a database whose schema is newer than it knows") {
  const std::string uri = NewDatabase("newer");
  Open(uri).reset();
  const int newer = LatestPgSchemaVersion() + 1;
  Query(uri, "INSERT INTO kefu_schema (version, summary) VALUES (" + std::to_string(newer) +
                 ", 'from the future')");
  Result<std::unique_ptr<Store>> store = OpenPostgresStore(uri);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Status::Code::kConflict);
  CHECK(store.status().message().find("version " + std::to_string(newer)) != std::string::npos);
  CHECK(store.status().message().find("newer than this kefu knows") != std::string::npos);
  auto conn = Connect(uri);
  CHECK(MigratePgSchema(*conn).status().code() == Status::Code::kConflict);
  CHECK(Query(uri, "SELECT count(*) FROM kefu_schema") == std::to_string(newer));  // nothing changed
}

TEST_CASE("with migrate off, a node refuses an unmigrated database and says what to run") {
  const std::string uri = NewDatabase("nomigrate");
  PgStoreOptions options;
  options.migrate = false;
  Result<std::unique_ptr<Store>> store = OpenPostgresStore(uri, options);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Status::Code::kConflict);
  CHECK(store.status().message().find("kefu db migrate") != std::string::npos);
  auto conn = Connect(uri);
  Result<int> version = MigratePgSchema(*conn);
  REQUIRE(version.ok());
  CHECK(*version == LatestPgSchemaVersion());
  CHECK(OpenPostgresStore(uri, options).ok());
}

TEST_CASE("kefu db migrate applies the migrations and prints the version") {
  const char* kefu = std::getenv("KEFU_BIN");
  if (kefu == nullptr) {
    MESSAGE("KEFU_BIN not set: skipped");
    return;
  }
  const std::string uri = NewDatabase("cli");
  for (int run = 0; run < 2; ++run) {
    const std::string command = std::string(kefu) + " db migrate --store '" + uri + "' 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[256];
    while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
    CHECK(::pclose(p) == 0);
    CHECK_MESSAGE(out.find("schema version " + std::to_string(LatestPgSchemaVersion())) != std::string::npos,
                  out);
  }
  CHECK(Query(uri, "SELECT count(*) FROM kefu_schema") == std::to_string(LatestPgSchemaVersion()));
}

TEST_CASE("an event whose id is older than one already committed is delivered first, once it commits") {
  const std::string uri = NewDatabase("holes");
  auto store = Open(uri);
  auto raw = Connect(uri);
  const uint64_t position = store->live()->Position("hr");
  // A transaction that took an id and has not committed yet.
  REQUIRE(raw->ExecSimple("BEGIN").ok());
  REQUIRE(
      raw->Exec(std::move(PgCommand(sql::kPublish).Bytes("hr").Bytes(EncodeLiveEvent(Event("hr", "early")))))
          .ok());
  REQUIRE(Publish(*store, "hr", "late").ok());
  CHECK(WaitData(*store, "hr", position, 1, 500ms).empty());  // held behind the hole
  REQUIRE(raw->ExecSimple("COMMIT").ok());
  CHECK(WaitData(*store, "hr", position, 2, 5s) == std::vector<std::string>{"early", "late"});
}

TEST_CASE("a rolled-back event id does not hold delivery back: the database proves it dead") {
  const std::string uri = NewDatabase("deadhole");
  auto store = Open(uri);
  auto raw = Connect(uri);
  const uint64_t position = store->live()->Position("hr");
  REQUIRE(raw->ExecSimple("BEGIN").ok());
  REQUIRE(
      raw->Exec(std::move(PgCommand(sql::kPublish).Bytes("hr").Bytes(EncodeLiveEvent(Event("hr", "never")))))
          .ok());
  REQUIRE(raw->ExecSimple("ROLLBACK").ok());
  const auto start = Clock::now();
  REQUIRE(Publish(*store, "hr", "after").ok());
  CHECK(WaitData(*store, "hr", position, 1, 5s) == std::vector<std::string>{"after"});
  CHECK(Clock::now() - start < 1s);
  CHECK(AsPostgresStore(store.get())->pg_stats().listener.holes_dead >= 1);
}

TEST_CASE("while a writer holds the horizon back, a dead hole is passed over after the timeout") {
  const std::string uri = NewDatabase("stuckhole");
  PgStoreOptions options;
  options.listener.hole_timeout_millis = 1000;
  auto store = Open(uri, options);
  auto raw = Connect(uri);
  auto idle_writer = Connect(uri);
  // A session idle in a transaction that has written: xmin cannot pass it.
  REQUIRE(idle_writer->ExecSimple("BEGIN; INSERT INTO kv VALUES ('\\x00'::bytea, '\\x00'::bytea)").ok());
  const uint64_t position = store->live()->Position("hr");
  REQUIRE(raw->ExecSimple("BEGIN").ok());
  REQUIRE(
      raw->Exec(std::move(PgCommand(sql::kPublish).Bytes("hr").Bytes(EncodeLiveEvent(Event("hr", "never")))))
          .ok());
  REQUIRE(raw->ExecSimple("ROLLBACK").ok());
  const auto start = Clock::now();
  REQUIRE(Publish(*store, "hr", "after").ok());
  CHECK(WaitData(*store, "hr", position, 1, 5s) == std::vector<std::string>{"after"});
  CHECK(Clock::now() - start >= 900ms);
  CHECK(AsPostgresStore(store.get())->pg_stats().listener.holes_timed_out >= 1);
  REQUIRE(idle_writer->ExecSimple("ROLLBACK").ok());
}

TEST_CASE("a node starting loads each desk's newest events and marks older ones unavailable") {
  const std::string uri = NewDatabase("load");
  auto first = Open(uri);
  for (int i = 1; i <= 5; ++i) REQUIRE(Publish(*first, "hr", "e" + std::to_string(i)).ok());
  REQUIRE(WaitData(*first, "hr", 0, 5, 5s).size() == 5);
  PgStoreOptions options;
  options.live_events_per_desk = 3;
  auto second = Open(uri, options);
  bool gap = false;
  CHECK(WaitData(*second, "hr", 0, 3, 1s, &gap) == std::vector<std::string>{"e3", "e4", "e5"});
  CHECK(gap);  // a reader from the start is told that it missed events
  const uint64_t top = second->live()->Position("hr");
  CHECK(top == first->live()->Position("hr"));
  // Resuming from a loaded event works on the new node.
  std::vector<LiveEvent> tail = second->live()->Wait(
      "hr", top - 1, 0, [](const LiveEvent&) { return true; }, &gap);
  CHECK_FALSE(gap);
  REQUIRE(tail.size() == 1);
  CHECK(tail[0].data == "e5");
  REQUIRE(Publish(*first, "hr", "e6").ok());
  CHECK(WaitData(*second, "hr", top, 1, 5s) == std::vector<std::string>{"e6"});
}

TEST_CASE("a lease is lost when its connection dies, and another node takes it") {
  const std::string uri = NewDatabase("lease");
  auto a = Open(uri);
  auto b = Open(uri);
  Result<std::unique_ptr<Store::Lease>> lease = a->TryLease("wecom/acct");
  REQUIRE(lease.ok());
  REQUIRE(*lease != nullptr);
  REQUIRE((*lease)->held());
  REQUIRE(*b->TryLease("wecom/acct") == nullptr);
  // Kill the session that holds the session-level advisory lock.
  Query(uri,
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND pid <> pg_backend_pid()");
  CHECK(Eventually([&] { return !(*lease)->held(); }, 5s));
  Result<std::unique_ptr<Store::Lease>> taken = b->TryLease("wecom/acct");
  REQUIRE(taken.ok());
  CHECK(*taken != nullptr);
}

TEST_CASE("server errors map to Aborted, Internal and Unavailable") {
  const std::string uri = NewDatabase("errors");
  Open(uri).reset();  // the schema
  Query(uri, "INSERT INTO kv VALUES ('a', 'x'), ('b', 'y')");
  auto c1 = Connect(uri);
  auto c2 = Connect(uri);
  const PgStatement lock = {"", "SELECT v FROM kv WHERE k = $1::bytea FOR UPDATE"};
  REQUIRE(c1->ExecSimple("BEGIN").ok());
  REQUIRE(c2->ExecSimple("BEGIN").ok());
  REQUIRE(c1->Exec(std::move(PgCommand(lock).Bytes("a"))).ok());
  REQUIRE(c2->Exec(std::move(PgCommand(lock).Bytes("b"))).ok());
  Status first;
  std::thread t([&] { first = c1->Exec(std::move(PgCommand(lock).Bytes("b"))).status(); });
  std::this_thread::sleep_for(100ms);
  Status second = c2->Exec(std::move(PgCommand(lock).Bytes("a"))).status();
  REQUIRE(c2->ExecSimple("ROLLBACK").ok());  // lets the other one finish
  t.join();
  // PostgreSQL's deadlock detector cancels exactly one of the two.
  CHECK(first.ok() != second.ok());
  const Status& lost = first.ok() ? second : first;
  CHECK(lost.code() == Status::Code::kAborted);
  CHECK(lost.message().find("40P01") != std::string::npos);

  Status syntax = c1->ExecSimple("ROLLBACK; SELEC 1");
  CHECK(syntax.code() == Status::Code::kInternal);
  CHECK(syntax.message().find("syntax error") != std::string::npos);
  CHECK(c1->ok());

  Query(uri,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()");
  std::this_thread::sleep_for(200ms);
  CHECK(c1->ExecSimple("SELECT 1").code() == Status::Code::kUnavailable);
  CHECK_FALSE(c1->ok());
}

TEST_CASE("the pool makes callers wait for a free connection, then gives Unavailable") {
  const std::string uri = NewDatabase("pool");
  PgStoreOptions options;
  options.pool.max_connections = 2;
  options.pool.acquire_timeout_millis = 300;
  auto store = Open(uri, options);
  Result<std::unique_ptr<Transaction>> t1 = store->Begin();
  Result<std::unique_ptr<Transaction>> t2 = store->Begin();
  REQUIRE(t1.ok());
  REQUIRE(t2.ok());
  const auto start = Clock::now();
  Result<std::unique_ptr<Transaction>> t3 = store->Begin();
  CHECK(t3.status().code() == Status::Code::kUnavailable);
  CHECK(Clock::now() - start >= 250ms);
  std::thread freer([&] {
    std::this_thread::sleep_for(100ms);
    t1.value().reset();
  });
  Result<std::unique_ptr<Transaction>> t4 = store->Begin();  // waits for t1's connection
  CHECK(t4.ok());
  freer.join();
}

TEST_CASE("broken connections are replaced without failing the next caller") {
  const std::string uri = NewDatabase("broken");
  auto store = Open(uri);
  for (int i = 0; i < 3; ++i)
    REQUIRE(store
                ->Write([&] {
                  StoreBatch b;
                  b.Put("k" + std::to_string(i), "v");
                  return b;
                }())
                .ok());
  Query(uri,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()");
  std::this_thread::sleep_for(300ms);  // the goodbye reaches the idle connections
  Result<std::optional<std::string>> v = store->Get("k1");
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  CHECK(v->value_or("") == "v");
  CHECK(AsPostgresStore(store.get())->pg_stats().pool.discarded >= 1);
  // The listener reconnects too.
  const uint64_t position = store->live()->Position("hr");
  REQUIRE(Publish(*store, "hr", "after").ok());
  CHECK(WaitData(*store, "hr", position, 1, 5s) == std::vector<std::string>{"after"});
}

TEST_CASE("the database clock follows the server's clock") {
  const std::string uri = NewDatabase("clock");
  auto store = Open(uri);
  PostgresStore* pg = AsPostgresStore(store.get());
  REQUIRE(pg != nullptr);
  Result<int64_t> db_now = pg->DatabaseNowMicros();
  REQUIRE(db_now.ok());
  SystemClock local;
  CHECK(std::llabs(*db_now - local.NowMicros()) < 100'000);  // same machine: same clock
  CHECK(std::llabs(pg->database_clock()->NowMicros() - local.NowMicros()) < 100'000);
  CHECK(AsPostgresStore(nullptr) == nullptr);
}

TEST_CASE("old live events are trimmed by one node") {
  const std::string uri = NewDatabase("trim");
  auto store = Open(uri);
  PostgresStore* pg = AsPostgresStore(store.get());
  for (int i = 0; i < 5; ++i) REQUIRE(Publish(*store, "hr", "e" + std::to_string(i)).ok());
  Query(uri,
        "UPDATE live_events SET created_at = now() - interval '2 days' "
        "WHERE id IN (SELECT id FROM live_events ORDER BY id LIMIT 3)");
  Result<int64_t> trimmed = pg->TrimLiveEvents();
  REQUIRE(trimmed.ok());
  CHECK(*trimmed == 3);
  CHECK(Query(uri, "SELECT count(*) FROM live_events") == "2");
  // While another session holds the trim lock, a node trims nothing.
  auto other = Connect(uri);
  REQUIRE(
      other->ExecSimple("BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kPgTrimLockKey) + ")").ok());
  Query(uri, "UPDATE live_events SET created_at = now() - interval '2 days'");
  trimmed = pg->TrimLiveEvents();
  REQUIRE(trimmed.ok());
  CHECK(*trimmed == 0);
  REQUIRE(other->ExecSimple("ROLLBACK").ok());
}

TEST_CASE("the database stopped and started: Unavailable meanwhile, nothing acknowledged lost") {
  // A cluster of its own: this test stops it.
  Result<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  REQUIRE_MESSAGE(cluster.ok(), cluster.status().ToString());
  Result<std::string> uri = (*cluster)->CreateDatabase("restart");
  REQUIRE(uri.ok());
  PgStoreOptions options;
  options.pool.acquire_timeout_millis = 1000;
  options.pool.connect_timeout_seconds = 2;
  options.listener.reconnect_millis = 100;
  auto store = Open(*uri, options);
  int acknowledged = 0;
  for (int i = 0; i < 20; ++i) {
    auto txn = store->Begin();
    REQUIRE(txn.ok());
    (*txn)->Put("ack/" + std::to_string(i), "v");
    if ((*txn)->Commit().ok()) ++acknowledged;
  }
  REQUIRE(acknowledged == 20);
  auto inflight = store->Begin();
  REQUIRE(inflight.ok());
  (*inflight)->Put("inflight", "x");
  REQUIRE((*inflight)->Get("ack/0").ok());  // BEGIN and the put reached the server

  REQUIRE((*cluster)->Stop().ok());
  CHECK((*inflight)->Commit().code() == Status::Code::kUnavailable);
  inflight.value().reset();
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto start = Clock::now();
    Status s;
    Result<std::unique_ptr<Transaction>> txn = store->Begin();
    if (txn.ok()) {
      (*txn)->Put("down", "x");
      s = (*txn)->Commit();
    } else {
      s = txn.status();
    }
    CHECK(s.code() == Status::Code::kUnavailable);
    CHECK(Clock::now() - start < 3s);  // fails fast, does not hang
  }
  CHECK(store->Get("ack/0").status().code() == Status::Code::kUnavailable);

  REQUIRE((*cluster)->Restart().ok());
  CHECK(Eventually(
      [&] {
        Result<std::unique_ptr<Transaction>> txn = store->Begin();
        if (!txn.ok()) return false;
        (*txn)->Put("after", "x");
        (*txn)->Publish(Event("hr", "after restart"));
        return (*txn)->Commit().ok();
      },
      15s));
  int found = 0;
  REQUIRE(store->ScanPrefix("ack/", [&](std::string_view, std::string_view) { return ++found, true; }).ok());
  CHECK(found == acknowledged);
  CHECK(store->Get("inflight")->has_value() == false);
  CHECK(store->Get("down")->has_value() == false);
  CHECK(WaitData(*store, "hr", 0, 1, 5s) == std::vector<std::string>{"after restart"});
}

}  // namespace
}  // namespace kefu
