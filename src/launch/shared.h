// What the launchers of the four services share: an HTTP server with the operations routes, TLS material read at
// start-up, the cache's options, API keys and the event limits, all from the Config.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/http/http_server.h"
#include "adapters/redis/redis_count_cache.h"
#include "common/config.h"
#include "common/metrics.h"
#include "domain/click_event.h"
#include "ports/http.h"
#include "services/common/readiness_probe.h"

namespace clickstream::launch {

inline constexpr std::chrono::milliseconds kProbeInterval{1000};

// Which servers speak TLS when it is configured: the ones clients reach. The processor's and analytics' health
// ports serve only probes and metrics inside the cluster.
enum class Exposure { kPublic, kOperationsOnly };

// Serves `routes` plus /healthz, /readyz and /metrics on `port`; handlers accept bodies up to `max_body_bytes`.
// With a `tracer` (which must outlive the server), each request to `routes` gets a server span.
absl::StatusOr<std::unique_ptr<http::HttpServer>> Serve(const common::Config& config, const std::string& name,
                                                        uint16_t port, std::size_t max_body_bytes,
                                                        std::vector<ports::HttpRoute> routes,
                                                        const services::ReadinessProbe& probe,
                                                        metrics::Registry& registry, Exposure exposure,
                                                        const tracing::Tracer* tracer = nullptr);

// The tracer of `service` over the process's span sink, sampling as the Config says.
std::shared_ptr<const tracing::Tracer> TracerFor(const common::Config& config, const char* service,
                                                 std::shared_ptr<tracing::SpanSink> spans);

// A PEM file a setting names, read at start-up into `text` (left empty when the setting is); `path` is the
// setting's own field of the Config, so errors name the setting.
struct PemFile {
  std::string* text;
  const std::string& path;
};
absl::Status ReadPems(const common::Config& config, std::initializer_list<PemFile> files);

redis::RedisOptions CacheOptions(const common::Config& config, metrics::Registry& registry);

// The API keys a service accepts from the setting `keys` (a field of `config`), logged by count only.
absl::StatusOr<std::vector<std::string>> LoadKeys(const char* service, const common::Config& config,
                                                  const std::string& keys);

// The limits every service checks events and look-ups against.
domain::EventLimits EventLimitsOf(const common::Config& config);

}  // namespace clickstream::launch
