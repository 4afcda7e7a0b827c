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
  // A point on the steady clock (ports::Clock): the look-up's own deadline, fixed when its request arrived.
  using Deadline = std::chrono::steady_clock::time_point;

  virtual ~CountClient() = default;

  // Asks for the pair's count. `done` runs exactly once, on a client or timer thread (or inline when the answer is
  // known at once: a deadline already passed, a full queue), with the count, UNAVAILABLE when the service cannot be
  // reached after the client's retries, RESOURCE_EXHAUSTED when too many look-ups wait, or DEADLINE_EXCEEDED at
  // `deadline`, which the client keeps whatever the service does: an answer arriving later is dropped. `done` must
  // not block.
  virtual void GetCount(std::string_view user_id, std::string_view page_url, Deadline deadline, Done done) = 0;

  // The counts of many pairs in one call, which ends by `deadline` (every pair DEADLINE_EXCEEDED then); `done` as
  // for GetCount.
  virtual void GetCounts(std::vector<domain::CountQuery> pairs, Deadline deadline, DoneMany done) = 0;

  // OK when the service answers its health check within `timeout`.
  virtual absl::Status CheckReady(std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
