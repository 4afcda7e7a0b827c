#include "domain/batch.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_set>

namespace clickstream::domain {

Batch PrepareBatch(const std::vector<Record>& records, const EventLimits& limits, int64_t now_us) {
  Batch batch;
  batch.events.reserve(records.size());
  std::unordered_set<std::string_view> seen_ids;
  seen_ids.reserve(records.size());
  std::map<int32_t, int64_t> next_offsets;

  for (const Record& record : records) {
    auto& next = next_offsets[record.partition];
    next = std::max(next, record.offset + 1);

    auto event = ParseClickEvent(record.value, limits, now_us);
    if (!event.ok()) {
      batch.poison.push_back({record, std::string(event.status().message())});
      continue;
    }
    batch.events.push_back(std::move(*event));
    // Duplicates inside one batch are dropped here; the store drops those it has seen in earlier batches.
    if (!seen_ids.insert(batch.events.back().event_id).second) batch.events.pop_back();
  }
  for (const auto& [partition, next] : next_offsets) batch.next_offsets.push_back({partition, next});
  return batch;
}

}  // namespace clickstream::domain
