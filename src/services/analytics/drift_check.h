// The background half of reconciliation: every interval, a random sample of counters is compared with their raw
// rows in one snapshot (CountStore::AuditSample). Each pair whose counter differs is logged with both numbers and
// counted in clickstream_reconcile_drift_pairs_total, which the ClickstreamCountDrift alert watches. Its cost is
// bounded by the sample: two short index range scans and one index look-up per pair.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "common/periodic.h"
#include "domain/reconciliation.h"
#include "ports/event_store.h"

namespace clickstream::analytics {

struct DriftCheckOptions {
  // 0: no background checks (CheckOnce still works). Off unless asked for: the service's setting turns it on.
  std::chrono::milliseconds interval{0};
  std::size_t sample = 100;              // counters per check
  metrics::Registry* metrics = nullptr;  // must outlive the check when set
};

class DriftCheck {
 public:
  // `store` must outlive the check.
  DriftCheck(DriftCheckOptions options, ports::CountStore& store);

  // One check on the caller's thread, counted and logged as the background ones are: the drifting pairs of a fresh
  // random sample.
  absl::StatusOr<std::vector<domain::Reconciliation>> CheckOnce();

 private:
  const DriftCheckOptions options_;
  ports::CountStore& store_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // before its users
  metrics::Counter& checked_;
  metrics::Counter& drifting_;
  metrics::Counter& errors_;
  metrics::Gauge& last_drifting_;
  std::unique_ptr<common::Periodic> checks_;  // last: stopped first; null when the interval is 0
};

}  // namespace clickstream::analytics
