#include "services/analytics/drift_check.h"

#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace clickstream::analytics {
namespace {

// A random pair key (32 bytes, in hex): where a sample starts.
std::string RandomKey() {
  thread_local std::mt19937_64 random(std::random_device{}());
  std::string key;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&key, absl::Hex(random(), absl::kZeroPad16));
  return key;
}

}  // namespace

DriftCheck::DriftCheck(DriftCheckOptions options, ports::CountStore& store)
    : options_(options),
      store_(store),
      checked_(metrics::GivenOrOwn(options_.metrics, own_metrics_)
                   .GetCounter("clickstream_reconcile_checked_pairs_total",
                               "counters the background drift check compared with their raw rows")),
      drifting_(metrics::GivenOrOwn(options_.metrics, own_metrics_)
                    .GetCounter("clickstream_reconcile_drift_pairs_total",
                                "counters found to differ from their raw rows by the background drift check")),
      errors_(metrics::GivenOrOwn(options_.metrics, own_metrics_)
                  .GetCounter("clickstream_reconcile_errors_total", "drift checks that could not read the database")),
      last_drifting_(metrics::GivenOrOwn(options_.metrics, own_metrics_)
                         .GetGauge("clickstream_reconcile_drift_pairs", "drifting counters in the last drift check")) {
  if (options_.interval.count() > 0) {
    checks_ = std::make_unique<common::Periodic>(options_.interval, [this] { CheckOnce().IgnoreError(); });
  }
}

absl::StatusOr<std::vector<domain::Reconciliation>> DriftCheck::CheckOnce() {
  static const auto log = common::Logger("analytics");
  auto audit = store_.AuditSample(options_.sample, RandomKey());
  if (!audit.ok()) {
    errors_.Inc();
    log->warn("drift check: cannot read the database: {}{}", audit.status().message(),
              audit.status().code() == absl::StatusCode::kDeadlineExceeded
                  ? "; on a large click_events, add the index on user_id (README, Reconciliation)"
                  : "");
    return audit.status();
  }
  std::vector<domain::Reconciliation> drifting;
  for (auto& pair : audit->pairs) {
    if (pair.Consistent()) continue;
    log->error("count drift: user_id={} page_url={} counter={} raw_rows={} position={}", pair.pair.user_id,
               pair.pair.page_url, pair.counter, pair.raw_rows, domain::PositionToken(audit->freshness.position));
    drifting.push_back(std::move(pair));
  }
  checked_.Inc(audit->pairs.size());
  drifting_.Inc(drifting.size());
  last_drifting_.Set(static_cast<int64_t>(drifting.size()));
  return drifting;
}

}  // namespace clickstream::analytics
