// Fuzzes the batch ingest contract: ingestion::ParseBatchBody on arbitrary bytes, as a JSON array and as NDJSON.
// Whatever the input, the whole body is refused with INVALID_ARGUMENT (no batch at all) or OUT_OF_RANGE (too many
// events), or every event has its own result: a refusal with INVALID_ARGUMENT, or an event within the limits whose
// normalized JSON parses back, as a single event, to the very same event.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "domain/click_event.h"
#include "fuzz_support.h"
#include "services/ingestion/batch_body.h"

namespace {

using clickstream::domain::EventLimits;
using clickstream::ingestion::BatchFormat;

constexpr int64_t kNow = 1'700'000'000'000'000;  // a fixed clock keeps every run reproducible
constexpr std::size_t kMaxEvents = 8;            // small, so the fuzzer reaches the count limit

EventLimits Limits() {
  EventLimits limits;
  limits.max_field_bytes = 64;
  return limits;
}

void Check(std::string_view body, BatchFormat format, const EventLimits& limits) {
  auto batch = clickstream::ingestion::ParseBatchBody(body, format, kMaxEvents, limits, kNow);
  if (!batch.ok()) {
    FUZZ_CHECK(batch.status().code() == absl::StatusCode::kInvalidArgument ||
               batch.status().code() == absl::StatusCode::kOutOfRange);
    return;
  }
  FUZZ_CHECK(!batch->empty() || format == BatchFormat::kNdjson);
  FUZZ_CHECK(batch->size() <= kMaxEvents);
  for (const auto& result : *batch) {
    if (!result.event.ok()) {
      FUZZ_CHECK(result.event.status().code() == absl::StatusCode::kInvalidArgument);
      continue;
    }
    const std::string normalized = clickstream::domain::ToJson(*result.event);
    auto single = clickstream::domain::ParseClickEvent(normalized, limits, kNow);
    FUZZ_CHECK(single.ok());
    FUZZ_CHECK(clickstream::domain::ToJson(*single) == normalized);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const EventLimits limits = Limits();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  Check(body, BatchFormat::kJsonArray, limits);
  Check(body, BatchFormat::kNdjson, limits);
  return 0;
}
