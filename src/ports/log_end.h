// Port: where the event log ends, partition by partition (Kafka's high watermarks). With the position the counts
// include, it says how many records still wait to be counted.
#pragma once

#include <chrono>

#include "absl/status/statusor.h"
#include "domain/position.h"

namespace clickstream::ports {

class LogEnd {
 public:
  virtual ~LogEnd() = default;
  // The next offset to be written in every partition of the topic, asked of the brokers; blocking, at most about
  // `timeout` per request. UNAVAILABLE when the brokers do not answer.
  virtual absl::StatusOr<domain::Position> End(std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
