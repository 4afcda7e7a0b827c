// Where the load goes: a base URL (http://IPv4-or-localhost[:port][/prefix]) resolved once into a socket address,
// the Host header to send and the path prefix every request path starts with.
#pragma once

#include <netinet/in.h>

#include <string>
#include <string_view>

namespace clickstream::loadgen {

struct Endpoint {
  sockaddr_in address{};
  std::string host_header;  // "127.0.0.1:8080", as written in the URL
  std::string base_path;    // "" or "/prefix" without a trailing slash
  std::string url;          // the URL as given, for messages
};

// Parses `url` into `out`. Returns an empty string on success, else what is wrong with it. Only plain http with a
// literal IPv4 address or "localhost" (taken as 127.0.0.1): the generator never resolves names, so DNS can never
// stall or skew a run.
std::string ParseEndpoint(std::string_view url, Endpoint& out);

}  // namespace clickstream::loadgen
