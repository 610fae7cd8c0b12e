#include "adapters/client_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace kefu {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An X-Forwarded-For entry: an address, "[v6]" or "[v6]:port", or "v4:port" (some proxies add the
// client's port).
std::optional<IpAddress> ParseForwarded(std::string_view entry) {
  entry = Trim(entry);
  if (!entry.empty() && entry.front() == '[') {
    const size_t close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = entry.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && AllDigits(rest.substr(1)))) return std::nullopt;
    auto ip = IpAddress::Parse(entry.substr(1, close - 1));
    if (!ip) return std::nullopt;
    return ip;
  }
  const size_t colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    if (!AllDigits(entry.substr(colon + 1))) return std::nullopt;
    entry = entry.substr(0, colon);  // "1.2.3.4:5678"
  }
  return IpAddress::Parse(entry);
}

bool PrefixMatches(const IpAddress& a, const IpAddress& base, int prefix) {
  if (a.v6 != base.v6) return false;
  const int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string z(text);  // inet_pton needs a terminated string
  IpAddress ip;
  if (inet_pton(AF_INET, z.c_str(), ip.bytes.data()) == 1) return ip;
  if (inet_pton(AF_INET6, z.c_str(), ip.bytes.data()) != 1) return std::nullopt;
  if (std::memcmp(ip.bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
    return ip;
  }
  ip.v6 = true;
  return ip;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& cidrs) {
  TrustedProxies out;
  for (const std::string& cidr : cidrs) {
    const std::string_view text = Trim(cidr);
    const size_t slash = text.find('/');
    auto base = IpAddress::Parse(text.substr(0, slash));
    if (!base) return Status::InvalidArgument("trusted proxy '" + cidr + "': expected an address or ADDRESS/PREFIX");
    const int bits = base->v6 ? 128 : 32;
    int prefix = bits;
    if (slash != std::string_view::npos) {
      const std::string_view p = text.substr(slash + 1);
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
      if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 0 || prefix > bits) {
        return Status::InvalidArgument("trusted proxy '" + cidr + "': the prefix must be 0.." + std::to_string(bits));
      }
    }
    out.ranges_.push_back({*base, prefix});
  }
  return out;
}

bool TrustedProxies::Contains(const IpAddress& address) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const Range& r) { return PrefixMatches(address, r.base, r.prefix); });
}

std::string TrustedProxies::ClientOf(std::string_view peer, const std::vector<std::string>& forwarded) const {
  auto current = IpAddress::Parse(peer);
  if (!current) return std::string(peer);
  if (!Contains(*current)) return current->ToString();
  int hops = 0;
  for (auto value = forwarded.rbegin(); value != forwarded.rend(); ++value) {
    std::string_view rest = *value;
    while (!rest.empty()) {
      const size_t comma = rest.rfind(',');
      const std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
      if (Trim(entry).empty()) continue;  // "a,, b": empty list elements are allowed (RFC 9110, 5.6.1)
      auto hop = ParseForwarded(entry);
      if (!hop || ++hops > kMaxHops) return current->ToString();  // the trusted hop that wrote it
      current = hop;
      if (!Contains(*current)) return current->ToString();
    }
  }
  return current->ToString();  // every hop is a trusted proxy: the left-most one
}

}  // namespace kefu
