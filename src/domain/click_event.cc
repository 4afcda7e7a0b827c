#include "domain/click_event.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <simdjson.h>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/json_text.h"
#include "domain/click_event_json.h"
#include "domain/field_error.h"

namespace clickstream::domain {
namespace {

constexpr std::array<std::string_view, 5> kEventFields = {"event_id", "user_id", "event_type", "page_url",
                                                          "time_stamp"};
constexpr std::size_t kTimeStamp = 4;  // index of time_stamp in kEventFields; the others are required

// PostgreSQL text cannot hold NUL and control characters in ids only cause grief downstream (logs, terminals, CSV
// exports), so a field with them is rejected here rather than poisoning a batch later. `value` is valid UTF-8, so
// a 0xC2 lead byte is followed by a continuation byte, and C2 80..C2 9F encode the C1 controls U+0080..U+009F.
bool HasControlCharacter(std::string_view value) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte < 0x20 || byte == 0x7f) return true;
    if (byte == 0xc2 && i + 1 < value.size() && static_cast<unsigned char>(value[i + 1]) < 0xa0) return true;
  }
  return false;
}

// Why simdjson refused a document, in words a client can act on.
std::string JsonProblem(simdjson::error_code error) {
  switch (error) {
    case simdjson::EMPTY: return "body is empty";
    case simdjson::UTF8_ERROR: return "body is not valid UTF-8";
    case simdjson::DEPTH_ERROR:
      return "body is not valid JSON: nested deeper than " + std::to_string(simdjson::DEFAULT_MAX_DEPTH) + " levels";
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE: return "body is not valid JSON: a number is out of range";
    case simdjson::STRING_ERROR: return "body is not valid JSON: a string has a malformed escape";
    case simdjson::UNESCAPED_CHARS: return "body is not valid JSON: a string has an unescaped control character";
    case simdjson::UNCLOSED_STRING: return "body is not valid JSON: a string is not closed";
    default: return "body is not valid JSON";
  }
}

// absl's RFC3339_full parser is lenient: it skips surrounding whitespace and takes one-digit months, "+01" or
// "+0100" offsets and five-digit years. The contract is RFC 3339's grammar, so the shape is checked here and absl
// then checks the ranges (month 13, February 30, hour 24):
//   YYYY-MM-DD "T" hh:mm:ss ["." 1*digit] ("Z" / ("+" / "-") hh:mm), T and Z in either case.
bool HasRfc3339Shape(std::string_view text) {
  auto digits = [&](std::size_t at, std::size_t count) {
    if (at + count > text.size()) return false;
    for (std::size_t i = at; i < at + count; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return false;
    }
    return true;
  };
  auto is = [&](std::size_t at, std::string_view options) {
    return at < text.size() && options.find(text[at]) != std::string_view::npos;
  };
  if (!(digits(0, 4) && is(4, "-") && digits(5, 2) && is(7, "-") && digits(8, 2) && is(10, "Tt") && digits(11, 2) &&
        is(13, ":") && digits(14, 2) && is(16, ":") && digits(17, 2))) {
    return false;
  }
  std::size_t at = 19;
  if (is(at, ".")) {
    const std::size_t first = ++at;
    while (digits(at, 1)) ++at;
    if (at == first) return false;
  }
  if (is(at, "Zz")) return at + 1 == text.size();
  return is(at, "+-") && digits(at + 1, 2) && is(at + 3, ":") && digits(at + 4, 2) && at + 6 == text.size();
}

