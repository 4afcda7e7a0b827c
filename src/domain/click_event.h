// The click event: parsing and validation of the public JSON contract, and its normalized JSON form (the Kafka
// record value and the body echoed by POST /ingest). Pure: no I/O, the clock is passed in.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace clickstream::domain {

struct ClickEvent {
  std::string event_id;
  std::string user_id;
  std::string event_type;
  std::string page_url;
  int64_t time_stamp_us = 0;  // microseconds since the Unix epoch, UTC
};

struct EventLimits {
  std::size_t max_field_bytes = 2048;
  // Against the instant ingestion accepts an event (the record's broker time, for the processor):
  std::chrono::seconds max_age{std::chrono::hours(24 * 366 * 10)};  // an older time_stamp is refused
  std::chrono::seconds max_skew{std::chrono::hours(24)};            // one further ahead is refused
  std::chrono::seconds late_after{300};  // an older one is counted, and counted as late in the metrics
};

// Checks one required string field: not empty, at most limits.max_field_bytes, valid UTF-8 (query-string values
// are bytes), no control characters (C0, DEL or C1).
absl::Status CheckIdField(std::string_view name, std::string_view value, const EventLimits& limits);

// Reads the string values of `names` from a JSON object; a name that is absent stays nullopt, other fields are
// ignored. Refuses (INVALID_ARGUMENT) what is not a JSON object (malformed, invalid UTF-8, nested deeper than 1024,
// a number simdjson cannot represent: an integer past 64 bits, a float past a double), a named field that is not a
// string, and a named field given twice: which of two user_id values an event means is anybody's guess, so the
// error names the field rather than picking one.
absl::StatusOr<std::vector<std::optional<std::string>>> ReadStringFields(std::string_view json,
                                                                         std::span<const std::string_view> names);

// Parses a JSON object with the required strings event_id, user_id, event_type, page_url and the optional RFC 3339
// time_stamp (absent: `now_us`), as ReadStringFields reads them. An error is INVALID_ARGUMENT naming the field
// (domain::FieldOf) when one is at fault.
absl::StatusOr<ClickEvent> ParseClickEvent(std::string_view json, const EventLimits& limits, int64_t now_us);

// One event of a body holding many (services/ingestion/batch_body.h): the event, or the error ParseClickEvent
// gives for it alone.
struct BatchEvent {
  absl::StatusOr<ClickEvent> event;
  // A refused event's event_id when a valid one could be read, so a client can tell which event it was; empty
  // otherwise (a valid event's is event->event_id, not copied here).
  std::string event_id;
};

// The normalized JSON of an event, time_stamp in RFC 3339 UTC.
std::string ToJson(const ClickEvent& event);

// RFC 3339 in UTC with microseconds when they are not zero: "2024-05-01T12:00:00.25Z".
std::string FormatTimestamp(int64_t time_stamp_us);
// Whether `bytes` are valid UTF-8 (a record's bytes need not be).
bool IsUtf8(std::string_view bytes);
// An RFC 3339 date-time (the grammar exactly, as time_stamp takes it) in microseconds since the epoch.
std::optional<int64_t> ParseRfc3339(std::string_view text);

int64_t NowMicros();

}  // namespace clickstream::domain
