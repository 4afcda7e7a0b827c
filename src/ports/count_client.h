// Port: the gateway's client of the analytics service.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/status/statusor.h"

namespace clickstream::ports {

class CountClient {
 public:
  using Done = std::function<void(absl::StatusOr<int64_t>)>;

  virtual ~CountClient() = default;

  // Asks for the pair's count. `done` runs once, on a client thread, with the count, UNAVAILABLE when the service
  // cannot be reached after the client's retries, or DEADLINE_EXCEEDED at the deadline. `done` must not block.
  virtual void GetCount(std::string_view user_id, std::string_view page_url, Done done) = 0;

  // OK when the service answers its health check within `timeout`.
  virtual absl::Status CheckReady(std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
