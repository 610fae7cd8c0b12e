// A raw TCP connection to a kefu server on this machine, for the requests no well-behaved client
// sends (half requests, chunked bombs, forged headers) and to read exactly what the server answers.
#ifndef KEFU_TESTS_HTTP_RAW_SOCKET_H_
#define KEFU_TESTS_HTTP_RAW_SOCKET_H_

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace kefu::testing {

class RawSocket {
 public:
  // Connects to 127.0.0.1:`port` from `source` (any 127.0.0.0/8 address is this machine).
  explicit RawSocket(int port, const char* source = "127.0.0.1") : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  }
  ~RawSocket() { close(fd_); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Sends all of `data`; false when the server has closed or reset the connection.
  bool Send(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // What the server sends until it closes, `limit` bytes arrive, or `seconds` pass in silence.
  std::string Read(int seconds, size_t limit = size_t{1} << 20) {
    timeval tv{seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    ssize_t n;
    while (out.size() < limit && (n = recv(fd_, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  // One response with a Content-Length (headers and body), leaving the connection open for the
  // next request. cpp-httplib 0.11.4 does not serve pipelined requests (the bytes of a second
  // request read along with the first are lost), so a test sends the next request only after this.
  std::string ReadResponse(int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char c;
    while (out.find("\r\n\r\n") == std::string::npos && recv(fd_, &c, 1, 0) == 1) out += c;
    size_t length = 0;
    const size_t at = out.find("\r\nContent-Length: ");
    if (at != std::string::npos) length = std::stoul(out.substr(at + 18));
    std::string body(length, '\0');
    size_t got = 0;
    ssize_t n;
    while (got < length && (n = recv(fd_, body.data() + got, length - got, 0)) > 0) got += static_cast<size_t>(n);
    return out + body.substr(0, got);
  }
  // True when the server has closed the connection: whatever it sent last (a 4xx, say) is
  // followed by end of stream or a reset within 200 ms.
  bool ClosedByServer() {
    timeval tv{0, 200000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    }
  }
  // Half-closes: the server reads end of stream after what was sent.
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
};

// The status of a raw HTTP response ("HTTP/1.1 413 ..." -> 413), 0 when there is none.
inline int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// The body of a raw HTTP response with a Content-Length (the text after the blank line).
inline std::string BodyOf(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

}  // namespace kefu::testing

#endif  // KEFU_TESTS_HTTP_RAW_SOCKET_H_
