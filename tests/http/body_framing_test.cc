// Issue 15, item 1, over real sockets: every route's body limit holds whatever the framing
// (adapters/body_guard.h). Chunked bodies are read up to the route's limit (the KB upload's 4 MiB
// too); over it they are discarded and answered 413 on a connection that stays usable; compressed
// and multipart bodies are 415 and never inflated or parsed; framings kefu cannot delimit close
// the connection. The memory side, against `kefu serve` itself: tests/abuse/body_bombs_test.cc.
#include <doctest/doctest.h>
#include <zlib.h>

#include <fstream>
#include <iterator>

#include "tests/http/http_fixture.h"
#include "tests/http/raw_socket.h"

namespace kefu::testing {
namespace {

// `body` as chunks of at most `piece` bytes, with the final empty chunk.
std::string Chunked(const std::string& body, size_t piece = 1000) {
  std::string out;
  char size[32];
  for (size_t at = 0; at < body.size(); at += piece) {
    const std::string part = body.substr(at, piece);
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

std::string Gzip(const std::string& text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(text.size() + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Head(const std::string& method, const std::string& path, const std::string& headers,
                 const std::string& token = "") {
  std::string h = method + " " + path + " HTTP/1.1\r\nHost: kefu\r\nContent-Type: application/json\r\n";
  if (!token.empty()) h += "Authorization: Bearer " + token + "\r\n";
  return h + headers + "\r\n";
}

// The connection serves another request after a refusal.
void ExpectUsable(RawSocket& raw) {
  REQUIRE(raw.Send("GET /healthz HTTP/1.1\r\nHost: kefu\r\n\r\n"));
  const std::string next = raw.ReadResponse(10);
  CHECK(StatusOf(next) == 200);
  CHECK(BodyOf(next) == "{\"status\":\"ok\"}");
}

size_t Conversations(TestServer& server) {
  auto stats = server.engine->Stats("shop");
  REQUIRE(stats.ok());
  return static_cast<size_t>(stats->conversations);
}

TEST_CASE("a chunked body within the route's limit is served like any other; the KB upload's limit holds too") {
  TestServer server;
  RawSocket raw(server.port);
  const std::string start = R"({"locale":"en"})";
  REQUIRE(raw.Send(Head("POST", "/v1/desks/shop/conversations", "Transfer-Encoding: chunked\r\nConnection: close\r\n") +
                   Chunked(start, 4)));
  const std::string response = raw.Read(10);
  CHECK(StatusOf(response) == 201);
  CHECK(BodyOf(response).find("customer_token") != std::string::npos);

  // A KB of ~100 KiB, chunked: over the JSON routes' 64 KiB, under the upload's 4 MiB.
  std::ifstream in(std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json");
  std::string kb((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t pad = kb.size() < (100u << 10) ? (100u << 10) - kb.size() : 0;
  kb.append(pad, ' ');
  RawSocket upload(server.port);
  REQUIRE(upload.Send(Head("PUT", "/v1/admin/desks/shop/kb", "Transfer-Encoding: chunked\r\nConnection: close\r\n",
                           kAdminToken) + Chunked(kb, 8192)));
  const std::string uploaded = upload.Read(30);
  CHECK_MESSAGE(StatusOf(uploaded) == 200, uploaded.substr(0, 300));
}

TEST_CASE("a chunked body over the route's limit is 413, nothing happens, and the connection stays usable") {
  TestServer server;
  auto c = server.Client();
  Customer who = StartConversation(*c);
  RawSocket raw(server.port);
  const std::string big = "{\"text\":\"" + std::string(200u << 10, 'a') + "\"}";
  REQUIRE(raw.Send(Head("POST", "/v1/conversations/" + who.id + "/messages", "Transfer-Encoding: chunked\r\n", who.token) +
                   Chunked(big, 16384)));
  const std::string refused = raw.ReadResponse(10);
  CHECK(StatusOf(refused) == 413);
  CHECK(refused.find("payload_too_large") != std::string::npos);
  ExpectUsable(raw);
  auto view = Json(c->Get(("/v1/conversations/" + who.id).c_str(), Bearer(who.token)));
  CHECK(view["conversation"]["last_seq"].GetUint64() == 1);  // the welcome only
}

TEST_CASE("compressed and multipart bodies are 415 and never inflated; the connection stays usable") {
  TestServer server;
  const size_t before = Conversations(server);
  const std::string json = R"({"locale":"en"})";
  for (const char* encoding : {"gzip", "deflate", "br", "x-gzip", "compress", "gzip, identity"}) {
    RawSocket raw(server.port);
    const std::string body = Gzip(json);
    REQUIRE(raw.Send(Head("POST", "/v1/desks/shop/conversations",
                          std::string("Content-Encoding: ") + encoding + "\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\n") + body));
    const std::string refused = raw.ReadResponse(10);
    CHECK_MESSAGE(StatusOf(refused) == 415, encoding << ": " << refused.substr(0, 200));
    CHECK(refused.find("unsupported_media_type") != std::string::npos);
    ExpectUsable(raw);
  }
  RawSocket multipart(server.port);
  const std::string form = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" + std::string(1000, 'x') + "\r\n--b--\r\n";
  REQUIRE(multipart.Send("POST /v1/desks/shop/conversations HTTP/1.1\r\nHost: kefu\r\nContent-Type: multipart/form-data; "
                         "boundary=b\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + Chunked(form)));
  CHECK(StatusOf(multipart.Read(10)) == 415);
  // identity is no encoding at all.
  RawSocket identity(server.port);
  REQUIRE(identity.Send(Head("POST", "/v1/desks/shop/conversations", "Content-Encoding: identity\r\nContent-Length: " +
                                 std::to_string(json.size()) + "\r\nConnection: close\r\n") + json));
  CHECK(StatusOf(identity.Read(10)) == 201);
  CHECK(Conversations(server) == before + 1);
}

TEST_CASE("framings kefu cannot delimit are refused at once and the connection closes") {
  TestServer server;
  const size_t before = Conversations(server);
  const std::string path = "/v1/desks/shop/conversations";
  struct Case {
    std::string headers;
    int status;
  };
  const Case cases[] = {
      {"Transfer-Encoding: gzip, chunked\r\n", 501},
      {"Transfer-Encoding: identity\r\n", 501},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 501},
      {"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", 400},
      {"Content-Length: 2\r\nContent-Length: 3\r\n", 400},
      {"Content-Length: 2x\r\n", 400},
      {"Content-Length: -2\r\n", 400},
  };
  for (const Case& k : cases) {
    RawSocket raw(server.port);
    REQUIRE(raw.Send(Head("POST", path, k.headers) + "{}"));
    const std::string response = raw.Read(10);
    CHECK_MESSAGE(StatusOf(response) == k.status, k.headers << " -> " << response.substr(0, 200));
    CHECK(response.find("\"error\"") != std::string::npos);
    CHECK(raw.ClosedByServer());
  }
  // A Content-Length beyond what kefu would even discard: refused before a byte of the body.
  RawSocket huge(server.port);
  REQUIRE(huge.Send(Head("POST", path, "Content-Length: 100000000000\r\n")));
  CHECK(StatusOf(huge.Read(10)) == 413);
  // PRI has no route and cpp-httplib would read its body whole.
  RawSocket pri(server.port);
  REQUIRE(pri.Send("PRI /x HTTP/1.1\r\nHost: kefu\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunked(std::string(5000, 'x'))));
  CHECK(StatusOf(pri.Read(10)) == 405);
  CHECK(Conversations(server) == before);
}

TEST_CASE("a body on an unknown route is discarded and the router answers") {
  TestServer server;
  RawSocket raw(server.port);
  REQUIRE(raw.Send(Head("POST", "/v1/nothing/here", "Transfer-Encoding: chunked\r\n") + Chunked(std::string(300000, 'x'), 30000)));
  CHECK(StatusOf(raw.ReadResponse(10)) == 404);
  REQUIRE(raw.Send(Head("DELETE", "/v1/desks/shop/conversations", "Content-Length: 2\r\n") + "{}"));
  CHECK(StatusOf(raw.ReadResponse(10)) == 405);
  ExpectUsable(raw);
}

}  // namespace
}  // namespace kefu::testing
