// Port: the cache of counts (Redis). Counts only grow, so every write is a monotonic max: a write can never
// replace a newer count with an older one, whoever writes and in whatever order.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/batch.h"
#include "domain/count_query.h"
#include "domain/freshness.h"

namespace clickstream::ports {

struct CachedCounts {
  std::vector<std::optional<int64_t>> counts;  // one per pair asked, nullopt on a miss
  domain::Freshness freshness;                 // of the hits; source kCache
};

class CountCache {
 public:
  virtual ~CountCache() = default;

  // The cached count, or nullopt on a miss. UNAVAILABLE when the cache cannot be reached within its timeout.
  // Blocking and thread-safe, like every method here.
  virtual absl::StatusOr<std::optional<int64_t>> Get(std::string_view user_id, std::string_view page_url) = 0;

  // Get for many pairs, answers in their order, with how fresh the cache is (source kCache; see RecordApplied).
  // Adapters that can do it in one round trip override this.
  virtual absl::StatusOr<CachedCounts> GetMany(const std::vector<domain::CountQuery>& pairs) {
    CachedCounts cached;
    cached.freshness.source = domain::CountSource::kCache;
    cached.counts.reserve(pairs.size());
    for (const auto& pair : pairs) {
      auto count = Get(pair.user_id, pair.page_url);
      if (!count.ok()) return count.status();
      cached.counts.push_back(*count);
    }
    return cached;
  }

  // Sets each pair's count to max(cached, given); absent keys are set.
  virtual absl::Status RaiseTo(const std::vector<domain::PageCount>& counts) = 0;

  // The processor's word that the cache holds the counts of every event before `applied` (each partition's offset
  // only ever raised), the newest time_stamp among them, and when it said so: what GetMany reports as freshness.
  // Called only after RaiseTo succeeded for every batch below `applied`.
  virtual absl::Status RecordApplied(const domain::Position& applied, int64_t newest_event_time_us) = 0;

  // Drops every cached count: used when counts that could not be written are too many to remember.
  virtual absl::Status InvalidateAll() = 0;

  virtual absl::Status Ping() = 0;
};

}  // namespace clickstream::ports
