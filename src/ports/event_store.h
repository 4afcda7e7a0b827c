// Ports over PostgreSQL: the processor's write side and analytics' read side.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/batch.h"
#include "domain/count_query.h"
#include "domain/freshness.h"
#include "domain/position.h"
#include "domain/reconciliation.h"

namespace clickstream::ports {

struct AppliedBatch {
  std::vector<domain::PageCount> counts;  // the count of every pair in the batch, after it
  int64_t inserted = 0;                   // events stored (and counted) for the first time
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // In one transaction: inserts the events whose event_id was never stored, increments the counts of their
  // (user_id, page_url) pairs by the rows actually inserted, and records `next_offsets` for `topic`. Returns the
  // counts of every pair in the batch. On error nothing was applied: INVALID_ARGUMENT when some event of the batch
  // can never be stored (the database refuses its data), so retrying the same events cannot help; any other code
  // (UNAVAILABLE, INTERNAL) may pass with time. Blocking; called from one consumer's thread (each has its store).
  virtual absl::StatusOr<AppliedBatch> ApplyBatch(std::string_view topic, const std::vector<domain::ClickEvent>& events,
                                                  const std::vector<domain::PartitionOffset>& next_offsets) = 0;

  virtual absl::Status Ping() = 0;
};

struct StoredCounts {
  std::vector<int64_t> counts;  // one per pair asked
  domain::Freshness freshness;  // read in the same snapshot as the counts; source kDatabase
};

struct StoreAudit {
  std::vector<domain::Reconciliation> pairs;
  domain::Freshness freshness;  // of the snapshot; source kDatabase
};

class CountStore {
 public:
  virtual ~CountStore() = default;

  // The stored count of the pair; 0 for a pair never seen. Blocking and thread-safe; errors as for GetMany.
  virtual absl::StatusOr<int64_t> GetCount(std::string_view user_id, std::string_view page_url) = 0;

  // The stored counts of `pairs`, one per pair in their order (a pair may appear more than once; 0 for a pair never
  // seen), read in one round trip with the applied position, newest event time and age of the same snapshot.
  // Blocking, on the caller's thread; thread-safe. All or nothing: DEADLINE_EXCEEDED when the read ran past the
  // store's statement timeout, UNAVAILABLE when the database cannot be reached, INTERNAL otherwise.
  virtual absl::StatusOr<StoredCounts> GetMany(const std::vector<domain::CountQuery>& pairs) = 0;

  // How far the stored counts reach in the event log (applied_offsets): every record before this position is
  // counted in every read that starts after this call returned. Empty before anything was applied. Errors as for
  // GetMany.
  virtual absl::StatusOr<domain::Position> AppliedPosition() = 0;

  // Reconciliation: each pair's counter with its raw rows, in one snapshot whose position, newest event time and
  // age are in `freshness`. Audit reads `pairs`, in their order; AuditSample reads up to `size` pairs that have a
  // counter, the first ones at or after `start` (a pair key, see infra/init.sql) in key order, wrapping around: a
  // random start gives a random sample for the cost of an index range scan. Neither reads the cache (`cached` is
  // unset). Blocking and thread-safe; errors as for GetMany.
  virtual absl::StatusOr<StoreAudit> Audit(const std::vector<domain::CountQuery>& pairs) = 0;
  virtual absl::StatusOr<StoreAudit> AuditSample(std::size_t size, const std::string& start) = 0;

  virtual absl::Status Ping() = 0;
};

}  // namespace clickstream::ports
