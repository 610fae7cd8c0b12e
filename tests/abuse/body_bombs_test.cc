// Issue 15, item 1: bodies sent chunked or compressed are bounded like any other. `kefu serve` as a
// process (tests/reliability/kefu_process.h) gets, without authentication, a 150 MiB chunked POST
// and gzip, deflate and brotli bombs (about 200 KB that inflate to 200 MiB); its peak memory
// (VmHWM of /proc/PID/status) may grow by a few MB at most, each request is refused, nothing is
// started, and the server keeps serving. Before the fix, cpp-httplib 0.11.4 read the chunked body
// whole (+195 MB measured) and inflated the gzip one whole (+258 MB) before kefu's 413.
#include <brotli/encode.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/http/raw_socket.h"
#include "tests/reliability/kefu_process.h"

namespace kefu::testing {
namespace {

constexpr char kAdmin[] = "body-bombs-admin-token-0123456789abcdef";
constexpr size_t kBombBytes = size_t{200} << 20;  // what each bomb inflates to
constexpr int64_t kMaxGrowthKb = 8 << 10;         // "a few MB"

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kefu-bombs-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// The process's peak resident set, kB.
int64_t PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  FAIL("no VmHWM for pid " << pid);
  return 0;
}

// `kBombBytes` zero bytes, compressed: gzip (`window_bits` 31) or zlib/deflate (15).
std::string ZlibBomb(int window_bits) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  char buf[1 << 16];
  for (size_t fed = 0; fed < kBombBytes; fed += zeros.size()) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    z.avail_in = static_cast<uInt>(zeros.size());
    const int flush = fed + zeros.size() >= kBombBytes ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      deflate(&z, flush);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

std::string BrotliBomb() {
  const std::string zeros(kBombBytes, '\0');
  size_t size = BrotliEncoderMaxCompressedSize(zeros.size());
  std::string out(size, '\0');
  REQUIRE(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, zeros.size(),
                                reinterpret_cast<const uint8_t*>(zeros.data()), &size,
                                reinterpret_cast<uint8_t*>(out.data())) == BROTLI_TRUE);
  out.resize(size);
  return out;
}

std::string RequestHead(const std::string& path, const std::string& extra_headers) {
  return "POST " + path + " HTTP/1.1\r\nHost: kefu\r\nContent-Type: application/json\r\n" + extra_headers + "\r\n";
}

// POSTs `total` bytes of JSON-ish filler in 64 KiB chunks on its own thread while the response is
// read here. Returns the status (0 when the connection ended without one).
int PostChunked(int port, const std::string& path, size_t total) {
  RawSocket raw(port);
  std::atomic<size_t> sent{0};
  std::thread sender([&] {
    if (!raw.Send(RequestHead(path, "Transfer-Encoding: chunked\r\n"))) return;
    const std::string chunk = "10000\r\n" + std::string(65536, ' ') + "\r\n";
    for (size_t at = 0; at < total; at += 65536) {
      if (!raw.Send(chunk)) return;
      sent += 65536;
    }
    raw.Send("0\r\n\r\n");
  });
  const std::string response = raw.Read(60, 64 << 10);
  raw.ShutdownWrite();
  sender.join();
  MESSAGE("chunked: " << (sent >> 20) << " MiB sent before the server answered " << response.substr(0, 12));
  return StatusOf(response);
}

// POSTs `body` with `encoding`; the status.
int PostCompressed(int port, const std::string& path, const std::string& body, const std::string& encoding) {
  RawSocket raw(port);
  const std::string head = RequestHead(path, "Content-Encoding: " + encoding + "\r\nContent-Length: " +
                                                 std::to_string(body.size()) + "\r\nConnection: close\r\n");
  raw.Send(head + body);
  return StatusOf(raw.Read(60, 64 << 10));
}

int64_t Conversations(httplib::Client& c) {
  auto r = c.Get("/v1/admin/desks/hr/stats", {{"Authorization", std::string("Bearer ") + kAdmin}});
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  const size_t at = r->body.find("\"conversations\":");
  REQUIRE(at != std::string::npos);
  return std::stoll(r->body.substr(at + 16));
}

TEST_CASE("kefu serve: a 150 MiB chunked POST and gzip, deflate and br bombs grow peak memory by a few MB at most") {
  TempDir tmp;
  KefuProcess server(tmp.path + "/data", tmp.path, {"--quiet", "--no-ip-limits"},
                     {std::string("KEFU_ADMIN_TOKEN=") + kAdmin});
  const int port = server.Start();
  REQUIRE_MESSAGE(port > 0, server.LastStderr());
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  const std::string start = "/v1/desks/hr/conversations";  // public: no authentication needed
  // Warm up with what a normal customer does, so that the baseline includes it.
  for (int i = 0; i < 3; ++i) REQUIRE(c.Post(start.c_str(), "{\"locale\":\"en\"}", "application/json")->status == 201);
  const std::string gzip = ZlibBomb(31), deflate = ZlibBomb(15), brotli = BrotliBomb();
  MESSAGE("bombs: gzip " << gzip.size() << " B, deflate " << deflate.size() << " B, br " << brotli.size()
                         << " B, each inflating to " << (kBombBytes >> 20) << " MiB");
  const int64_t before = PeakRssKb(server.pid());

  CHECK(PostChunked(server.port(), start, size_t{150} << 20) == 413);
  const int64_t after_chunked = PeakRssKb(server.pid());
  CHECK(PostCompressed(port, start, gzip, "gzip") == 415);
  CHECK(PostCompressed(port, start, deflate, "deflate") == 415);
  CHECK(PostCompressed(port, start, brotli, "br") == 415);
  const int64_t after = PeakRssKb(server.pid());
  MESSAGE("peak RSS (VmHWM): " << before << " kB before, " << after_chunked << " kB after the chunked POST, " << after
                               << " kB after the three bombs: +" << (after - before) << " kB");
  CHECK_MESSAGE(after_chunked - before < kMaxGrowthKb, "the chunked POST grew peak memory by " << (after_chunked - before) << " kB");
  CHECK_MESSAGE(after - before < kMaxGrowthKb, "peak memory grew by " << (after - before) << " kB");

  // Refused means refused: nothing was started, and the server serves on.
  CHECK(Conversations(c) == 3);
  CHECK(c.Post(start.c_str(), "{\"locale\":\"en\"}", "application/json")->status == 201);
  CHECK(server.Terminate() == 0);
}

}  // namespace
}  // namespace kefu::testing
