// Port: the gateway's client of the analytics service.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/count_query.h"

namespace clickstream::ports {

class CountClient {
 public:
  using Done = std::function<void(absl::StatusOr<int64_t>)>;
  // One result per pair, in their order; a failure of the whole call gives every pair its status.
  using DoneMany = std::function<void(std::vector<absl::StatusOr<int64_t>>)>;

  virtual ~CountClient() = default;

  // Asks for the pair's count. `done` runs once, on a client thread, with the count, UNAVAILABLE when the service
  // cannot be reached after the client's retries, or DEADLINE_EXCEEDED at the deadline. `done` must not block.
  virtual void GetCount(std::string_view user_id, std::string_view page_url, Done done) = 0;

  // The counts of many pairs in one call; `done` as for GetCount.
  virtual void GetCounts(std::vector<domain::CountQuery> pairs, DoneMany done) = 0;

  // OK when the service answers its health check within `timeout`.
  virtual absl::Status CheckReady(std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
