// Composition of each service: its adapters, its options from the Config (derived values computed here, once),
// its metrics, readiness probe and HTTP server. main.cc starts what the command asks for and stops it.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/tracing.h"
#include "launch/running_service.h"

namespace clickstream::launch {

// Each records metrics into `registry`, which must outlive the service, and its spans into `spans` (null: none).
absl::StatusOr<std::unique_ptr<RunningService>> StartIngestion(const common::Config& config,
                                                               metrics::Registry& registry,
                                                               std::shared_ptr<tracing::SpanSink> spans);
absl::StatusOr<std::unique_ptr<RunningService>> StartProcessor(const common::Config& config,
                                                               metrics::Registry& registry,
                                                               std::shared_ptr<tracing::SpanSink> spans);
absl::StatusOr<std::unique_ptr<RunningService>> StartAnalytics(const common::Config& config,
                                                               metrics::Registry& registry,
                                                               std::shared_ptr<tracing::SpanSink> spans);
absl::StatusOr<std::unique_ptr<RunningService>> StartGateway(const common::Config& config, metrics::Registry& registry,
                                                             std::shared_ptr<tracing::SpanSink> spans);

// The process's span sink, shared by its services: a Zipkin exporter, or null when no endpoint is configured.
absl::StatusOr<std::shared_ptr<tracing::SpanSink>> SpanSinkFor(const common::Config& config,
                                                               metrics::Registry& registry);

}  // namespace clickstream::launch
