#include "services/processor/processor_service.h"

#include <algorithm>

#include "common/log.h"
#include "domain/dead_letter.h"

namespace clickstream::processor {

struct ProcessorService::Metrics {
  explicit Metrics(metrics::Registry& r)
      : records(r.GetCounter("clickstream_processor_records_total", "records consumed from the topic")),
        counted(r.GetCounter("clickstream_processor_events_counted_total", "events stored and counted")),
        duplicates(r.GetCounter("clickstream_processor_duplicates_total",
                                "valid events not counted because their event_id was already counted")),
        dead_letters(r.GetCounter("clickstream_processor_dead_letters_total",
                                  "invalid records written to the dead-letter topic")),
        refused(r.GetCounter("clickstream_processor_refused_events_total",
                             "valid events the database refused for good, written to the dead-letter topic")),
        batch_records(
            r.GetHistogram("clickstream_processor_batch_records", "records per applied batch", metrics::SizeBuckets())),
        freshness(r.GetHistogram("clickstream_freshness_seconds",
                                 "time from a record's Kafka timestamp to its count being committed",
                                 metrics::LatencyBuckets())),
        late(r.GetCounter("clickstream_processor_late_events_total",
                          "valid events whose time_stamp is more than CLICKSTREAM_EVENT_LATE_AFTER_S older than their "
                          "record's broker time; counted all the same (a redelivered record counts again here)")),
        registry(r) {
    // Every reason shows from the start, at 0, so a rate over it never starts from nothing.
    for (const auto reason : {domain::kReasonInvalid, domain::kReasonTooOld, domain::kReasonTooFarAhead}) {
      Invalid(std::string(reason));
    }
  }
  // Records that are not valid events (dead-lettered), by reason code (domain/field_error.h).
  metrics::Counter& Invalid(const std::string& reason) {
    return registry.GetCounter("clickstream_processor_invalid_events_total",
                               "records that are not valid events, dead-lettered, by reason", {{"reason", reason}});
  }
  metrics::Counter& records;
  metrics::Counter& counted;
  metrics::Counter& duplicates;
  metrics::Counter& dead_letters;
  metrics::Counter& refused;
  metrics::Histogram& batch_records;
  metrics::Histogram& freshness;
  metrics::Counter& late;
  metrics::Registry& registry;
};

ProcessorService::ProcessorService(ProcessorOptions options, std::unique_ptr<ports::RecordSource> source,
                                   std::unique_ptr<ports::DeadLetters> dead_letters,
                                   std::unique_ptr<ports::EventStore> store, std::unique_ptr<ports::CountCache> cache,
                                   std::function<int64_t()> now_us)
    : options_(std::move(options)),
      source_(std::move(source)),
      dead_letters_(std::move(dead_letters)),
      store_(std::move(store)),
      cache_(std::move(cache)),
      now_us_(std::move(now_us)),
      metrics_(std::make_unique<Metrics>(metrics::GivenOrOwn(options_.metrics, own_metrics_))),
      last_progress_us_(now_us_()),
      finisher_([this] { RunFinisher(); }) {}

ProcessorService::~ProcessorService() { Stop(); }

void ProcessorService::Start() {
  thread_ = std::thread([this] {
    common::Logger("processor")->info("processor consuming topic={}", options_.topic);
    while (!stopping_.load()) ProcessOnce();
  });
}

void ProcessorService::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_.store(true);
  }
  stop_signal_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(finish_mutex_);
    finisher_stopping_ = true;  // it finishes a batch already handed over first
  }
  finish_changed_.notify_all();
  if (finisher_.joinable()) finisher_.join();
}

void ProcessorService::HandOver(Finish finish) {
  std::unique_lock lock(finish_mutex_);
  finish_changed_.wait(lock, [this] { return !finish_ && !finishing_; });
  finish_ = std::move(finish);
  finish_changed_.notify_all();
}

void ProcessorService::Flush() {
  std::unique_lock lock(finish_mutex_);
  finish_changed_.wait(lock, [this] { return !finish_ && !finishing_; });
}

void ProcessorService::RunFinisher() {
  std::unique_lock lock(finish_mutex_);
  while (true) {
    finish_changed_.wait(lock, [this] { return finish_ || finisher_stopping_; });
    if (!finish_) return;  // stopping, and nothing left to finish
    Finish finish = std::move(*finish_);
    finish_.reset();
    finishing_ = true;
    lock.unlock();
    FinishBatch(std::move(finish));
    lock.lock();
    finishing_ = false;
    finish_changed_.notify_all();
  }
}

