// Fuzzes the public event contract: domain::ParseClickEvent on arbitrary bytes. Whatever the input, parsing either
// fails with INVALID_ARGUMENT or yields an event within the limits, and the normalized JSON (what ingestion
// publishes and the processor parses again) gives back the very same event.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "domain/click_event.h"
#include "fuzz_support.h"

namespace {

using clickstream::domain::ClickEvent;
using clickstream::domain::EventLimits;

constexpr int64_t kNow = 1'700'000'000'000'000;  // a fixed clock keeps every run reproducible

// Smaller than the default 2,048 bytes so the fuzzer reaches the length limit with short inputs.
EventLimits Limits() {
  EventLimits limits;
  limits.max_field_bytes = 64;
  return limits;
}

bool Same(const ClickEvent& a, const ClickEvent& b) {
  return a.event_id == b.event_id && a.user_id == b.user_id && a.event_type == b.event_type &&
         a.page_url == b.page_url && a.time_stamp_us == b.time_stamp_us;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const EventLimits limits = Limits();
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  auto event = clickstream::domain::ParseClickEvent(json, limits, kNow);
  if (!event.ok()) {
    FUZZ_CHECK(event.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  for (std::string_view name : {"event_id", "user_id", "event_type", "page_url"}) {
    const std::string& value = name == "event_id"     ? event->event_id
                               : name == "user_id"    ? event->user_id
                               : name == "event_type" ? event->event_type
                                                      : event->page_url;
    FUZZ_CHECK(clickstream::domain::CheckIdField(name, value, limits).ok());
  }
  FUZZ_CHECK(event->time_stamp_us >= kNow - std::chrono::microseconds(limits.max_age).count());
  FUZZ_CHECK(event->time_stamp_us <= kNow + std::chrono::microseconds(limits.max_skew).count());

  const std::string normalized = clickstream::domain::ToJson(*event);
  auto again = clickstream::domain::ParseClickEvent(normalized, limits, kNow);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(Same(*event, *again));
  FUZZ_CHECK(clickstream::domain::ToJson(*again) == normalized);
  return 0;
}
