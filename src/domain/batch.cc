#include "domain/batch.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>
#include <unordered_set>

namespace clickstream::domain {

Batch PrepareBatch(const std::vector<Record>& records, const EventLimits& limits, int64_t now_us) {
  Batch batch;
  batch.events.reserve(records.size());
  batch.sources.reserve(records.size());
  std::unordered_set<std::string_view> seen_ids;
  seen_ids.reserve(records.size());
  std::map<int32_t, int64_t> next_offsets;
  const int64_t late_after_us = std::chrono::duration_cast<std::chrono::microseconds>(limits.late_after).count();

  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& record = records[i];
    auto& next = next_offsets[record.partition];
    next = std::max(next, record.offset + 1);

    const int64_t reference_us = record.timestamp_ms > 0 ? record.timestamp_ms * 1000 : now_us;
    auto event = ParseClickEvent(record.value, limits, reference_us);
    if (!event.ok()) {
      batch.poison.push_back({record, std::string(event.status().message()), ReasonOf(event.status())});
      continue;
    }
    // Duplicates inside one batch are dropped here; the store drops those it has seen in earlier batches.
    if (seen_ids.contains(event->event_id)) continue;
    if (event->time_stamp_us < reference_us - late_after_us) ++batch.late;
    batch.events.push_back(std::move(*event));
    batch.sources.push_back(i);
    seen_ids.insert(batch.events.back().event_id);
  }
  for (const auto& [partition, next] : next_offsets) batch.next_offsets.push_back({partition, next});
  return batch;
}

}  // namespace clickstream::domain
