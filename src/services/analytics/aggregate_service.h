// The questions beyond one counter (domain/aggregates.h): pages ranked by clicks, event types, clicks over time.
// Each is validated here, then read from the store on a thread of its own: the reads block on the database, and
// they must never hold a count look-up's worker (a dashboard's burst waits behind the others, bounded). Each answer
// carries the freshness of its snapshot, with its lag behind the event log's end as a count's.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/work_queue.h"
#include "domain/aggregates.h"
#include "ports/aggregate_store.h"

namespace clickstream::analytics {

class AggregateService {
 public:
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;

  // The event log's latest known end, null when unknown (answers' lag is then -1).
  using LogEnd = std::function<std::shared_ptr<const domain::Position>()>;

  // Beyond `queue_depth` questions waiting, a question is answered RESOURCE_EXHAUSTED.
  explicit AggregateService(std::unique_ptr<ports::AggregateStore> store, LogEnd log_end = nullptr,
                            std::size_t queue_depth = 64);
  ~AggregateService();  // answers the questions already queued

  // `done` runs once: on the service's thread with the answer or the store's error, or inline with
  // INVALID_ARGUMENT naming the field (a limit outside 1..domain::kMaxRankLimit, a bad range or zone name) or
  // RESOURCE_EXHAUSTED.
  void TopPages(domain::RankQuery query, Done<domain::PageRanking> done);
  void EventTypeCounts(std::size_t limit, Done<domain::EventTypeRanking> done);
  void ClicksOverTime(domain::SeriesQuery query, Done<domain::ClickSeries> done);

 private:
  // Runs `read` on the thread and hands its answer to `done`, or answers RESOURCE_EXHAUSTED.
  template <typename T>
  void Post(std::function<absl::StatusOr<T>()> read, Done<T> done);

  const std::unique_ptr<ports::AggregateStore> store_;
  const LogEnd log_end_;
  common::WorkQueue work_;  // last: finishes its reads while the store exists
};

}  // namespace clickstream::analytics
