#include "services/ingestion/batch_body.h"

#include <algorithm>
#include <optional>

#include "common/errors.h"
#include "domain/click_event_json.h"
#include "domain/field_error.h"

namespace clickstream::ingestion {
namespace {

absl::Status TooManyEvents(std::size_t max_events) {
  return common::MakeError(common::ErrorKind::kPayloadTooLarge,
                           "body holds more than " + std::to_string(max_events) + " events");
}

absl::Status NoEvents() { return domain::InvalidField("", "body must hold at least one event"); }

absl::StatusOr<std::vector<domain::BatchEvent>> ParseJsonArrayBatch(std::string_view body, std::size_t max_events,
                                                                    const domain::EventLimits& limits, int64_t now_us) {
  std::optional<simdjson::dom::parser> own;
  auto root = domain::ParseJsonDocument(body, domain::ParserFor(body.size(), own));
  if (!root.ok()) return root.status();
  simdjson::dom::array array;
  if (root->get_array().get(array) != simdjson::SUCCESS) {
    return domain::InvalidField("", "body must be a JSON array of event objects");
  }
  // size() is exact below 2^24 elements and saturates there, so the loop checks the count again.
  if (array.size() > max_events) return TooManyEvents(max_events);
  if (array.size() == 0) return NoEvents();
  std::vector<domain::BatchEvent> events;
  events.reserve(array.size());
  for (const simdjson::dom::element element : array) {
    if (events.size() == max_events) return TooManyEvents(max_events);
    events.push_back(domain::ParseEventValue(element, limits, now_us));
  }
  return events;
}

// The lines of an NDJSON body that are not blank, in order (a line's "\r" is JSON whitespace, so CRLF works).
absl::StatusOr<std::vector<std::string_view>> NdjsonLines(std::string_view body, std::size_t max_events) {
  std::vector<std::string_view> lines;
  lines.reserve(std::min<std::size_t>(max_events, std::count(body.begin(), body.end(), '\n') + 1));
  while (!body.empty()) {
    const std::size_t end = std::min(body.find('\n'), body.size());
    const std::string_view line = body.substr(0, end);
    body.remove_prefix(std::min(end + 1, body.size()));
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (lines.size() == max_events) return TooManyEvents(max_events);
    lines.push_back(line);
  }
  if (lines.empty()) return NoEvents();
  return lines;
}

absl::StatusOr<std::vector<domain::BatchEvent>> ParseNdjsonBatch(std::string_view body, std::size_t max_events,
                                                                 const domain::EventLimits& limits, int64_t now_us) {
  auto lines = NdjsonLines(body, max_events);
  if (!lines.ok()) return lines.status();
  std::vector<domain::BatchEvent> events;
  events.reserve(lines->size());
  for (const std::string_view line : *lines) {
    // Lines are separate documents: one that is not JSON refuses that event only.
    std::optional<simdjson::dom::parser> own;
    auto root = domain::ParseJsonDocument(line, domain::ParserFor(line.size(), own));
    if (root.ok()) {
      events.push_back(domain::ParseEventValue(*root, limits, now_us));
    } else {
      events.push_back({root.status(), {}});
    }
  }
  return events;
}

}  // namespace

absl::StatusOr<std::vector<domain::BatchEvent>> ParseBatchBody(std::string_view body, BatchFormat format,
                                                               std::size_t max_events,
                                                               const domain::EventLimits& limits, int64_t now_us) {
  switch (format) {
    case BatchFormat::kJsonArray: return ParseJsonArrayBatch(body, max_events, limits, now_us);
    case BatchFormat::kNdjson: return ParseNdjsonBatch(body, max_events, limits, now_us);
  }
  return absl::InvalidArgumentError("unknown batch format");
}

}  // namespace clickstream::ingestion
