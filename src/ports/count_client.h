// Port: the gateway's client of the analytics service.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tracing.h"
#include "domain/count_query.h"
#include "domain/freshness.h"
#include "domain/position.h"
#include "domain/reconciliation.h"

namespace clickstream::ports {

class CountClient {
 public:
  // One result per pair, in their order; a failure of the whole call gives every pair its status.
  // A pair's count with how fresh it is, or why there is none.
  using Result = absl::StatusOr<domain::Reading>;
  using DoneMany = std::function<void(std::vector<Result>)>;
  // A point on the steady clock (ports::Clock): the look-up's own deadline, fixed when its request arrived.
  using Deadline = std::chrono::steady_clock::time_point;

  virtual ~CountClient() = default;

  // The counts of many pairs in one call, which ends by `deadline` (every pair DEADLINE_EXCEEDED then). `done`
  // runs exactly once, on a client thread, with one result per pair: its count or its own error, or for every pair
  // UNAVAILABLE when the service cannot be reached after the client's retries, DEADLINE_EXCEEDED at `deadline`.
  // `done` must not block. A sampled `trace` goes with the call to the service, under a span of the call.
  // A non-empty `after` asks for counts that include that position (read-your-writes): the service waits for it,
  // within its own bound, and answers each pair UNAVAILABLE carrying the position applied so far
  // (domain::AppliedPositionOf) when the bound passed first.
  virtual void GetCounts(std::vector<domain::CountQuery> pairs, const domain::Position& after, Deadline deadline,
                         const tracing::TraceContext& trace, DoneMany done) = 0;

  // Reconciliation of one pair (AnalyticsService::Reconcile), in a call of its own that ends by `deadline`. `done`
  // runs exactly once, on a client thread, and must not block.
  using ReconcileDone = std::function<void(absl::StatusOr<domain::Reconciliation>)>;
  virtual void Reconcile(domain::CountQuery pair, Deadline deadline, ReconcileDone done) = 0;

  // OK when the service answers its health check within `timeout`.
  virtual absl::Status CheckReady(std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
