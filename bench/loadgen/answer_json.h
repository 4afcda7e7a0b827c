// Reading the two JSON answers the load generator looks into: the count of a count query and the per-event
// results of a batch ingest. A small recursive walker rather than a JSON library: we need two fields, and the
// generator's hot path must not allocate for them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace clickstream::loadgen {

// The integer "count" of {"user_id": .., "page_url": .., "count": N}; nullopt when absent or not an integer.
std::optional<int64_t> ReadCount(std::string_view body);

// {"accepted": A, "rejected": R, "results": [{"event_id": .., "status": "accepted" | ..}, ...]}
struct BatchAnswer {
  int64_t accepted = -1;  // -1 when absent
  bool has_results = false;
  std::vector<uint8_t> accepted_flags;  // per result, in order: 1 when its status is "accepted"
};

// Fills `answer` (reusing its vector's capacity). False when the body is not a JSON object.
bool ReadBatchAnswer(std::string_view body, BatchAnswer& answer);

}  // namespace clickstream::loadgen
