// The client's address behind reverse proxies. Every per-address budget, the logs and the metrics
// key on it. Behind nginx or a load balancer every request comes from the proxy's address, so
// the operator names the proxies (`kefu serve --trusted-proxy CIDR`, or "trusted_proxies" in
// kefu.json); then, and only for requests whose peer is one of them, the client is the right-most
// address of X-Forwarded-For that is not itself a trusted proxy. Anyone else's X-Forwarded-For is
// ignored: a client cannot choose its own address.
//
//   peer 10.0.0.5 (trusted), X-Forwarded-For: 6.6.6.6, 203.0.113.9   -> 203.0.113.9
//   peer 10.0.0.5 (trusted), X-Forwarded-For: 203.0.113.9, 10.0.0.7  -> 203.0.113.9 (10.0.0.7 trusted)
//   peer 198.51.100.2 (not trusted), any X-Forwarded-For              -> 198.51.100.2
//
// An entry that is not an address (garbage, "unknown") ends the walk: the client is then the
// trusted hop that wrote it. Addresses come out canonical (inet_ntop), so "::FFFF:1.2.3.4",
// "[::ffff:1.2.3.4]:80" and "1.2.3.4" are one budget; IPv4-mapped IPv6 is IPv4.
#ifndef KEFU_ADAPTERS_CLIENT_ADDRESS_H_
#define KEFU_ADAPTERS_CLIENT_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

// An IPv4 or IPv6 address (IPv4-mapped IPv6 is stored as IPv4).
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4: the first 4

  // "1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4"; std::nullopt for anything else (no ports, no
  // brackets, no zone ids).
  static std::optional<IpAddress> Parse(std::string_view text);
  std::string ToString() const;
};

class TrustedProxies {
 public:
  // No proxy is trusted: X-Forwarded-For is always ignored.
  TrustedProxies() = default;

  // Parses "10.0.0.0/8", "192.168.1.7" (one address), "fd00::/8". InvalidArgument naming the
  // entry for anything else (a prefix longer than the address, a host part set is allowed and
  // ignored).
  static Result<TrustedProxies> Parse(const std::vector<std::string>& cidrs);

  bool empty() const { return ranges_.empty(); }
  bool Contains(const IpAddress& address) const;

  // The client of a request from `peer` that carries the X-Forwarded-For header values
  // `forwarded` (in the order received). `peer` itself (canonical when it parses) unless it is
  // trusted. At most kMaxHops entries are read, from the right.
  std::string ClientOf(std::string_view peer, const std::vector<std::string>& forwarded) const;

  static constexpr int kMaxHops = 32;

 private:
  struct Range {
    IpAddress base;
    int prefix = 0;  // bits
  };
  std::vector<Range> ranges_;
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_CLIENT_ADDRESS_H_