void ProcessorService::FinishBatch(Finish finish) {
  static const auto log = common::Logger("processor");
  for (const auto& offset : finish.next_offsets) {
    auto& next = uncommitted_[offset.partition];
    next = std::max(next, offset.next_offset);
  }
  uncommitted_newest_us_ = std::max(uncommitted_newest_us_, finish.newest_event_time_us);
  // Offsets are committed only once the cache holds the counts below them: until then the records stay
  // uncommitted, so a restart gets them again and raises the cache to their counts (the store counts none twice).
  const int64_t cache_start_us = tracing::WallMicros();
  const bool cached = UpdateCache(std::move(finish.counts));
  for (const auto& apply : finish.traces) {
    auto span = tracing::SpanUnder(apply, "redis update counts", tracing::SpanKind::kClient, cache_start_us,
                                   tracing::WallMicros());
    span.tags.emplace_back("db.system", "redis");
    if (!cached) span.tags.emplace_back("error", "the cache is unreachable; its counts are kept to retry");
    options_.tracer->Record(std::move(span));
  }
  if (!cached || uncommitted_.empty()) return;
  std::vector<domain::PartitionOffset> next_offsets;
  for (const auto& [partition, next] : uncommitted_) next_offsets.push_back({partition, next});
  // The cache now holds every count below these offsets: say so, for the freshness of answers read from it. A
  // failure only leaves the cache's word older than it could be, which stays true.
  if (auto status = cache_->RecordApplied(next_offsets, uncommitted_newest_us_); !status.ok()) {
    log->warn("cache position not recorded (answers from the cache will say they are older): {}", status.message());
  }
  // The offsets are committed only now, after the transaction that stored these records committed. A failed
  // commit is harmless: the records come back and the store recognises every event_id.
  if (auto status = source_->Commit(next_offsets); !status.ok()) {
    log->warn("offset commit failed (records will be redelivered and deduplicated): {}", status.message());
    return;
  }
  uncommitted_.clear();
  uncommitted_newest_us_ = 0;
}

bool ProcessorService::Backoff(std::chrono::milliseconds& delay) {
  std::unique_lock lock(stop_mutex_);
  const bool stopped = stop_signal_.wait_for(lock, delay, [this] { return stopping_.load(); });
  delay = std::min(delay * 2, options_.retry_max);
  return !stopped;
}

std::size_t ProcessorService::ProcessOnce() {
  static const auto log = common::Logger("processor");
  auto records = source_->Poll(options_.batch_max_records, options_.batch_wait);
  if (!records.ok()) {
    log->warn("poll failed: {}", records.status().message());
    auto delay = options_.retry_initial;
    Backoff(delay);
    return 0;
  }
  if (records->empty()) {
    MarkProgress();
    // Idle: a good moment to bring the cache up to date if Redis came back (nothing to do when it never left).
    HandOver({});
    return 0;
  }

  const int64_t start_us = tracing::WallMicros();
  const domain::Batch batch = domain::PrepareBatch(*records, options_.limits, now_us_());
  if (!SendDeadLetters(batch.poison)) return 0;  // stopping: nothing committed, the batch comes back
  // The batch before must have its counts in the cache first. Written after this batch committed, they would be
  // older than the database's counts, and in a key the cache lost (a restarted Redis) a max-write cannot tell: a
  // reader answered the newer count from the database would then be answered the older one from the cache.
  Flush();
  const int64_t store_start_us = tracing::WallMicros();
  auto stored = Store(*records, batch);
  if (!stored) return 0;  // stopping: nothing committed, the batch comes back
  MarkProgress();
  Record(*records, batch, *stored);
  auto traces = Trace(*records, *stored, start_us, store_start_us);
  int64_t newest_us = 0;
  for (const auto& event : batch.events) newest_us = std::max(newest_us, event.time_stamp_us);
  HandOver({std::move(stored->applied.counts), batch.next_offsets, std::move(traces), newest_us});
  log->debug("batch applied records={} events={} dead_letters={} refused={}", records->size(), batch.events.size(),
             batch.poison.size(), stored->refused);
  return records->size();
}

