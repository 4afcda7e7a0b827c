#include "services/analytics/analytics_service.h"

#include <chrono>

#include "common/log.h"
#include "domain/count_query.h"

namespace clickstream::analytics {

AnalyticsService::AnalyticsService(AnalyticsOptions options, std::unique_ptr<ports::CountCache> cache,
                                   std::unique_ptr<ports::CountStore> store, std::unique_ptr<ports::LogEnd> log_end)
    : options_(options),
      cache_(std::move(cache)),
      store_(std::move(store)),
      cache_hits_(metrics::GivenOrOwn(options_.metrics, own_metrics_)
                      .GetCounter("clickstream_cache_hits_total", "look-ups answered from the cache")),
      cache_misses_(metrics::GivenOrOwn(options_.metrics, own_metrics_)
                        .GetCounter("clickstream_cache_misses_total", "look-ups the cache did not hold")),
      cache_errors_(metrics::GivenOrOwn(options_.metrics, own_metrics_)
                        .GetCounter("clickstream_cache_errors_total",
                                    "look-ups answered from PostgreSQL because the cache was unreachable")) {
  if (log_end) log_end_watch_ = std::make_unique<LogEndWatch>(std::move(log_end), options_.log_end_interval);
  auto drift_check = options_.drift_check;
  drift_check.metrics = options_.metrics;
  drift_check_ = std::make_unique<DriftCheck>(drift_check, *store_);
  for (std::size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Work(); });
  position_watch_ = std::make_unique<PositionWatch>(options_.position_watch,
                                                    [store = store_.get()] { return store->AppliedPosition(); });
}

AnalyticsService::~AnalyticsService() {
  position_watch_.reset();  // its waiters' look-ups are refused or queued before the workers stop
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void AnalyticsService::GetCount(std::string user_id, std::string page_url, const Done& done) {
  // The one path of every look-up: a call of one pair, validated where every pair is.
  std::vector<domain::CountQuery> pair = {{std::move(user_id), std::move(page_url)}};
  if (Enqueue([this, pair = std::move(pair), done]() { done(std::move(LookUpMany(pair, {}).front())); })) return;
  done(absl::ResourceExhaustedError("too many look-ups waiting; retry later"));
}

void AnalyticsService::GetCounts(std::vector<domain::CountQuery> pairs, const tracing::TraceContext& trace,
                                 DoneMany done, domain::Position after) {
  if (auto status = CheckCallSize(pairs.size()); !status.ok()) {
    done(std::vector<Result>(pairs.size(), status));
    return;
  }
  auto shared_done = std::make_shared<DoneMany>(std::move(done));
  const bool from_database = !after.empty();
  // Runs once, so it hands its pairs on rather than copying them.
  auto look_up = [this, pairs = std::move(pairs), trace, shared_done,
                  from_database](const absl::Status& reached) mutable {
    const std::size_t size = pairs.size();
    if (!reached.ok()) return (*shared_done)(std::vector<Result>(size, reached));
    if (Enqueue([this, pairs = std::move(pairs), trace, shared_done, from_database]() {
          (*shared_done)(LookUpMany(pairs, trace, from_database));
        })) {
      return;
    }
    (*shared_done)(std::vector<Result>(size, absl::ResourceExhaustedError("too many look-ups waiting; retry later")));
  };
  if (!from_database) return look_up(absl::OkStatus());
  position_watch_->WaitFor(std::move(after), PositionWatch::Clock::now() + options_.position_wait, std::move(look_up));
}

void AnalyticsService::Reconcile(domain::CountQuery pair, ReconcileDone done) {
  if (auto status = domain::ValidateCountQuery(pair, options_.limits); !status.ok()) return done(status);
  auto shared_done = std::make_shared<ReconcileDone>(std::move(done));
  if (Enqueue([this, pair = std::move(pair), shared_done] { (*shared_done)(ReconcileNow(pair)); })) return;
  (*shared_done)(absl::ResourceExhaustedError("too many look-ups waiting; retry later"));
}

absl::StatusOr<domain::Reconciliation> AnalyticsService::ReconcileNow(const domain::CountQuery& pair) {
  auto cached = cache_->Get(pair.user_id, pair.page_url);  // before the database's snapshot, never after
  auto audit = store_->Audit({pair});
  if (!audit.ok()) return audit.status();
  if (audit->pairs.size() != 1) {
    return absl::InternalError("the store answered " + std::to_string(audit->pairs.size()) + " audits for 1 pair");
  }
  domain::Reconciliation reconciliation = std::move(audit->pairs.front());
  if (cached.ok()) reconciliation.cached = *cached;
  reconciliation.freshness = *Shared(std::move(audit->freshness));
  return reconciliation;
}

void AnalyticsService::RecordRead(const tracing::TraceContext& trace, std::string_view name, std::string_view system,
                                  int64_t start_us, std::size_t pairs, const absl::Status& outcome) const {
  if (options_.tracer == nullptr || !trace.sampled) return;
  auto span = tracing::SpanUnder(trace, name, tracing::SpanKind::kClient, start_us, tracing::WallMicros());
  span.tags = {{"db.system", std::string(system)}, {"pairs", std::to_string(pairs)}};
  if (!outcome.ok()) span.tags.emplace_back("error", outcome.message());
  options_.tracer->Record(std::move(span));
}

absl::Status AnalyticsService::CheckCallSize(std::size_t pairs) const {
  if (pairs <= options_.max_pairs) return absl::OkStatus();
  return absl::InvalidArgumentError("GetEventCounts asked for " + std::to_string(pairs) + " pairs; at most " +
                                    std::to_string(options_.max_pairs) + " per call: split the request");
}

bool AnalyticsService::Enqueue(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= options_.queue_depth || stopping_) return false;
  queue_.push_back(std::move(task));
  work_ready_.notify_one();
  return true;
}

