// The PostgreSQL store's cost per transaction of a typical engine shape: a locked point read (the
// conversation), a point read (the agent), four puts (conversation, message, client_msg_id index,
// the conversation's sequence counter), one live event, commit. Per thread count: transactions/s, latency
// median and p99, round trips and WAL bytes per transaction. With --unpipelined, the same statements one
// round trip each over a bare connection, for comparison. Then the latency of a live event from
// its commit on one node to a second node's bus.
//
//   pg_store_bench                       # starts a throwaway cluster with fsync on
//   pg_store_bench --store postgresql://... --threads 1,16 --seconds 10
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "engine/pg/pg_sql.h"
#include "engine/pg/pg_store.h"
#include "tests/pg/pg_cluster.h"

namespace kefu {
namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  std::string conversation = std::string(300, 'c');
  std::string message = std::string(200, 'm');
  std::string event = std::string(250, 'e');
  int conversations = 1000;
};

std::string Key(const char* kind, int n) { return std::string(kind) + "/" + std::to_string(n); }

// One transaction through the Store interface; Aborted is retried (counted).
Status StoreTransaction(Store& store, const Shape& shape, int conv, uint64_t seq, uint64_t* retries) {
  while (true) {
    Result<std::unique_ptr<Transaction>> txn = store.Begin();
    if (!txn.ok()) return txn.status();
    Transaction& t = **txn;
    Result<std::optional<std::string>> c = t.GetForUpdate(Key("conv", conv), 1);
    Result<std::optional<std::string>> a = c.ok() ? t.Get(Key("agent", conv % 8)) : c;
    if (!a.ok()) {
      if (a.status().code() != Status::Code::kAborted) return a.status();
      ++*retries;
      continue;
    }
    t.Put(Key("conv", conv), shape.conversation);
    t.Put(Key("msg", conv) + "/" + std::to_string(seq), shape.message);
    t.Put(Key("cmid", conv) + "/" + std::to_string(seq), "7");
    t.Put(Key("seq", conv), std::to_string(seq));
    LiveEvent e;
    e.desk = "hr";
    e.conversation = Key("conv", conv);
    e.data = shape.event;
    t.Publish(std::move(e));
    Status s = t.Commit();
    if (s.code() == Status::Code::kAborted) {
      ++*retries;
      continue;
    }
    return s;
  }
}

// The same statements one round trip each, without the store (what pipelining saves).
Status UnpipelinedTransaction(PgConnection& conn, const Shape& shape, int conv, uint64_t seq) {
  const std::string desk_event = EncodeLiveEvent([&] {
    LiveEvent e;
    e.desk = "hr";
    e.data = shape.event;
    return e;
  }());
  PgCommand steps[] = {
      PgCommand(sql::kBegin),
      std::move(PgCommand(sql::kGetForUpdate).Bytes(Key("conv", conv))),
      std::move(PgCommand(sql::kGet).Bytes(Key("agent", conv % 8))),
      std::move(PgCommand(sql::kPut).Bytes(Key("conv", conv)).Bytes(shape.conversation)),
      std::move(
          PgCommand(sql::kPut).Bytes(Key("msg", conv) + "/" + std::to_string(seq)).Bytes(shape.message)),
      std::move(PgCommand(sql::kPut).Bytes(Key("cmid", conv) + "/" + std::to_string(seq)).Bytes("7")),
      std::move(PgCommand(sql::kPut).Bytes(Key("seq", conv)).Bytes(std::to_string(seq))),
      std::move(PgCommand(sql::kPublish).Bytes("hr").Bytes(desk_event)),
      PgCommand(sql::kCommit),
  };
  for (const PgCommand& step : steps) {
    Result<PgResultPtr> r = conn.Exec(step);
    if (!r.ok()) {
      (void)conn.ExecSimple("ROLLBACK");
      return r.status();
    }
  }
  return Status::OK();
}

// WAL bytes written so far, and WAL flushes (pg_stat_wal.wal_sync: fewer than commits when
// concurrent commits share one).
struct WalPosition {
  int64_t bytes = 0;
  int64_t syncs = 0;
};
WalPosition Wal(const std::string& uri) {
  Result<std::unique_ptr<PgConnection>> c = PgConnection::Connect(uri, 5);
  if (!c.ok()) return {};
  const PgStatement lsn = {"",
                           "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::int8, "
                           "(SELECT wal_sync FROM pg_stat_wal)::int8"};
  Result<PgResultPtr> r = (*c)->Exec(PgCommand(lsn));
  return r.ok() ? WalPosition{PgInt64(r->get(), 0, 0), PgInt64(r->get(), 0, 1)} : WalPosition{};
}

struct RunResult {
  uint64_t transactions = 0, retries = 0, errors = 0, round_trips = 0;
  double seconds = 0;
  std::vector<int64_t> latencies_us;
  int64_t wal_bytes = 0;
  int64_t wal_syncs = 0;
};

