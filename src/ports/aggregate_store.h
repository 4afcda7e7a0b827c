// The port over the aggregates beyond one counter (domain/aggregates.h), read by analytics.
#pragma once

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/aggregates.h"

namespace clickstream::ports {

class AggregateStore {
 public:
  virtual ~AggregateStore() = default;

  // Each reads in one snapshot, blocking, on the caller's thread; thread-safe. The answer's freshness is the
  // snapshot's (source database, the applied position, newest event time and age; lag unknown). Queries are valid
  // (domain's Validate*). INVALID_ARGUMENT naming the field for a cursor this store never gave (`after`) or a time zone
  // it does not know; otherwise errors as CountStore::GetMany.
  virtual absl::StatusOr<domain::PageRanking> TopPages(const domain::RankQuery& query) = 0;
  // The `limit` event types with the most clicks, most first.
  virtual absl::StatusOr<domain::EventTypeRanking> EventTypeCounts(std::size_t limit) = 0;
  virtual absl::StatusOr<domain::ClickSeries> ClicksOverTime(const domain::SeriesQuery& query) = 0;
};

}  // namespace clickstream::ports