// The form FormatTimestamp writes, which is what every record ingestion publishes ("2024-05-01T12:00:00Z",
// "2024-05-01T12:00:00.25Z"), in microseconds; nullopt for anything else (an offset, a lower-case letter, a date
// that does not exist, more than 9 fraction digits), which absl then reads. absl::ParseTime reads this form too, but
// interprets its format string on every call: it was a tenth of the processor's CPU applying a backlog. `text` has
// the RFC 3339 shape already. Fraction digits past the sixth are dropped, as absl::ToUnixMicros rounds down.
std::optional<int64_t> ReadCanonicalUtc(std::string_view text) {
  auto number = [&](std::size_t at, std::size_t count) {
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  const std::size_t fraction_digits = text.size() > 21 ? text.size() - 21 : 0;  // after "...:SS." and before 'Z'
  const bool plain = text.size() == 20;
  if (text[10] != 'T' || text.back() != 'Z' || (!plain && (text[19] != '.' || fraction_digits > 9))) {
    return std::nullopt;
  }
  const int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  const std::chrono::year_month_day date{std::chrono::year(number(0, 4)),
                                         std::chrono::month(static_cast<unsigned>(number(5, 2))),
                                         std::chrono::day(static_cast<unsigned>(number(8, 2)))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  int64_t micros = 0;
  for (std::size_t i = 0; i < 6; ++i) micros = micros * 10 + (i < fraction_digits ? text[20 + i] - '0' : 0);
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  return (((days * 24 + hour) * 60 + minute) * 60 + second) * 1'000'000 + micros;
}

absl::StatusOr<int64_t> ParseTimestamp(std::string_view text, const EventLimits& limits, int64_t now_us) {
  const auto parsed = ParseRfc3339(text);
  if (!parsed) {
    return InvalidField("time_stamp", "time_stamp must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z");
  }
  const int64_t us = *parsed;
  const int64_t max_age_us = std::chrono::duration_cast<std::chrono::microseconds>(limits.max_age).count();
  const int64_t max_skew_us = std::chrono::duration_cast<std::chrono::microseconds>(limits.max_skew).count();
  if (us < now_us - max_age_us) return InvalidField("time_stamp", "time_stamp is too far in the past", kReasonTooOld);
  if (us > now_us + max_skew_us) {
    return InvalidField("time_stamp", "time_stamp is too far in the future", kReasonTooFarAhead);
  }
  return us;
}

using FieldValues = std::vector<std::optional<std::string>>;

// A parser keeps its buffers, about 14 times the largest document it parsed, for the next parse. Documents up to
// this size share the thread's parser, so parsing allocates little; a larger one (a big batch) gets a parser of
// its own, so one big body does not pin that memory on every I/O thread for good.
constexpr std::size_t kRetainedParserBytes = std::size_t{1} << 20;

}  // namespace

simdjson::dom::parser& ParserFor(std::size_t bytes, std::optional<simdjson::dom::parser>& own) {
  thread_local simdjson::dom::parser parser;
  return bytes <= kRetainedParserBytes ? parser : own.emplace();
}

// The DOM parser validates the whole document (structure, UTF-8, depth, nothing after the value) before we look
// at it. The element lives as long as `parser` and until its next parse.
absl::StatusOr<simdjson::dom::element> ParseJsonDocument(std::string_view json, simdjson::dom::parser& parser) {
  // A default string_view has no data pointer, which simdjson would hand to memcpy: answer it here.
  if (json.empty()) return InvalidField("", JsonProblem(simdjson::EMPTY));
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root); error != simdjson::SUCCESS) {
    return InvalidField("", JsonProblem(error));
  }
  return root;
}

namespace {

// ReadStringFields on a parsed value; `what` names the value when it is not an object ("body", "event").
absl::StatusOr<FieldValues> ReadObjectFields(simdjson::dom::element root, std::span<const std::string_view> names,
                                             std::string_view what) {
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidField("", std::string(what) + " must be a JSON object");
  }
  FieldValues values(names.size());
  for (const simdjson::dom::key_value_pair field : object) {
    const auto name = std::find(names.begin(), names.end(), field.key);
    if (name == names.end()) continue;  // unknown fields are ignored
    std::optional<std::string>& value = values[name - names.begin()];
    if (value.has_value()) return InvalidField(*name, std::string(*name) + " appears more than once");
    std::string_view text;
    if (field.value.get_string().get(text) != simdjson::SUCCESS) {
      return InvalidField(*name, std::string(*name) + " must be a string");
    }
    value.emplace(text);
  }
  return values;
}

