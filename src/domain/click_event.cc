#include "domain/click_event.h"

#include <array>

#include <simdjson.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/json_text.h"
#include "common/status_mapping.h"

namespace clickstream::domain {
namespace {

using common::InvalidField;

constexpr std::array<std::string_view, 4> kRequiredFields = {"event_id", "user_id", "event_type", "page_url"};

// PostgreSQL text cannot hold NUL and control characters in ids only cause grief downstream, so a field with
// them is rejected here rather than poisoning a batch later.
bool HasControlCharacter(std::string_view value) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

absl::Status CheckIdField(std::string_view name, std::string_view value, const EventLimits& limits) {
  if (value.empty()) return InvalidField(name, std::string(name) + " must not be empty");
  if (value.size() > limits.max_field_bytes) {
    return InvalidField(name, std::string(name) + " is longer than " + std::to_string(limits.max_field_bytes) +
                                  " bytes");
  }
  if (HasControlCharacter(value)) return InvalidField(name, std::string(name) + " contains control characters");
  return absl::OkStatus();
}

namespace {

absl::StatusOr<int64_t> ParseTimestamp(std::string_view text, const EventLimits& limits, int64_t now_us) {
  absl::Time parsed;
  std::string error;
  // RFC 3339 requires the 'T' separator and an offset; absl's RFC3339_full accepts exactly that (and 'Z').
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &parsed, &error)) {
    return InvalidField("time_stamp", "time_stamp must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z");
  }
  const int64_t us = absl::ToUnixMicros(parsed);
  const int64_t max_age_us = std::chrono::duration_cast<std::chrono::microseconds>(limits.max_age).count();
  const int64_t max_skew_us = std::chrono::duration_cast<std::chrono::microseconds>(limits.max_skew).count();
  if (us < now_us - max_age_us) return InvalidField("time_stamp", "time_stamp is too far in the past");
  if (us > now_us + max_skew_us) return InvalidField("time_stamp", "time_stamp is too far in the future");
  return us;
}

std::string* TargetField(ClickEvent& event, std::string_view key) {
  if (key == "event_id") return &event.event_id;
  if (key == "user_id") return &event.user_id;
  if (key == "event_type") return &event.event_type;
  if (key == "page_url") return &event.page_url;
  return nullptr;
}

}  // namespace

absl::StatusOr<ClickEvent> ParseClickEvent(std::string_view json, const EventLimits& limits, int64_t now_us) {
  // The DOM parser validates the whole document (structure, UTF-8, nothing after the object) before we look at
  // it; one per thread keeps its buffers between calls, so parsing allocates little.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return InvalidField("", "body is not valid JSON");
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidField("", "body must be a JSON object");
  }

  ClickEvent event;
  std::string_view time_stamp;
  bool has_time_stamp = false;
  for (const simdjson::dom::key_value_pair field : object) {
    std::string* target = TargetField(event, field.key);
    const bool is_time_stamp = field.key == "time_stamp";
    if (target == nullptr && !is_time_stamp) continue;
    const std::string name(field.key);
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) {
      return InvalidField(name, name + " must be a string");
    }
    if (is_time_stamp) {
      time_stamp = value;
      has_time_stamp = true;
    } else {
      target->assign(value);
    }
  }

  for (std::string_view name : kRequiredFields) {
    if (auto status = CheckIdField(name, *TargetField(event, name), limits); !status.ok()) return status;
  }
  if (has_time_stamp) {
    auto parsed = ParseTimestamp(time_stamp, limits, now_us);
    if (!parsed.ok()) return parsed.status();
    event.time_stamp_us = *parsed;
  } else {
    event.time_stamp_us = now_us;
  }
  return event;
}

std::string FormatTimestamp(int64_t time_stamp_us) {
  const absl::Time time = absl::FromUnixMicros(time_stamp_us);
  const char* format = time_stamp_us % 1'000'000 == 0 ? "%Y-%m-%d%ET%H:%M:%SZ" : "%Y-%m-%d%ET%H:%M:%E*SZ";
  return absl::FormatTime(format, time, absl::UTCTimeZone());
}

std::string ToJson(const ClickEvent& event) {
  std::string out;
  out.reserve(96 + event.event_id.size() + event.user_id.size() + event.event_type.size() + event.page_url.size());
  out += "{\"event_id\":";
  common::AppendJsonString(out, event.event_id);
  out += ",\"user_id\":";
  common::AppendJsonString(out, event.user_id);
  out += ",\"event_type\":";
  common::AppendJsonString(out, event.event_type);
  out += ",\"page_url\":";
  common::AppendJsonString(out, event.page_url);
  out += ",\"time_stamp\":";
  common::AppendJsonString(out, FormatTimestamp(event.time_stamp_us));
  out += '}';
  return out;
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

}  // namespace clickstream::domain
