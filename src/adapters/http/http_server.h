// HTTP server adapter over RESTinio: owns the sockets, parses requests, routes them by method and path to the
// services' handlers and writes their answers, which may come later from another thread (ingestion answers after
// the broker's acknowledgement). Unknown paths answer 404, known paths with another method 405, both as JSON; HEAD
// is answered like GET without the body. What breaks HTTP framing itself (a malformed request line or header, a
// bad chunk, conflicting Content-Length and Transfer-Encoding, limits past the hard ones below) cannot be answered
// reliably and closes the connection; so does a request asking for a protocol upgrade, after its answer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "common/tracing.h"
#include "ports/http.h"

namespace clickstream::http {

struct HttpServerOptions {
  std::string name;  // for logs: "ingestion", "gateway", ...
  std::string address = "0.0.0.0";
  uint16_t port = 0;
  std::size_t threads = 1;
  // The largest body a handler may accept; handlers answer a larger one 413 with JSON. RESTinio's parser has a
  // hard limit four times higher plus 4 KiB: a body over that (declared or streamed in chunks) makes the parser
  // close the connection without an answer, as it gives no way to write one, and reading the body only to refuse
  // it would let any client make us buffer it.
  std::size_t max_body_bytes = 1 << 20;
  // Header fields beyond these answer 431 with JSON. Four times either limit (and, whatever the setting, the
  // request line and headers beyond http_parser's compiled-in 80 KiB) makes the parser close the connection, so
  // what one connection can make us hold stays bounded. The request target may be up to 4 * max_header_bytes.
  std::size_t max_header_bytes = 16384;  // names and values of all header fields together
  std::size_t max_headers = 100;
  // Open connections; beyond it new ones are not accepted and wait in the kernel's backlog. With the hard body
  // limit it bounds what clients can make the server buffer: about max_connections * max_body_bytes.
  std::size_t max_connections = 1024;
  // Longest a client may take to send one whole request, request line to the last body byte, and longest a
  // kept-alive connection may stay idle; past it the connection is closed (slow or stalled clients).
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds handle_timeout{30000};  // longest a handler may take to respond
  // PEM certificate chain and its private key: when set, the server speaks HTTPS (TLS 1.2 or later) and nothing
  // else. The read timeout starts once the TLS handshake is done (RESTinio 0.6 sets no timer before it).
  std::string tls_cert_chain_pem;
  std::string tls_private_key_pem;
  // Requests by route and status, and their latency, go here when set; it must outlive the server.
  metrics::Registry* metrics = nullptr;
  // When set, each request handed to a handler gets a server span, continuing the trace of its `traceparent`
  // header; it must outlive the server.
  const tracing::Tracer* tracer = nullptr;
};

class HttpServer {
 public:
  // Binds and starts serving on `options.threads` I/O threads; fails if the address cannot be bound or the TLS
  // certificate or key is not usable.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           std::vector<ports::HttpRoute> routes);
  virtual ~HttpServer() = default;
  // The port the server listens on: options.port, or the one the system chose when that was 0.
  virtual uint16_t port() const = 0;
  // Shutdown, in this order: StopAccepting, let the service finish (or fail) what it holds, WaitIdle, destroy the
  // service, Stop. Each is idempotent.

  // Every request from now on is answered 503 at once without reaching a handler (readiness too, so a load
  // balancer stops sending traffic); requests already handed to a handler are still answered as they finish.
  virtual void StopAccepting() = 0;
  // Waits up to `timeout` until every request handed to a handler has been answered; false if some have not.
  virtual bool WaitIdle(std::chrono::milliseconds timeout) = 0;
  // Closes connections and joins the I/O threads. An answer a handler gives after this is dropped (the client
  // connection is gone): it never touches the stopped server.
  virtual void Stop() = 0;
};

}  // namespace clickstream::http
