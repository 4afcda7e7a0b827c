// Port: what a service sees of HTTP. The adapter (adapters/http) owns sockets, parsing and routing; handlers get a
// plain request and answer through `Respond`, possibly later and from another thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/tracing.h"

namespace clickstream::ports {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // decoded query-string parameters
  std::string content_type;                  // empty when absent
  std::string body;
  std::string api_key;               // the X-API-Key header, empty when absent
  std::string authorization;         // the Authorization header, empty when absent
  std::string origin = {};           // the Origin header a browser sends (services/common/cors.h), empty when absent
  tracing::TraceContext trace = {};  // the request's server span (invalid when the server traces nothing)
};

struct HttpResponse {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Must be called exactly once per request; safe from any thread.
using Respond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, Respond)>;

struct HttpRoute {
  std::string method;
  std::string path;
  HttpHandler handler;
};

}  // namespace clickstream::ports
