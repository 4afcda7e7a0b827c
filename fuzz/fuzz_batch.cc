// Fuzzes domain::PrepareBatch, what the processor does with every batch of Kafka records, against a plain
// re-statement of its contract: each record is either an event (first occurrence of its event_id, in record
// order), a dropped in-batch duplicate, or poison with a reason; next_offsets holds one entry per partition seen,
// sorted, each one past the highest offset of that partition.
//
// Input: one record per line, "<partition> <offset> <value>". A line that does not start with two numbers is a
// value on partition 0 at the offset after the previous record's.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "domain/batch.h"
#include "fuzz_support.h"

namespace {

using clickstream::domain::Record;

constexpr int64_t kNow = 1'700'000'000'000'000;
// Kafka offsets are far below this; it keeps `offset + 1` from overflowing, which no broker can make happen.
constexpr int64_t kMaxOffset = int64_t{1} << 53;

// Reads a number and the space after it from the front of `text`.
template <typename Int>
bool TakeNumber(std::string_view& text, Int& value) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || ptr == end || *ptr != ' ') return false;
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()) + 1);
  return true;
}

std::vector<Record> ReadRecords(std::string_view input) {
  std::vector<Record> records;
  int64_t next_offset = 0;
  while (!input.empty()) {
    auto [line, rest] = clickstream::fuzz::SplitLine(input);
    input = rest;
    Record record;
    std::string_view value = line;
    int32_t partition = 0;
    int64_t offset = 0;
    if (TakeNumber(value, partition) && TakeNumber(value, offset) && partition >= 0 && offset >= 0 &&
        offset < kMaxOffset) {
      record.partition = partition;
      record.offset = offset;
    } else {
      value = line;
      record.offset = next_offset;
    }
    next_offset = record.offset + 1;
    record.value = std::string(value);
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  clickstream::domain::EventLimits limits;
  limits.max_field_bytes = 64;
  const std::vector<Record> records = ReadRecords(std::string_view(reinterpret_cast<const char*>(data), size));

  const clickstream::domain::Batch batch = clickstream::domain::PrepareBatch(records, limits, kNow);

  std::size_t event = 0;
  std::size_t poison = 0;
  std::set<std::string> seen;
  std::map<int32_t, int64_t> next_offsets;
  for (const Record& record : records) {
    auto& next = next_offsets[record.partition];
    next = std::max(next, record.offset + 1);
    auto parsed = clickstream::domain::ParseClickEvent(record.value, limits, kNow);
    if (!parsed.ok()) {
      FUZZ_CHECK(poison < batch.poison.size());
      FUZZ_CHECK(batch.poison[poison].record.value == record.value);
      FUZZ_CHECK(batch.poison[poison].record.offset == record.offset);
      FUZZ_CHECK(batch.poison[poison].record.partition == record.partition);
      FUZZ_CHECK(batch.poison[poison].reason == parsed.status().message());
      FUZZ_CHECK(!batch.poison[poison].reason.empty());
      ++poison;
      continue;
    }
    if (!seen.insert(parsed->event_id).second) continue;  // an in-batch duplicate: dropped
    FUZZ_CHECK(event < batch.events.size());
    const auto& got = batch.events[event];
    FUZZ_CHECK(got.event_id == parsed->event_id && got.user_id == parsed->user_id &&
               got.event_type == parsed->event_type && got.page_url == parsed->page_url &&
               got.time_stamp_us == parsed->time_stamp_us);
    ++event;
  }
  FUZZ_CHECK(event == batch.events.size());
  FUZZ_CHECK(poison == batch.poison.size());

  FUZZ_CHECK(batch.next_offsets.size() == next_offsets.size());
  std::size_t i = 0;
  for (const auto& [partition, next] : next_offsets) {
    FUZZ_CHECK(batch.next_offsets[i].partition == partition);
    FUZZ_CHECK(batch.next_offsets[i].next_offset == next);
    ++i;
  }
  return 0;
}
