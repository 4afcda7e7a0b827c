// Analytics: the count of a (user_id, page_url) pair, cache-aside over Redis with PostgreSQL on a miss. Refills use
// the cache's monotonic max-write, so a reader can never put back a count older than one the processor wrote.
// With Redis unreachable, answers come from PostgreSQL (a warning in the log, a counter). Look-ups block on
// Redis and PostgreSQL, so they run on a small pool of workers with a bounded queue, never on the caller's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "common/tracing.h"
#include "domain/click_event.h"
#include "domain/count_query.h"
#include "domain/freshness.h"
#include "domain/reconciliation.h"
#include "ports/count_cache.h"
#include "ports/event_store.h"
#include "ports/log_end.h"
#include "services/analytics/drift_check.h"
#include "services/analytics/log_end_watch.h"
#include "services/analytics/position_watch.h"

namespace clickstream::analytics {

struct AnalyticsOptions {
  std::size_t workers = 4;
  std::size_t queue_depth = 1024;
  domain::EventLimits limits;
  metrics::Registry* metrics = nullptr;  // must outlive the service when set
  std::size_t max_pairs = 1000;          // per GetCounts call
  // When set, the cache and database reads of a call in a sampled trace are recorded in it; must outlive the service.
  const tracing::Tracer* tracer = nullptr;
  // A call that names a position waits at most this long for the processor to apply it.
  std::chrono::milliseconds position_wait{2000};
  PositionWatchOptions position_watch = {};
  std::chrono::milliseconds log_end_interval{500};  // how often the event log's end is read, for lag
  DriftCheckOptions drift_check = {};               // its metrics go to `metrics`
};

class AnalyticsService {
 public:
  // A count with how fresh it is, or why there is none.
  using Result = absl::StatusOr<domain::Reading>;
  using Done = std::function<void(Result)>;
  using DoneMany = std::function<void(std::vector<Result>)>;

  // Without `log_end`, answers say their lag is unknown.
  AnalyticsService(AnalyticsOptions options, std::unique_ptr<ports::CountCache> cache,
                   std::unique_ptr<ports::CountStore> store, std::unique_ptr<ports::LogEnd> log_end = nullptr);
  // Finishes the queued look-ups, then joins the workers.
  ~AnalyticsService();

  // Validates and queues a look-up. `done` runs once: on a worker thread with the count or the store's error, or
  // inline with INVALID_ARGUMENT, or RESOURCE_EXHAUSTED when the queue is full.
  void GetCount(std::string user_id, std::string page_url, const Done& done);

  // Many look-ups as one task: one cache round trip for all pairs, one database round trip for all the misses.
  // `done` runs once with a result per pair in their order (INVALID_ARGUMENT for an invalid pair), on a worker
  // thread, or inline for every pair: RESOURCE_EXHAUSTED when the queue is full, INVALID_ARGUMENT when the call
  // holds more than max_pairs pairs (CheckCallSize). The reads are recorded under `trace` when it is sampled.
  //
  // Read-your-writes: with a non-empty `after`, the look-ups wait (on the position watch, not on a worker) until
  // the stored counts include `after`, then read the database, never the cache, which the processor raises only
  // after its commit. Past position_wait every pair is UNAVAILABLE, carrying the position applied so far.
  void GetCounts(std::vector<domain::CountQuery> pairs, const tracing::TraceContext& trace, DoneMany done,
                 domain::Position after = {});

  // Reconciliation of one pair: the cache's count, then the pair's counter and raw rows in one database snapshot
  // (in that order, so the cache is compared with a state at least as new as the one it was read from). `done`
  // runs once: on a worker, or inline with INVALID_ARGUMENT for an invalid pair or RESOURCE_EXHAUSTED when the
  // queue is full. A cache that cannot be read leaves `cached` unset.
  using ReconcileDone = std::function<void(absl::StatusOr<domain::Reconciliation>)>;
  void Reconcile(domain::CountQuery pair, ReconcileDone done);

  // INVALID_ARGUMENT when a call of `pairs` pairs is beyond max_pairs: one call must not occupy a worker and the
  // database for long. A protocol handler refuses such a call whole with this status.
  absl::Status CheckCallSize(std::size_t pairs) const;

  // The blocking look-ups themselves, each pair validated here once: cache (unless `from_database`), else database
  // then refill.
  std::vector<Result> LookUpMany(const std::vector<domain::CountQuery>& pairs, const tracing::TraceContext& trace,
                                 bool from_database = false);
  // Records a read of `pairs` pairs from `start_us` to now under `trace`, when it is sampled and a tracer is set.
  void RecordRead(const tracing::TraceContext& trace, std::string_view name, std::string_view system, int64_t start_us,
                  std::size_t pairs, const absl::Status& outcome) const;

  absl::Status CheckReady();
  // The event log's latest known end (LogEndWatch::Latest), null when unknown or without a LogEnd: the lag of
  // other answers is measured against it too.
  std::shared_ptr<const domain::Position> LogEnd() const;
  uint64_t cache_hits() const { return cache_hits_.Value(); }
  uint64_t cache_errors() const { return cache_errors_.Value(); }

 private:
  bool Enqueue(std::function<void()> task);  // false when the queue is full or the service stops
  void Work();
  void WarnDegraded(const absl::Status& status);
  absl::StatusOr<domain::Reconciliation> ReconcileNow(const domain::CountQuery& pair);
  // `freshness` with its lag behind the log's latest known end, to be shared by the counts read with it.
  std::shared_ptr<const domain::Freshness> Shared(domain::Freshness freshness) const;

  const AnalyticsOptions options_;
  const std::unique_ptr<ports::CountCache> cache_;
  const std::unique_ptr<ports::CountStore> store_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // before its users
  metrics::Counter& cache_hits_;
  metrics::Counter& cache_misses_;
  metrics::Counter& cache_errors_;  // Redis unreachable: answered from PostgreSQL
  std::atomic<int64_t> last_degraded_warning_ns_{0};

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;            // started after everything they use
  std::unique_ptr<LogEndWatch> log_end_watch_;  // null without a LogEnd
  std::unique_ptr<DriftCheck> drift_check_;
  // Last: destroyed first, answering its waiters while the queue still takes their look-ups.
  std::unique_ptr<PositionWatch> position_watch_;
};

}  // namespace clickstream::analytics