// The event that the values of kEventFields describe, checked.
absl::StatusOr<ClickEvent> EventFromFields(FieldValues values, const EventLimits& limits, int64_t now_us) {
  ClickEvent event;
  std::string* const required[] = {&event.event_id, &event.user_id, &event.event_type, &event.page_url};
  for (std::size_t i = 0; i < std::size(required); ++i) {
    if (auto status = CheckIdField(kEventFields[i], values[i].value_or(""), limits); !status.ok()) return status;
    *required[i] = std::move(*values[i]);
  }
  if (const auto& time_stamp = values[kTimeStamp]) {
    auto parsed = ParseTimestamp(*time_stamp, limits, now_us);
    if (!parsed.ok()) return parsed.status();
    event.time_stamp_us = *parsed;
  } else {
    event.time_stamp_us = now_us;
  }
  return event;
}

}  // namespace

BatchEvent ParseEventValue(simdjson::dom::element element, const EventLimits& limits, int64_t now_us) {
  auto values = ReadObjectFields(element, kEventFields, "event");
  BatchEvent out{values.ok() ? EventFromFields(std::move(*values), limits, now_us) : values.status(), {}};
  if (out.event.ok() || FieldOf(out.event.status()) == "event_id") return out;
  std::string_view id;
  if (element.at_key("event_id").get_string().get(id) == simdjson::SUCCESS &&
      CheckIdField("event_id", id, limits).ok()) {
    out.event_id = id;
  }
  return out;
}

absl::Status CheckIdField(std::string_view name, std::string_view value, const EventLimits& limits) {
  if (value.empty()) return InvalidField(name, std::string(name) + " must not be empty");
  if (value.size() > limits.max_field_bytes) {
    return InvalidField(name,
                        std::string(name) + " is longer than " + std::to_string(limits.max_field_bytes) + " bytes");
  }
  if (!simdjson::validate_utf8(value.data(), value.size())) {
    return InvalidField(name, std::string(name) + " is not valid UTF-8");
  }
  if (HasControlCharacter(value)) return InvalidField(name, std::string(name) + " contains control characters");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<std::string>>> ReadStringFields(std::string_view json,
                                                                         std::span<const std::string_view> names) {
  std::optional<simdjson::dom::parser> own;
  auto root = ParseJsonDocument(json, ParserFor(json.size(), own));
  if (!root.ok()) return root.status();
  return ReadObjectFields(*root, names, "body");
}

absl::StatusOr<ClickEvent> ParseClickEvent(std::string_view json, const EventLimits& limits, int64_t now_us) {
  auto values = ReadStringFields(json, kEventFields);
  if (!values.ok()) return values.status();
  return EventFromFields(std::move(*values), limits, now_us);
}

bool IsUtf8(std::string_view bytes) { return simdjson::validate_utf8(bytes.data(), bytes.size()); }

std::optional<int64_t> ParseRfc3339(std::string_view text) {
  if (!HasRfc3339Shape(text)) return std::nullopt;
  if (auto micros = ReadCanonicalUtc(text)) return micros;
  absl::Time parsed;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &parsed, &error)) return std::nullopt;
  return absl::ToUnixMicros(parsed);
}

std::string FormatTimestamp(int64_t time_stamp_us) {
  const absl::Time time = absl::FromUnixMicros(time_stamp_us);
  // %E4Y: RFC 3339 years have four digits, 0989 included (a series may start that early).
  const char* format = time_stamp_us % 1'000'000 == 0 ? "%E4Y-%m-%d%ET%H:%M:%SZ" : "%E4Y-%m-%d%ET%H:%M:%E*SZ";
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
