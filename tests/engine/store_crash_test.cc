// The crash test of the storage design: a child appends records through the GroupCommitter from 4
// threads and reports each acknowledged commit; the parent SIGKILLs it at a random moment, reopens
// the store and checks that every acknowledged record is there, that the disk holds a gap-free
// prefix of the submission order, and that each commit's two keys landed together.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/store.h"
#include "tests/engine/crash_records.h"
#include "tests/engine/test_util.h"

namespace kefu::testing {
namespace {

constexpr int kRuns = 40;

struct ChildRun {
  std::vector<CrashRecord> acks;
  std::string stderr_text;
  int wait_status = 0;
  bool malformed_ack = false;
};

// Runs one writer generation and SIGKILLs it `delay` after the fork, or with `after_first_ack`,
// `delay` after its first acknowledgement: a sanitized build on a loaded machine can take longer
// to open the store than any fixed delay, and kills that all land before the first commit would
// test only recovery from an empty log.
ChildRun RunAndKill(const std::string& writer, const std::string& dir, unsigned gen,
                    std::chrono::milliseconds delay, bool after_first_ack) {
  int out[2], err[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  const std::string gen_text = std::to_string(gen);
  auto start = std::chrono::steady_clock::now();
  bool counting = !after_first_ack;
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test that died
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    execl(writer.c_str(), writer.c_str(), dir.c_str(), gen_text.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);

  ChildRun run;
  std::string out_text;
  bool killed = false, out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    if (!counting && !out_text.empty()) {
      counting = true;
      start = std::chrono::steady_clock::now();
    }
    // Waiting for the first ack: at most a minute, checked every 100 ms.
    const auto left = counting ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                     start + delay - std::chrono::steady_clock::now())
                      : std::chrono::steady_clock::now() - start > std::chrono::seconds(60)
                          ? std::chrono::milliseconds(0)
                          : std::chrono::milliseconds(100);
    if (!killed && left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
    }
    pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    poll(fds, 2, killed ? -1 : static_cast<int>(left.count()) + 1);
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else {
        (i == 0 ? out_text : run.stderr_text).append(buf, static_cast<size_t>(n));
      }
    }
  }
  if (!killed) kill(pid, SIGKILL);  // both pipes closed early: the child exited by itself
  close(out[0]);
  close(err[0]);
  waitpid(pid, &run.wait_status, 0);

  size_t pos = 0;
  for (size_t nl; (nl = out_text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    CrashRecord r;
    if (ParseAck(out_text.substr(pos, nl - pos), &r)) {
      run.acks.push_back(r);
    } else {
      run.malformed_ack = true;
    }
  }
  if (pos != out_text.size()) run.malformed_ack = true;  // each ack is one atomic write
  return run;
}

// Everything the reopened store holds, checked for shape as it is read.
struct DiskState {
  std::map<uint64_t, CrashRecord> records;  // by seq
  size_t index_entries = 0;
  int problems = 0;
};

DiskState ReadDisk(Store& store) {
  DiskState disk;
  uint64_t expected_seq = 1;
  std::map<std::pair<unsigned, unsigned>, uint64_t> next_n;  // (gen, thread) -> next n
  Status s = store.ScanPrefix(kRecordPrefix, [&](std::string_view key, std::string_view value) {
    CrashRecord r;
    if (!ParseRecord(key, value, &r)) {
      ++disk.problems;
      MESSAGE("malformed record " << std::string(key));
      return true;
    }
    if (r.seq != expected_seq) {  // a gap (lost commit) or a hole in the prefix
      ++disk.problems;
      MESSAGE("expected seq " << expected_seq << ", found " << r.seq);
    }
    expected_seq = r.seq + 1;
    uint64_t& n = next_n[{r.gen, r.thread}];
    if (r.n != n) {  // a duplicate or a gap within one writer thread's history
      ++disk.problems;
      MESSAGE("gen " << r.gen << " thread " << r.thread << ": expected n " << n << ", found "
                     << r.n);
    }
    n = r.n + 1;
    disk.records.emplace(r.seq, r);
    return true;
  });
  REQUIRE(s.ok());
  s = store.ScanPrefix(kIndexPrefix, [&](std::string_view, std::string_view) {
    ++disk.index_entries;
    return true;
  });
  REQUIRE(s.ok());
  // Both keys of every commit, or neither: each record has its index entry pointing back.
  if (disk.index_entries != disk.records.size()) {
    ++disk.problems;
    MESSAGE(disk.records.size() << " records but " << disk.index_entries << " index entries");
  }
  for (const auto& [seq, r] : disk.records) {
    auto idx = store.Get(IndexKey(r));
    REQUIRE(idx.ok());
    if (*idx != IndexValue(seq)) {
      ++disk.problems;
      MESSAGE("index entry of seq " << seq << " is missing or wrong");
    }
  }
  return disk;
}

TEST_CASE("acknowledged commits survive SIGKILL at random moments, in order, exactly once") {
  const std::string writer = CrashWriterPath();
  REQUIRE(access(writer.c_str(), X_OK) == 0);
  TempDir tmp;
  const std::string dir = tmp.Sub("data");

  unsigned seed = std::random_device{}();
  if (const char* env = std::getenv("KEFU_CRASH_SEED"))
    seed = static_cast<unsigned>(std::strtoul(env, nullptr, 10));
  MESSAGE("KEFU_CRASH_SEED=" << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(5, 200);

  std::vector<CrashRecord> all_acks;
  size_t runs_with_acks = 0, records_on_disk = 0;
  for (unsigned gen = 0; gen < kRuns; ++gen) {
    const auto delay = std::chrono::milliseconds(delay_ms(rng));
    ChildRun run = RunAndKill(writer, dir, gen, delay, /*after_first_ack=*/gen % 4 != 0);
    INFO("run " << gen << ", killed after " << delay.count()
                << " ms; writer stderr: " << run.stderr_text);
    REQUIRE(WIFSIGNALED(run.wait_status));  // killed by us, not exited with an error
    CHECK(WTERMSIG(run.wait_status) == SIGKILL);
    CHECK(!run.malformed_ack);

    // Per writer thread, acks arrive in commit order.
    std::map<unsigned, uint64_t> next_ack_n;
    for (const CrashRecord& a : run.acks) {
      auto [it, fresh] = next_ack_n.emplace(a.thread, 0);
      CHECK(a.gen == gen);
      CHECK(a.n == it->second);
      it->second = a.n + 1;
    }
    runs_with_acks += !run.acks.empty();
    all_acks.insert(all_acks.end(), run.acks.begin(), run.acks.end());

    auto store = OpenLevelDbStore(dir);
    REQUIRE(store.ok());
    const DiskState disk = ReadDisk(**store);
    CHECK(disk.problems == 0);
    int lost = 0;
    for (const CrashRecord& a : all_acks) {
      auto it = disk.records.find(a.seq);
      if (it == disk.records.end() || RecordValue(it->second) != RecordValue(a)) {
        if (++lost <= 5)
          MESSAGE("acknowledged seq " << a.seq << " (" << RecordValue(a) << ") is lost");
      }
    }
    CHECK(lost == 0);
    records_on_disk = disk.records.size();
  }
  MESSAGE(kRuns << " kills, " << runs_with_acks << " after some acks; " << all_acks.size()
                << " acknowledged commits, " << records_on_disk << " records on disk, all checked");
  // The child must have got going: a writer that never acknowledges proves nothing.
  CHECK(all_acks.size() > 100);
  CHECK(runs_with_acks >= kRuns / 4);
}

}  // namespace
}  // namespace kefu::testing
