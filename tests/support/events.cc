#include "support/events.h"

#include "common/json_text.h"

namespace clickstream::testing_support {

std::string EventJson(const std::string& event_id, const std::string& user_id, const std::string& page_url) {
  std::string json = "{\"event_id\":";
  common::AppendJsonString(json, event_id);
  json += ",\"user_id\":";
  common::AppendJsonString(json, user_id);
  json += ",\"event_type\":\"click\",\"page_url\":";
  common::AppendJsonString(json, page_url);
  return json + "}";
}

domain::ClickEvent MakeEvent(const std::string& event_id, const std::string& user_id, const std::string& page_url,
                             int64_t time_stamp_us) {
  return {event_id, user_id, "click", page_url, time_stamp_us};
}

domain::Record EventRecord(int32_t partition, int64_t offset, const domain::ClickEvent& event) {
  return {partition, offset, event.user_id, domain::ToJson(event), 0};
}

}  // namespace clickstream::testing_support
