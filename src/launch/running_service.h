// A service started in this process (`clickstream <command>` or one of the four in `all`), and the one shape its
// shutdown takes: new requests are refused at once, what the service holds is drained within the grace period,
// the service is destroyed while its server still writes the answers that brings, then the server stops.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "adapters/http/http_server.h"
#include "common/tracing.h"
#include "services/common/readiness_probe.h"

namespace clickstream::launch {

// Fields are destroyed last to first: the service parts (which the probe and the server's handlers call) go only
// after Stop, or, on a failed start, after the server that calls them.
struct RunningService {
  // The service's tracer: first, so it outlives the parts and the server that start spans with it.
  std::shared_ptr<const tracing::Tracer> tracer;
  // The service and its adapters, of whatever types: destroyed once drained, before the server stops.
  std::shared_ptr<void> parts;
  std::unique_ptr<services::ReadinessProbe> probe;  // calls into `parts`
  std::unique_ptr<http::HttpServer> server;         // its routes call into `parts` and `probe`
  // Finishes (or fails) what the service holds, within `grace`, while its server still answers.
  std::function<void(std::chrono::milliseconds grace)> drain;

  // Idempotent; the destructor does not stop a running service, so callers stop each in their order.
  void Stop(std::chrono::milliseconds grace);
};

}  // namespace clickstream::launch
