#include "engine/store.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/engine/test_util.h"

namespace kefu {
namespace {

using testing::TempDir;

std::unique_ptr<Store> MustOpenMemory() {
  auto store = OpenMemoryStore();
  REQUIRE(store.ok());
  return std::move(store).value();
}

std::unique_ptr<Store> MustOpenDir(const std::string& dir, StoreOptions options = {}) {
  auto store = OpenLevelDbStore(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

void MustPut(Store& store, std::string_view key, std::string_view value) {
  StoreBatch batch;
  batch.Put(key, value);
  REQUIRE(store.Write(batch).ok());
}

std::optional<std::string> MustGet(Store& store, std::string_view key) {
  auto got = store.Get(key);
  REQUIRE(got.ok());
  return *got;
}

// 100 bytes that Snappy cannot shrink, different for each `seed`.
std::string Incompressible(int seed) {
  std::string s;
  uint32_t x = 2654435761u * static_cast<uint32_t>(seed + 1);
  for (int i = 0; i < 100; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    s.push_back(static_cast<char>(x));
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> ScanAll(Store& store, std::string_view start,
                                                         std::string_view limit) {
  std::vector<std::pair<std::string, std::string>> out;
  REQUIRE(store
              .Scan(start, limit,
                    [&](std::string_view k, std::string_view v) {
                      out.emplace_back(k, v);
                      return true;
                    })
              .ok());
  return out;
}

std::vector<std::string> PrefixKeys(Store& store, std::string_view prefix) {
  std::vector<std::string> keys;
  REQUIRE(store
              .ScanPrefix(prefix,
                          [&](std::string_view k, std::string_view) {
                            keys.emplace_back(k);
                            return true;
                          })
              .ok());
  return keys;
}

TEST_CASE("PrefixLimit is the smallest key above every key with the prefix") {
  CHECK(PrefixLimit("") == "");
  CHECK(PrefixLimit("a") == "b");
  CHECK(PrefixLimit("conv/") == "conv0");
  CHECK(PrefixLimit("a\xfe") == "a\xff");
  CHECK(PrefixLimit("a\xff") == "b");
  CHECK(PrefixLimit("a\xff\xff") == "b");
  CHECK(PrefixLimit(std::string("\x00", 1)) == "\x01");
  CHECK(PrefixLimit(std::string("a\x00\xff", 3)) == std::string("a\x01", 2));
  CHECK(PrefixLimit("\xff") == "");
  CHECK(PrefixLimit("\xff\xff\xff") == "");
}

TEST_CASE("StoreBatch keeps its operations in order and counts their bytes") {
  StoreBatch a;
  CHECK(a.empty());
  a.Put("k1", "value");
  a.Delete("k2");
  CHECK(a.size() == 2);
  CHECK(a.ApproximateBytes() == 2 + 5 + 2);
  StoreBatch b;
  b.Put("k3", "v");
  a.Append(b);
  REQUIRE(a.size() == 3);
  CHECK(a.ApproximateBytes() == 9 + 3);
  CHECK(!a.ops()[0].is_delete);
  CHECK(a.ops()[1].is_delete);
  CHECK(a.ops()[1].key == "k2");
  CHECK(a.ops()[2].key == "k3");
  CHECK(a.ops()[2].value == "v");
}

TEST_CASE("memory store: put, get, overwrite, delete") {
  auto store = MustOpenMemory();
  CHECK(!MustGet(*store, "missing").has_value());
  MustPut(*store, "k", "v1");
  CHECK(MustGet(*store, "k") == "v1");
  MustPut(*store, "k", "v2");
  CHECK(MustGet(*store, "k") == "v2");
  StoreBatch del;
  del.Delete("k");
  REQUIRE(store->Write(del).ok());
  CHECK(!MustGet(*store, "k").has_value());
  CHECK(store->Write(StoreBatch()).ok());  // an empty batch is a no-op
  CHECK(store->DiskBytes() == 0);
}

TEST_CASE("values may hold any bytes, including NUL") {
  auto store = MustOpenMemory();
  const std::string key("k\0ey", 4);
  const std::string value("\0\xff\x01", 3);
  MustPut(*store, key, value);
  CHECK(MustGet(*store, key) == value);
  CHECK(!MustGet(*store, "k").has_value());
}

TEST_CASE("Scan visits [start, limit) in byte order and stops when asked") {
  auto store = MustOpenMemory();
  for (const char* k : {"b", "a", "d", "c", "e", "\xff", "a\xff"})
    MustPut(*store, k, std::string("v") + k);

  auto all = ScanAll(*store, "", "");
  std::vector<std::string> keys;
  for (auto& [k, v] : all) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"a", "a\xff", "b", "c", "d", "e", "\xff"});
  CHECK(all[2].second == "vb");

  auto range = ScanAll(*store, "b", "d");
  REQUIRE(range.size() == 2);
  CHECK(range[0].first == "b");
  CHECK(range[1].first == "c");

  CHECK(ScanAll(*store, "c", "").size() == 4);  // "" limit: to the end
  CHECK(ScanAll(*store, "d", "d").empty());
  CHECK(ScanAll(*store, "zz", "").size() == 1);  // only "\xff"

  int seen = 0;
  REQUIRE(store->Scan("", "", [&](std::string_view, std::string_view) { return ++seen < 3; }).ok());
  CHECK(seen == 3);
}

TEST_CASE("ScanPrefix sees exactly the keys with the prefix") {
  auto store = MustOpenMemory();
  for (const char* k : {"conv/1", "conv/2", "conv0", "conv", "cons/1", "msg/1", "conv/\xff",
                        "\xff\xff", "\xff\xff\x01", "\xff\xfe"}) {
    MustPut(*store, k, "x");
  }
  CHECK(PrefixKeys(*store, "conv/") == std::vector<std::string>{"conv/1", "conv/2", "conv/\xff"});
  CHECK(PrefixKeys(*store, "conv") ==
        std::vector<std::string>{"conv", "conv/1", "conv/2", "conv/\xff", "conv0"});
  CHECK(PrefixKeys(*store, "\xff\xff") == std::vector<std::string>{"\xff\xff", "\xff\xff\x01"});
  CHECK(PrefixKeys(*store, "nothing").empty());
  CHECK(PrefixKeys(*store, "").size() == 10);
}

TEST_CASE("a batch applies in order: the last operation on a key wins") {
  auto store = MustOpenMemory();
  MustPut(*store, "gone", "x");
  StoreBatch batch;
  batch.Put("k", "first");
  batch.Delete("gone");
  batch.Put("k", "second");
  batch.Put("later-deleted", "x");
  batch.Delete("later-deleted");
  REQUIRE(store->Write(batch).ok());
  CHECK(MustGet(*store, "k") == "second");
  CHECK(!MustGet(*store, "gone").has_value());
  CHECK(!MustGet(*store, "later-deleted").has_value());
}

TEST_CASE("a scan never sees half a batch while batches are being written") {
  auto store = MustOpenMemory();
  std::atomic<bool> stop{false};
  // Bounded: every overwritten version stays in the memtable and each scan steps over all of them,
  // so an unbounded writer makes the scans quadratic (minutes under ThreadSanitizer).
  std::thread writer([&] {
    for (int i = 0; i < 3000 && !stop.load(); ++i) {
      StoreBatch batch;
      for (const char* k : {"t/a", "t/b", "t/c", "t/d"}) batch.Put(k, std::to_string(i));
      if (i % 2 == 1) batch.Delete("t/b");  // odd batches hold 3 keys
      if (!store->Write(batch).ok()) return;
    }
  });
  int torn = 0, scans = 0;
  for (; scans < 500; ++scans) {
    std::map<std::string, std::string> seen;
    REQUIRE(store
                ->ScanPrefix("t/",
                             [&](std::string_view k, std::string_view v) {
                               seen.emplace(k, v);
                               return true;
                             })
                .ok());
    if (seen.empty()) continue;
    const std::string& value = seen.begin()->second;
    const bool odd = (std::stoi(value) % 2) == 1;
    if (seen.size() != (odd ? 3u : 4u)) ++torn;
    for (auto& [k, v] : seen) torn += (v != value);
  }
  stop = true;
  writer.join();
  CHECK(torn == 0);
}

TEST_CASE("a LevelDB store keeps its records across close and reopen") {
  TempDir tmp;
  const std::string dir = tmp.Sub("data/nested");  // parents are created too
  {
    auto store = MustOpenDir(dir);
    StoreBatch batch;
    for (int i = 0; i < 100; ++i) batch.Put("k/" + std::to_string(1000 + i), Incompressible(i));
    batch.Delete("k/1050");
    REQUIRE(store->Write(batch).ok());
    CHECK(store->DiskBytes() > 0);
  }
  auto store = MustOpenDir(dir);
  CHECK(MustGet(*store, "k/1000") == Incompressible(0));
  CHECK(MustGet(*store, "k/1099") == Incompressible(99));
  CHECK(!MustGet(*store, "k/1050").has_value());
  CHECK(PrefixKeys(*store, "k/").size() == 99);
  CHECK(store->DiskBytes() > 99 * 100);
}

TEST_CASE("an unsynced LevelDB store works the same") {
  TempDir tmp;
  StoreOptions options;
  options.sync = false;
  options.block_cache_bytes = 1 << 20;
  options.write_buffer_bytes = 64 << 10;  // small: forces table files and compactions
  {
    auto store = MustOpenDir(tmp.path(), options);
    for (int i = 0; i < 3000; ++i)
      MustPut(*store, "k/" + std::to_string(100000 + i), std::string(200, 'y'));
  }
  auto store = MustOpenDir(tmp.path(), options);
  CHECK(PrefixKeys(*store, "k/").size() == 3000);
  CHECK(MustGet(*store, "k/102999") == std::string(200, 'y'));
}

TEST_CASE("a second open of the same directory in this process is Unavailable") {
  TempDir tmp;
  auto first = MustOpenDir(tmp.path());
  auto second = OpenLevelDbStore(tmp.path());
  REQUIRE(!second.ok());
  CHECK(second.status().code() == Status::Code::kUnavailable);
  const std::string& msg = second.status().message();
  INFO(msg);
  CHECK(msg.find("data directory " + tmp.path() + " is in use by another kefu process (") == 0);
  CHECK(msg.find("LOCK") != std::string::npos);
  first.reset();
  CHECK(OpenLevelDbStore(tmp.path()).ok());  // free again once closed
}

TEST_CASE("an open of a directory another process holds is Unavailable") {
  TempDir tmp;
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  const std::string helper = testing::CrashWriterPath();
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execl(helper.c_str(), helper.c_str(), "--hold", tmp.path().c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  char buf[16] = {};
  const ssize_t n = read(fds[0], buf, sizeof buf - 1);  // "ready\n" once the child holds the store
  close(fds[0]);
  INFO("helper: " << helper);
  CHECK(std::string(buf, n > 0 ? n : 0) == "ready\n");

  auto second = OpenLevelDbStore(tmp.path());
  kill(pid, SIGKILL);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  REQUIRE(!second.ok());
  CHECK(second.status().code() == Status::Code::kUnavailable);
  INFO(second.status().message());
  CHECK(second.status().message().find("is in use by another kefu process") != std::string::npos);
  CHECK(OpenLevelDbStore(tmp.path()).ok());  // the kernel released the dead holder's lock
}

TEST_CASE("a directory that cannot be created gives a clean IOError") {
  // Root ignores permission bits, so make creation impossible instead: the parent is a file.
  TempDir tmp;
  const std::string file = tmp.Sub("plain-file");
  std::ofstream(file) << "not a directory";
  for (const std::string& dir : {file + "/data", file + "/a/b", file}) {
    auto store = OpenLevelDbStore(dir);
    INFO(dir);
    REQUIRE(!store.ok());
    CHECK(store.status().code() == Status::Code::kIOError);
    CHECK(store.status().message().find(dir) != std::string::npos);
  }
  CHECK(OpenLevelDbStore("").status().code() == Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kefu
