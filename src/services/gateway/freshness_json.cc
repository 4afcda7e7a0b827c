#include "services/gateway/freshness_json.h"

#include "common/json_text.h"
#include "domain/click_event.h"

namespace clickstream::gateway {
namespace {

// A number, or null when unknown (negative).
std::string NumberOrNull(int64_t value) { return value < 0 ? "null" : std::to_string(value); }

}  // namespace

void AppendFreshness(std::string& body, const domain::Freshness& freshness) {
  body += ",\"freshness\":{\"source\":";
  common::AppendJsonString(body, domain::SourceName(freshness.source));
  body += ",\"position\":";
  if (freshness.position.empty()) {
    body += "null";
  } else {
    common::AppendJsonString(body, domain::PositionToken(freshness.position));
  }
  body += ",\"newest_event_time\":";
  if (freshness.newest_event_time_us <= 0) {
    body += "null";
  } else {
    common::AppendJsonString(body, domain::FormatTimestamp(freshness.newest_event_time_us));
  }
  body += ",\"age_ms\":" + NumberOrNull(freshness.age_ms) + ",\"lag\":" + NumberOrNull(freshness.lag) + "}";
}

}  // namespace clickstream::gateway
