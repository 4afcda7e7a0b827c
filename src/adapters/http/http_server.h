// HTTP server adapter over RESTinio: owns the sockets, parses requests, routes them by method and path to the
// services' handlers and writes their answers, which may come later from another thread (ingestion answers after
// the broker's acknowledgement). Unknown paths answer 404, known paths with another method 405, both as JSON.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "ports/http.h"

namespace clickstream::http {

struct HttpServerOptions {
  std::string name;  // for logs: "ingestion", "gateway", ...
  std::string address = "0.0.0.0";
  uint16_t port = 0;
  std::size_t threads = 1;
  // Hard limit of RESTinio's parser; handlers check their own (smaller) limits to answer 413 with JSON.
  std::size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds handle_timeout{30000};  // longest a handler may take to respond
  // Requests by route and status, and their latency, go here when set; it must outlive the server.
  metrics::Registry* metrics = nullptr;
};

class HttpServer {
 public:
  // Binds and starts serving on `options.threads` I/O threads; fails if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           std::vector<ports::HttpRoute> routes);
  virtual ~HttpServer() = default;
  // Stops accepting, closes connections, joins the I/O threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace clickstream::http
