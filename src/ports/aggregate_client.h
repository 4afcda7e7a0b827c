// Port: the gateway's client of analytics' aggregate calls (domain/aggregates.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/aggregates.h"

namespace clickstream::ports {

class AggregateClient {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;

  virtual ~AggregateClient() = default;

  // Each ends by `deadline`; `done` runs exactly once, on a client thread, and must not block. A question the
  // service finds invalid is INVALID_ARGUMENT with its reason in the message (the field is not carried).
  virtual void TopPages(const domain::RankQuery& query, Deadline deadline, Done<domain::PageRanking> done) = 0;
  virtual void EventTypeCounts(std::size_t limit, Deadline deadline, Done<domain::EventTypeRanking> done) = 0;
  virtual void ClicksOverTime(const domain::SeriesQuery& query, Deadline deadline, Done<domain::ClickSeries> done) = 0;
};

}  // namespace clickstream::ports
