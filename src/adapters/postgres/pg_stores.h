// The PostgreSQL adapters: PgEventStore (the processor's batched, effectively-once writes) and PgCountStore
// (analytics' reads: counters, their audit, and the aggregates beyond them). libpqxx exceptions stop here and become
// statuses: a lost connection or a transaction the server aborted is UNAVAILABLE (retrying may help), anything else
// INTERNAL.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "ports/aggregate_store.h"
#include "ports/event_store.h"

namespace clickstream::postgres {

struct Session;  // a libpqxx connection with our prepared statements; defined in pg_stores.cc

class PgEventStore final : public ports::EventStore {
 public:
  // Connects lazily, on first use and again after a lost connection. Latency and errors go to `metrics` if set.
  explicit PgEventStore(const std::string& database_url, metrics::Registry* metrics = nullptr);
  ~PgEventStore() override;

  // ports::EventStore
  absl::StatusOr<ports::AppliedBatch> ApplyBatch(std::string_view topic, const std::vector<domain::ClickEvent>& events,
                                                 const std::vector<domain::PartitionOffset>& next_offsets) override;
  absl::Status Ping() override;

 private:
  const std::string database_url_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // before its users
  metrics::Histogram& apply_seconds_;
  metrics::Counter& apply_errors_;
  metrics::Counter& second_attempts_;
  std::unique_ptr<Session> connection_;  // used by the processor's one thread only
  bool skip_stored_ = false;             // the last batch held a stored event_id: expect more
};

class PgCountStore final : public ports::CountStore, public ports::AggregateStore {
 public:
  // Every read is bounded by `statement_timeout` (set on each connection it opens). `topic` is the one whose
  // applied offsets AppliedPosition reads. Reads are timed and counted under `operation` in
  // clickstream_db_duration_seconds and clickstream_db_errors_total: a store serving aggregates names itself apart,
  // so a slow ranking cannot hide in the look-ups' latency.
  PgCountStore(const std::string& database_url, std::string topic, metrics::Registry* metrics = nullptr,
               std::chrono::milliseconds statement_timeout = std::chrono::milliseconds(2000),
               const char* operation = "get_count");
  ~PgCountStore() override;

  // ports::CountStore. Each call borrows an idle connection or opens one; callers bound the concurrency. GetCount
  // is GetMany of one pair.
  absl::StatusOr<int64_t> GetCount(std::string_view user_id, std::string_view page_url) override;
  absl::StatusOr<ports::StoredCounts> GetMany(const std::vector<domain::CountQuery>& pairs) override;
  absl::StatusOr<domain::Position> AppliedPosition() override;
  absl::StatusOr<ports::StoreAudit> Audit(const std::vector<domain::CountQuery>& pairs) override;
  absl::StatusOr<ports::StoreAudit> AuditSample(std::size_t size, const std::string& start) override;
  absl::Status Ping() override;

  // ports::AggregateStore, in pg_aggregate_reads.cc.
  absl::StatusOr<domain::PageRanking> TopPages(const domain::RankQuery& query) override;
  absl::StatusOr<domain::EventTypeRanking> EventTypeCounts(std::size_t limit) override;
  absl::StatusOr<domain::ClickSeries> ClicksOverTime(const domain::SeriesQuery& query) override;

 private:
  // Runs `read` on a borrowed connection, timed, with what it throws turned into a status (and counted).
  absl::Status Run(const std::function<absl::Status(Session&)>& read);
  std::unique_ptr<Session> Borrow();
  void Return(std::unique_ptr<Session> connection);
  // The status of a read that threw `error`, counted.
  absl::Status ReadFailed(const std::exception& error);

  const std::string database_url_;
  const std::string topic_;
  const std::chrono::milliseconds statement_timeout_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // before its users
  metrics::Histogram& read_seconds_;
  metrics::Counter& read_errors_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Session>> idle_;
};

}  // namespace clickstream::postgres
