// Processor: the consumer-group loop. For each batch of records: invalid records go to the dead-letter topic, the
// valid ones are applied in one database transaction (effectively-once by event_id), the cache is raised to the
// new counts, and only then are the offsets committed. A crash anywhere before the commit redelivers the batch,
// which the store deduplicates, so counts stay exact. The cache update and offset commit of a batch run on a second
// thread while the next batch is polled and stored: the database, the slowest step, is kept busy, and a batch's
// offsets are still committed only after its own transaction and cache update.
//
// Two rules keep one bad event or one unreachable cache from costing an acknowledged count:
// - A batch the database refuses for good (INVALID_ARGUMENT: a value it can never store) is split in halves until
//   each refused event stands alone; those go to the dead-letter topic with the database's reason, the rest is
//   applied, and the partition moves on. Only transient failures are retried as they are.
// - Offsets are committed only once the cache holds the counts of the records below them. While the cache is
//   unreachable the counts wait in memory and the offsets stay uncommitted, so the "cache may be stale" state is
//   durable in the consumer group itself: a processor that restarts meanwhile gets those records again, finds
//   them already counted, and raises the cache to their counts once it is reachable.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "common/metrics.h"
#include "common/tracing.h"
#include "domain/batch.h"
#include "ports/count_cache.h"
#include "ports/event_store.h"
#include "ports/record_source.h"

namespace clickstream::processor {

struct ProcessorOptions {
  std::string topic = "clicks";
  std::size_t batch_max_records = 20000;  // as CLICKSTREAM_BATCH_MAX_RECORDS's default
  std::chrono::milliseconds batch_wait{100};
  domain::EventLimits limits;
  // Counts that could not be written to the cache are kept to retry; beyond this many the cache is emptied
  // instead once it is reachable again.
  std::size_t pending_cache_repairs = 100000;
  // Readiness fails when no batch was applied for this long while records wait.
  std::chrono::milliseconds stall_timeout{60000};
  std::chrono::milliseconds dead_letter_timeout{5000};
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{5000};
  metrics::Registry* metrics = nullptr;  // must outlive the service when set
  // When set, a batch holding records of sampled traces is recorded in each of those traces (the first
  // max_traced_records of them in the batch, so a batch costs at most 3 * 256 spans; at the default 1% sampling a
  // full batch of 20,000 holds about 200): applying it, its database transaction and its cache update.
  const tracing::Tracer* tracer = nullptr;
  std::size_t max_traced_records = 256;
};

class ProcessorService {
 public:
  ProcessorService(ProcessorOptions options, std::unique_ptr<ports::RecordSource> source,
                   std::unique_ptr<ports::DeadLetters> dead_letters, std::unique_ptr<ports::EventStore> store,
                   std::unique_ptr<ports::CountCache> cache, std::function<int64_t()> now_us = domain::NowMicros);
  ~ProcessorService();

  // Starts the loop on a thread of its own.
  void Start();
  // Finishes the batch in hand (or abandons it uncommitted if the database is down) and stops the loop.
  void Stop();

  // One iteration: poll a batch, wait for the previous batch's cache update and offset commit, store the batch, then
  // hand its cache update and offset commit to the finishing thread (which overlaps the next poll). Returns the number
  // of records handled; used by Start's loop and by tests. A batch that cannot be stored is retried here with backoff
  // until it is stored or Stop is called.
  std::size_t ProcessOnce();
  // Waits until every stored batch's cache update and offset commit are done.
  void Flush();

  // Not ready when the database cannot be reached, the group coordinator cannot, or records have waited longer
  // than stall_timeout without a batch being applied.
  absl::Status CheckReady();
  // Only the last of those: for a consumer whose database and broker another consumer's CheckReady covers.
  absl::Status CheckProgress();
  // Seconds since the processor last applied a batch or found nothing to apply, while records wait; 0 when none
  // wait. Thread-safe.
  double StalledSeconds();
  // Records not yet consumed per assigned partition (see RecordSource::Lag).
  std::map<int32_t, int64_t> Lag() { return source_->Lag(); }

