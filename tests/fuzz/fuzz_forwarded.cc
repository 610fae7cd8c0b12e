// The forwarded-header path (adapters/client_address.h): trusted-proxy CIDRs, the peer and
// X-Forwarded-For header values are the fuzzer's. Properties: the client is the peer whenever the
// peer is not trusted; any address that comes out is canonical (it parses and prints back as
// itself); nothing crashes, whatever the header holds.
//
// Input: CIDRs separated by spaces, '\n', the peer, '\n', then header values separated by '\n'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/client_address.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kefu::IpAddress;
  using kefu::fuzz::Expect;
  kefu::fuzz::FuzzInput in(data, size);
  std::vector<std::string> cidrs;
  std::string_view line = in.Until('\n');
  while (!line.empty()) {
    const size_t space = line.find(' ');
    cidrs.emplace_back(line.substr(0, space));
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  const std::string peer(in.Until('\n'));
  std::vector<std::string> forwarded;
  for (std::string_view rest = in.Rest(); !rest.empty();) {
    const size_t nl = rest.find('\n');
    forwarded.emplace_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  auto proxies = kefu::TrustedProxies::Parse(cidrs);
  const kefu::TrustedProxies trusted = proxies.ok() ? *proxies : kefu::TrustedProxies();
  const std::string client = trusted.ClientOf(peer, forwarded);
  auto peer_ip = IpAddress::Parse(peer);
  if (!peer_ip) {
    Expect(client == peer);  // not an address (cannot happen from a socket): passed through
    return 0;
  }
  if (!trusted.Contains(*peer_ip)) Expect(client == peer_ip->ToString());
  auto out = IpAddress::Parse(client);
  Expect(out.has_value() && out->ToString() == client);
  return 0;
}