void AnalyticsService::Work() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    auto task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

std::vector<AnalyticsService::Result> AnalyticsService::LookUpMany(const std::vector<domain::CountQuery>& pairs,
                                                                   const tracing::TraceContext& trace,
                                                                   bool from_database) {
  std::vector<Result> results(pairs.size(), absl::UnknownError("not looked up"));
  std::vector<domain::CountQuery> valid;
  std::vector<std::size_t> valid_at;  // index in `pairs` of each valid pair
  valid.reserve(pairs.size());
  valid_at.reserve(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (auto status = domain::ValidateCountQuery(pairs[i], options_.limits); !status.ok()) {
      results[i] = status;
    } else {
      valid.push_back(pairs[i]);
      valid_at.push_back(i);
    }
  }
  const int64_t cache_start_us = tracing::WallMicros();
  auto cached = from_database ? ports::CachedCounts{std::vector<std::optional<int64_t>>(valid.size()), {}}
                              : cache_->GetMany(valid);
  if (!from_database) RecordRead(trace, "redis get counts", "redis", cache_start_us, valid.size(), cached.status());
  if (!cached.ok()) {
    cache_errors_.Inc(valid.size());
    WarnDegraded(cached.status());
  }
  std::vector<domain::CountQuery> misses;
  std::vector<std::size_t> miss_at;                          // index in `pairs` of each miss
  std::shared_ptr<const domain::Freshness> cache_freshness;  // shared by the hits
  if (cached.ok() && !from_database) {
    cache_freshness = Shared(std::move(cached->freshness));
  }
  for (std::size_t v = 0; v < valid.size(); ++v) {
    if (cached.ok() && cached->counts[v].has_value()) {
      cache_hits_.Inc();
      results[valid_at[v]] = domain::Reading{*cached->counts[v], cache_freshness};
      continue;
    }
    if (cached.ok() && !from_database) cache_misses_.Inc();
    misses.push_back(std::move(valid[v]));  // read by the cache above, not used again
    miss_at.push_back(valid_at[v]);
  }
  // One statement for every miss: a batch of misses costs one round trip, not one each.
  std::vector<domain::PageCount> refills;
  if (!misses.empty()) {
    const int64_t store_start_us = tracing::WallMicros();
    auto stored = store_->GetMany(misses);
    RecordRead(trace, "postgres get counts", "postgresql", store_start_us, misses.size(), stored.status());
    if (stored.ok() && stored->counts.size() != misses.size()) {
      stored = absl::InternalError("the store answered " + std::to_string(stored->counts.size()) + " counts for " +
                                   std::to_string(misses.size()) + " pairs");
    }
    std::shared_ptr<const domain::Freshness> store_freshness;  // shared by the misses
    if (stored.ok()) store_freshness = Shared(std::move(stored->freshness));
    for (std::size_t m = 0; m < misses.size(); ++m) {
      if (!stored.ok()) {
        results[miss_at[m]] = stored.status();
        continue;
      }
      const int64_t count = stored->counts[m];
      results[miss_at[m]] = domain::Reading{count, store_freshness};
      if (cached.ok()) refills.push_back({misses[m].user_id, misses[m].page_url, count});
    }
  }
  // Max-writes: a count the processor wrote meanwhile is never replaced by these.
  if (!refills.empty()) {
    if (auto status = cache_->RaiseTo(refills); !status.ok()) WarnDegraded(status);
  }
  return results;
}

std::shared_ptr<const domain::Position> AnalyticsService::LogEnd() const {
  return log_end_watch_ ? log_end_watch_->Latest() : nullptr;
}

std::shared_ptr<const domain::Freshness> AnalyticsService::Shared(domain::Freshness freshness) const {
  if (const auto end = LogEnd()) freshness.lag = domain::RecordsBetween(freshness.position, *end);
  return std::make_shared<const domain::Freshness>(std::move(freshness));
}

void AnalyticsService::WarnDegraded(const absl::Status& status) {
  // One warning per interval: a Redis outage under load must not flood the log.
  constexpr int64_t kIntervalNs = 10'000'000'000;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  int64_t last = last_degraded_warning_ns_.load();
  if (now - last < kIntervalNs || !last_degraded_warning_ns_.compare_exchange_strong(last, now)) return;
  common::Logger("analytics")
      ->warn("cache unavailable, answering from PostgreSQL (cache_errors_total={}): {}", cache_errors_.Value(),
             status.message());
}

absl::Status AnalyticsService::CheckReady() { return store_->Ping(); }

}  // namespace clickstream::analytics
