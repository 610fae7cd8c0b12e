// Helper for the store tests, run as a child process.
//   store_crash_writer <dir> <gen>   appends crash records (crash_records.h) to the LevelDB store
//                                    in <dir> from 4 threads through a GroupCommitter, as fast as
//                                    it can, until killed; prints an ack line on stdout after each
//                                    commit returned OK.
//   store_crash_writer --hold <dir>  opens the store, prints "ready", and holds it until killed.
// Exits 2 when the store does not open, 3 when a commit fails.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/group_commit.h"
#include "engine/store.h"
#include "tests/engine/crash_records.h"

namespace kefu::testing {
namespace {

constexpr unsigned kThreads = 4;

// One write(2) per line: a pipe write of at most PIPE_BUF bytes is atomic, so lines from
// different threads never interleave.
void WriteLine(const std::string& line) {
  if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
}

Result<std::unique_ptr<Store>> OpenOrExit(const std::string& dir) {
  auto store = OpenLevelDbStore(dir);
  if (!store.ok()) {
    std::fprintf(stderr, "store_crash_writer: %s\n", store.status().ToString().c_str());
    _exit(2);
  }
  return store;
}

int Hold(const std::string& dir) {
  auto store = OpenOrExit(dir);
  WriteLine("ready\n");
  for (;;) pause();
}

int Append(const std::string& dir, unsigned gen) {
  auto store = OpenOrExit(dir);
  uint64_t last_seq = 0;
  Status s = (*store)->ScanPrefix(kRecordPrefix, [&](std::string_view key, std::string_view value) {
    CrashRecord r;
    if (!ParseRecord(key, value, &r)) {
      std::fprintf(stderr, "store_crash_writer: malformed record %.*s\n",
                   static_cast<int>(key.size()), key.data());
      _exit(2);
    }
    last_seq = r.seq;
    return true;
  });
  if (!s.ok()) {
    std::fprintf(stderr, "store_crash_writer: scan: %s\n", s.ToString().c_str());
    _exit(2);
  }

  Store* raw = store->get();
  GroupCommitter committer([raw](std::span<const StoreBatch> group) { return raw->Write(StoreBatch::Joined(group)); });
  std::mutex mu;  // plays the engine's lock: seq order == submission order
  uint64_t next_seq = last_seq + 1;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t n = 0;; ++n) {
        CrashRecord r{0, gen, t, n};
        uint64_t ticket;
        {
          std::lock_guard<std::mutex> lock(mu);
          r.seq = next_seq++;
          StoreBatch batch;
          batch.Put(RecordKey(r.seq), RecordValue(r));
          batch.Put(IndexKey(r), IndexValue(r.seq));
          ticket = committer.Submit(std::move(batch));
        }
        Status st = committer.Wait(ticket);
        if (!st.ok()) {
          std::fprintf(stderr, "store_crash_writer: commit %s\n", st.ToString().c_str());
          _exit(3);
        }
        WriteLine(AckLine(r));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  return 0;
}

}  // namespace
}  // namespace kefu::testing

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--hold") return kefu::testing::Hold(argv[2]);
  if (argc == 3) return kefu::testing::Append(argv[1], static_cast<unsigned>(std::atoi(argv[2])));
  std::fprintf(stderr, "usage: store_crash_writer <dir> <gen> | store_crash_writer --hold <dir>\n");
  return 1;
}