 private:
  // What is left of a stored batch: raising the cache to its counts, then committing its offsets.
  struct Finish {
    std::vector<domain::PageCount> counts;
    std::vector<domain::PartitionOffset> next_offsets;
    std::vector<tracing::TraceContext> traces;  // the batch's apply spans in sampled traces
    int64_t newest_event_time_us = 0;           // the newest time_stamp among its events; 0 when none
  };
  // A batch as stored: its counts, the events counted for the first time and the events refused for good.
  struct Stored {
    ports::AppliedBatch applied;
    std::size_t refused = 0;
  };
  void HandOver(Finish finish);  // waits until the finishing thread is free
  void RunFinisher();
  void FinishBatch(Finish finish);
  bool SendDeadLetters(const std::vector<domain::PoisonRecord>& poison);
  // Stores the batch, isolating events the database refuses for good; nullopt when Stop was called meanwhile.
  std::optional<Stored> Store(const std::vector<domain::Record>& records, const domain::Batch& batch);
  // Applies `events`, retrying transient failures with backoff: the result, INVALID_ARGUMENT when the store
  // refuses them for good, or CANCELLED when Stop was called meanwhile.
  absl::StatusOr<ports::AppliedBatch> ApplyRetrying(const std::vector<domain::ClickEvent>& events,
                                                    const std::vector<domain::PartitionOffset>& next_offsets);
  // Applies events[begin, end) in halves until each refused event stands alone, and dead-letters those. Adds what
  // was applied to `stored`; false when Stop was called meanwhile.
  bool Isolate(const std::vector<domain::Record>& records, const domain::Batch& batch, std::size_t begin,
               std::size_t end, Stored& stored);
  void Record(const std::vector<domain::Record>& records, const domain::Batch& batch, const Stored& stored);
  // Records the batch's apply (from `start_us`) and its transaction (from `store_start_us`) in the sampled traces
  // its records carry; returns the apply spans, under which the cache update is recorded later.
  std::vector<tracing::TraceContext> Trace(const std::vector<domain::Record>& records, const Stored& stored,
                                           int64_t start_us, int64_t store_start_us) const;
  // True when the cache now holds every count handed to it so far.
  bool UpdateCache(std::vector<domain::PageCount> counts);
  void MarkProgress() { last_progress_us_.store(now_us_()); }
  // Sleeps for the current backoff, doubling it; false when Stop was called meanwhile.
  bool Backoff(std::chrono::milliseconds& delay);

  const ProcessorOptions options_;
  const std::unique_ptr<ports::RecordSource> source_;
  const std::unique_ptr<ports::DeadLetters> dead_letters_;
  const std::unique_ptr<ports::EventStore> store_;
  const std::unique_ptr<ports::CountCache> cache_;
  const std::function<int64_t()> now_us_;

  std::unique_ptr<metrics::Registry> own_metrics_;  // used when the options bring none; before its users
  struct Metrics;
  const std::unique_ptr<Metrics> metrics_;

  // Counts the cache missed while unreachable, by (user_id, page_url); only the finishing thread uses them.
  std::map<std::pair<std::string, std::string>, int64_t> pending_cache_;
  bool invalidate_cache_ = false;
  // Offsets stored but not committed because the cache does not yet hold their counts; finishing thread only.
  std::map<int32_t, int64_t> uncommitted_;
  int64_t uncommitted_newest_us_ = 0;  // the newest time_stamp among their events

  std::atomic<int64_t> last_progress_us_;  // when a batch was last applied or a poll found nothing

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  std::atomic<bool> stopping_{false};

  std::mutex finish_mutex_;
  std::condition_variable finish_changed_;
  std::optional<Finish> finish_;  // handed over, not yet taken by the finishing thread
  bool finishing_ = false;        // the finishing thread is working on a batch
  bool finisher_stopping_ = false;
  std::thread finisher_;  // started by the constructor: ProcessOnce needs it with or without Start
  std::thread thread_;
};

}  // namespace clickstream::processor