bool ProcessorService::SendDeadLetters(const std::vector<domain::PoisonRecord>& poison) {
  static const auto log = common::Logger("processor");
  for (const auto& letter : poison) {
    auto delay = options_.retry_initial;
    while (true) {
      auto status = dead_letters_->Send(letter, options_.dead_letter_timeout);
      if (status.ok()) break;
      log->warn("dead letter failed partition={} offset={}: {}", letter.record.partition, letter.record.offset,
                status.message());
      if (!Backoff(delay)) return false;
    }
    log->warn("record dead-lettered partition={} offset={} reason={}", letter.record.partition, letter.record.offset,
              letter.reason);
  }
  return true;
}

void ProcessorService::Record(const std::vector<domain::Record>& records, const domain::Batch& batch,
                              const Stored& stored) {
  const int64_t inserted = stored.applied.inserted;
  metrics_->records.Inc(records.size());
  metrics_->batch_records.Observe(static_cast<double>(records.size()));
  metrics_->dead_letters.Inc(batch.poison.size() + stored.refused);
  metrics_->refused.Inc(stored.refused);
  for (const auto& poison : batch.poison) metrics_->Invalid(poison.reason_code).Inc();
  metrics_->late.Inc(batch.late);
  metrics_->counted.Inc(static_cast<uint64_t>(inserted));
  const int64_t valid = static_cast<int64_t>(records.size() - batch.poison.size() - stored.refused);
  metrics_->duplicates.Inc(static_cast<uint64_t>(std::max<int64_t>(0, valid - inserted)));
  const int64_t now_ms = now_us_() / 1000;
  for (const auto& record : records) {
    if (record.timestamp_ms > 0) metrics_->freshness.Observe(static_cast<double>(now_ms - record.timestamp_ms) / 1e3);
  }
}

std::vector<tracing::TraceContext> ProcessorService::Trace(const std::vector<domain::Record>& records,
                                                           const Stored& stored, int64_t start_us,
                                                           int64_t store_start_us) const {
  std::vector<tracing::TraceContext> applies;
  if (options_.tracer == nullptr || !options_.tracer->enabled()) return applies;
  const int64_t end_us = tracing::WallMicros();
  for (const auto& record : records) {
    if (applies.size() >= options_.max_traced_records) break;
    if (record.traceparent.empty()) continue;
    const auto sent = tracing::ParseTraceparent(record.traceparent);
    if (!sent || !sent->sampled) continue;
    auto apply = tracing::SpanUnder(*sent, "apply batch", tracing::SpanKind::kConsumer, start_us, end_us);
    apply.tags = {{"messaging.batch.message_count", std::to_string(records.size())},
                  {"messaging.kafka.partition", std::to_string(record.partition)},
                  {"messaging.kafka.offset", std::to_string(record.offset)},
                  {"events_counted", std::to_string(stored.applied.inserted)}};
    auto store =
        tracing::SpanUnder(apply.context, "postgres apply batch", tracing::SpanKind::kClient, store_start_us, end_us);
    store.tags.emplace_back("db.system", "postgresql");
    applies.push_back(apply.context);
    options_.tracer->Record(std::move(apply));
    options_.tracer->Record(std::move(store));
  }
  return applies;
}

absl::StatusOr<ports::AppliedBatch> ProcessorService::ApplyRetrying(
    const std::vector<domain::ClickEvent>& events, const std::vector<domain::PartitionOffset>& next_offsets) {
  static const auto log = common::Logger("processor");
  auto delay = options_.retry_initial;
  while (true) {
    auto applied = store_->ApplyBatch(options_.topic, events, next_offsets);
    if (applied.ok() || absl::IsInvalidArgument(applied.status())) return applied;
    // Nothing was applied and no offset moves: keep the batch and try again; the partition waits meanwhile.
    log->warn("storing batch of {} events failed, retrying in {} ms: {}", events.size(), delay.count(),
              applied.status().message());
    if (!Backoff(delay)) return absl::CancelledError("stopping");
  }
}

