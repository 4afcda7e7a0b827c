// Parsing of base URLs into Endpoint (see endpoint.h).
#include "endpoint.h"

#include <arpa/inet.h>

#include <charconv>

namespace clickstream::loadgen {

std::string ParseEndpoint(std::string_view url, Endpoint& out) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return "must start with http:// (https is not supported)";
  std::string_view rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (path.find_first_of("?#") != std::string_view::npos) return "must not have a query or fragment";
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);

  const std::size_t colon = authority.find(':');
  const std::string host(authority.substr(0, colon));
  int port = 80;
  if (colon != std::string_view::npos) {
    const std::string_view digits = authority.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535) {
      return "has an invalid port (expected 1-65535)";
    }
  }

  Endpoint endpoint;
  endpoint.address.sin_family = AF_INET;
  endpoint.address.sin_port = htons(static_cast<uint16_t>(port));
  const std::string literal = host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, literal.c_str(), &endpoint.address.sin_addr) != 1) {
    return "host must be an IPv4 address or localhost";
  }
  endpoint.host_header = std::string(authority);
  endpoint.base_path = std::string(path);
  endpoint.url = std::string(url);
  out = std::move(endpoint);
  return {};
}

}  // namespace clickstream::loadgen
