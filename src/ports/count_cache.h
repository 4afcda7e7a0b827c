// Port: the cache of counts (Redis). Counts only grow, so every write is a monotonic max: a write can never
// replace a newer count with an older one, whoever writes and in whatever order.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/batch.h"
#include "domain/count_query.h"

namespace clickstream::ports {

class CountCache {
 public:
  virtual ~CountCache() = default;

  // The cached count, or nullopt on a miss. UNAVAILABLE when the cache cannot be reached within its timeout.
  // Blocking and thread-safe, like every method here.
  virtual absl::StatusOr<std::optional<int64_t>> Get(std::string_view user_id, std::string_view page_url) = 0;

  // Get for many pairs, answers in their order. Adapters that can do it in one round trip override this.
  virtual absl::StatusOr<std::vector<std::optional<int64_t>>> GetMany(const std::vector<domain::CountQuery>& pairs) {
    std::vector<std::optional<int64_t>> counts;
    counts.reserve(pairs.size());
    for (const auto& pair : pairs) {
      auto count = Get(pair.user_id, pair.page_url);
      if (!count.ok()) return count.status();
      counts.push_back(*count);
    }
    return counts;
  }

  // Sets each pair's count to max(cached, given); absent keys are set.
  virtual absl::Status RaiseTo(const std::vector<domain::PageCount>& counts) = 0;

  // Drops every cached count: used when counts that could not be written are too many to remember.
  virtual absl::Status InvalidateAll() = 0;

  virtual absl::Status Ping() = 0;
};

}  // namespace clickstream::ports