std::optional<ProcessorService::Stored> ProcessorService::Store(const std::vector<domain::Record>& records,
                                                                const domain::Batch& batch) {
  static const auto log = common::Logger("processor");
  auto applied = ApplyRetrying(batch.events, batch.next_offsets);
  if (applied.ok()) return Stored{std::move(*applied), 0};
  if (!absl::IsInvalidArgument(applied.status())) return std::nullopt;
  log->warn("the database refused a batch of {} events for good, isolating the events it refuses: {}",
            batch.events.size(), applied.status().message());
  Stored stored;
  if (!Isolate(records, batch, 0, batch.events.size(), stored)) return std::nullopt;
  // Every event is now counted or dead-lettered: record how far the batch reaches.
  auto offsets = ApplyRetrying({}, batch.next_offsets);
  if (!offsets.ok()) return std::nullopt;
  return stored;
}

bool ProcessorService::Isolate(const std::vector<domain::Record>& records, const domain::Batch& batch,
                               std::size_t begin, std::size_t end, Stored& stored) {
  static const auto log = common::Logger("processor");
  const std::vector<domain::ClickEvent> events(batch.events.begin() + begin, batch.events.begin() + end);
  auto applied = ApplyRetrying(events, {});
  if (applied.ok()) {
    stored.applied.inserted += applied->inserted;
    // Counts only grow and the cache takes the max, so a pair's older count from an earlier half does no harm.
    for (auto& count : applied->counts) stored.applied.counts.push_back(std::move(count));
    return true;
  }
  if (!absl::IsInvalidArgument(applied.status())) return false;
  if (end - begin > 1) {
    const std::size_t middle = begin + (end - begin) / 2;
    return Isolate(records, batch, begin, middle, stored) && Isolate(records, batch, middle, end, stored);
  }
  const domain::Record& record = records[batch.sources[begin]];
  log->error("event refused by the database, dead-lettered event_id={} partition={} offset={}: {}",
             events.front().event_id, record.partition, record.offset, applied.status().message());
  ++stored.refused;
  return SendDeadLetters(
      {{record, "the database refused the event: " + std::string(applied.status().message()), domain::kReasonRefused}});
}

bool ProcessorService::UpdateCache(std::vector<domain::PageCount> counts) {
  static const auto log = common::Logger("processor");
  if (invalidate_cache_) {
    if (auto status = cache_->InvalidateAll(); status.ok()) {
      log->info("cache invalidated after missing more than {} updates", options_.pending_cache_repairs);
      invalidate_cache_ = false;
    }
  }
  // Counts missed earlier go out first; newer counts in this batch are larger and the writes are max-writes,
  // so the order between the two cannot matter.
  for (const auto& [pair, count] : pending_cache_) counts.push_back({pair.first, pair.second, count});
  if (counts.empty()) return !invalidate_cache_;
  if (auto status = cache_->RaiseTo(counts); status.ok()) {
    if (!pending_cache_.empty()) log->info("cache repaired pairs={}", pending_cache_.size());
    pending_cache_.clear();
    return !invalidate_cache_;
  } else if (pending_cache_.empty()) {
    log->warn("cache unreachable, remembering counts to repair it later (offsets wait until then): {}",
              status.message());
  }
  if (invalidate_cache_) return false;
  for (auto& count : counts) {
    auto& pending = pending_cache_[{std::move(count.user_id), std::move(count.page_url)}];
    pending = std::max(pending, count.count);
  }
  if (pending_cache_.size() > options_.pending_cache_repairs) {
    log->warn("more than {} counts missed the cache: it will be invalidated when reachable",
              options_.pending_cache_repairs);
    pending_cache_.clear();
    invalidate_cache_ = true;
  }
  return false;
}

double ProcessorService::StalledSeconds() {
  int64_t waiting = 0;
  for (const auto& [partition, lag] : source_->Lag()) waiting += lag;
  if (waiting == 0) return 0;
  return static_cast<double>(std::max<int64_t>(0, now_us_() - last_progress_us_.load())) / 1e6;
}

absl::Status ProcessorService::CheckReady() {
  if (auto status = store_->Ping(); !status.ok()) return status;
  if (auto status = CheckProgress(); !status.ok()) return status;
  return source_->CheckReady(std::chrono::milliseconds(1000));
}

absl::Status ProcessorService::CheckProgress() {
  const double stalled = StalledSeconds();
  if (stalled * 1000 > static_cast<double>(options_.stall_timeout.count())) {
    return absl::UnavailableError("no batch applied for " + std::to_string(static_cast<int64_t>(stalled)) +
                                  " s while records wait");
  }
  return absl::OkStatus();
}

}  // namespace clickstream::processor