RunResult Run(const std::string& uri, Store& store, const Shape& shape, int threads, double seconds,
              bool unpipelined) {
  RunResult result;
  PostgresStore* pg = AsPostgresStore(&store);
  const PostgresStore::PgStats before = pg->pg_stats();
  const WalPosition wal_before = Wal(uri);
  std::atomic<uint64_t> seq{0}, extra_round_trips{0};
  std::mutex mu;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      std::unique_ptr<PgConnection> conn;
      if (unpipelined) conn = std::move(PgConnection::Connect(uri, 5).value());
      RunResult mine;
      while (Clock::now() < end) {
        const int conv = static_cast<int>(rng() % shape.conversations);
        const auto t0 = Clock::now();
        Status s = unpipelined ? UnpipelinedTransaction(*conn, shape, conv, ++seq)
                               : StoreTransaction(store, shape, conv, ++seq, &mine.retries);
        mine.latencies_us.push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
        s.ok() ? ++mine.transactions : ++mine.errors;
      }
      if (conn) extra_round_trips += conn->TakeRoundTrips();
      std::lock_guard<std::mutex> lock(mu);
      result.transactions += mine.transactions;
      result.retries += mine.retries;
      result.errors += mine.errors;
      result.latencies_us.insert(result.latencies_us.end(), mine.latencies_us.begin(),
                                 mine.latencies_us.end());
    });
  }
  for (std::thread& w : workers) w.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const WalPosition wal_after = Wal(uri);
  result.wal_bytes = wal_after.bytes - wal_before.bytes;
  result.wal_syncs = wal_after.syncs - wal_before.syncs;
  result.round_trips = pg->pg_stats().pool.round_trips - before.pool.round_trips + extra_round_trips;
  return result;
}

void Print(const char* mode, int threads, RunResult r) {
  std::sort(r.latencies_us.begin(), r.latencies_us.end());
  auto pct = [&](double p) {
    return r.latencies_us.empty() ? 0 : r.latencies_us[static_cast<size_t>(p * (r.latencies_us.size() - 1))];
  };
  const double n = std::max<double>(1, r.transactions);
  std::printf(
      "%-12s threads=%-3d txn/s=%-8.0f p50=%.2fms p99=%.2fms round_trips/txn=%.2f wal_bytes/txn=%.0f "
      "wal_flushes/txn=%.2f retries=%llu errors=%llu\n",
      mode, threads, r.transactions / r.seconds, pct(0.5) / 1000.0, pct(0.99) / 1000.0, r.round_trips / n,
      r.wal_bytes / n, r.wal_syncs / n, static_cast<unsigned long long>(r.retries),
      static_cast<unsigned long long>(r.errors));
  std::fflush(stdout);
}

// A live event committed on one node until another node's bus hands it out: `count` events one
// after another, each waited for, latency median and p99.
void MeasureLiveLatency(const std::string& uri, Store& publisher, int count) {
  Result<std::unique_ptr<Store>> peer = OpenPostgresStore(uri);
  if (!peer.ok()) return;
  std::vector<int64_t> micros, after_ack;
  for (int i = 0; i < count; ++i) {
    const uint64_t after = (*peer)->live()->Position("live");
    Result<std::unique_ptr<Transaction>> txn = publisher.Begin();
    if (!txn.ok()) return;
    LiveEvent e;
    e.desk = "live";
    e.data = "x";
    (*txn)->Publish(std::move(e));
    const auto t0 = Clock::now();
    if (!(*txn)->Commit().ok()) return;
    const auto acked = Clock::now();
    bool gap = false;
    if ((*peer)
            ->live()
            ->Wait(
                "live", after, 5'000'000, [](const LiveEvent&) { return true; }, &gap)
            .empty())
      return;
    micros.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
    after_ack.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - acked).count());
  }
  std::sort(micros.begin(), micros.end());
  std::sort(after_ack.begin(), after_ack.end());
  std::printf(
      "live event on node B's bus, from node A's Commit call: p50=%.2fms p99=%.2fms; "
      "after Commit returned: p50=%.2fms p99=%.2fms (%d events)\n",
      micros[micros.size() / 2] / 1000.0, micros[micros.size() * 99 / 100] / 1000.0,
      after_ack[after_ack.size() / 2] / 1000.0, after_ack[after_ack.size() * 99 / 100] / 1000.0, count);
}

int Main(int argc, char** argv) {
  CLI::App app{"The PostgreSQL store's cost per typical transaction"};
  std::string uri;
  std::string thread_list = "1,16";
  double seconds = 10;
  bool unpipelined = false, no_fsync = false;
  app.add_option("--store", uri, "A database (default: a throwaway cluster with fsync on)");
  app.add_option("--threads", thread_list, "Comma-separated thread counts")->capture_default_str();
  app.add_option("--seconds", seconds, "Seconds per run")->capture_default_str();
  app.add_flag("--unpipelined", unpipelined, "Also run each statement as its own round trip");
  app.add_flag("--no-fsync", no_fsync, "Throwaway cluster without fsync (CPU cost alone)");
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<PgCluster> cluster;
  if (uri.empty()) {
    PgClusterOptions options;
    options.durable = !no_fsync;
    Result<std::unique_ptr<PgCluster>> c = PgCluster::Start(options);
    if (!c.ok()) return std::fprintf(stderr, "%s\n", c.status().ToString().c_str()), 1;
    cluster = std::move(c.value());
    uri = cluster->CreateDatabase("bench").value();
  }
  PgStoreOptions options;
  options.pool.max_connections = 32;
  Result<std::unique_ptr<Store>> store = OpenPostgresStore(uri, options);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  Shape shape;
  StoreBatch seed;
  for (int i = 0; i < shape.conversations; ++i) seed.Put(Key("conv", i), shape.conversation);
  for (int i = 0; i < 8; ++i) seed.Put(Key("agent", i), "agent");
  if (Status s = (*store)->Write(seed); !s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;

  std::stringstream list(thread_list);
  for (std::string item; std::getline(list, item, ',');) {
    const int threads = std::stoi(item);
    Print("store", threads, Run(uri, **store, shape, threads, seconds, false));
    if (unpipelined) Print("unpipelined", threads, Run(uri, **store, shape, threads, seconds, true));
  }
  MeasureLiveLatency(uri, **store, 200);
  return 0;
}

}  // namespace
}  // namespace kefu

int main(int argc, char** argv) { return kefu::Main(argc, argv); }
