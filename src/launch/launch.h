// Composition of each service: its adapters, its options from the Config (derived values computed here, once),
// its metrics, readiness probe and HTTP server. main.cc starts what the command asks for and stops it.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/metrics.h"
#include "launch/running_service.h"

namespace clickstream::launch {

// Each records into `registry`, which must outlive the service.
absl::StatusOr<std::unique_ptr<RunningService>> StartIngestion(const common::Config& config,
                                                               metrics::Registry& registry);
absl::StatusOr<std::unique_ptr<RunningService>> StartProcessor(const common::Config& config,
                                                               metrics::Registry& registry);
absl::StatusOr<std::unique_ptr<RunningService>> StartAnalytics(const common::Config& config,
                                                               metrics::Registry& registry);
absl::StatusOr<std::unique_ptr<RunningService>> StartGateway(const common::Config& config, metrics::Registry& registry);

}  // namespace clickstream::launch
