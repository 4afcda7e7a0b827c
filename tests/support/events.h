// The one builder of the click events tests post, publish and store: the JSON a client sends, the domain value,
// and the Kafka record ingestion would publish for it. Text is escaped as JSON wherever it goes, so tests can use
// ids with quotes, backslashes and any UTF-8.
#pragma once

#include <cstdint>
#include <string>

#include "domain/batch.h"
#include "domain/click_event.h"

namespace clickstream::testing_support {

// 2023-11-14T22:13:20Z: the clock unit tests judge events by, and the default time of the events they build.
inline constexpr int64_t kTestNowUs = 1'700'000'000'000'000;

// {"event_id":...,"user_id":...,"event_type":"click","page_url":...}: no time_stamp, so the server stamps it.
std::string EventJson(const std::string& event_id, const std::string& user_id, const std::string& page_url);

// The event as the domain holds it (event_type "click").
domain::ClickEvent MakeEvent(const std::string& event_id, const std::string& user_id, const std::string& page_url,
                             int64_t time_stamp_us = kTestNowUs);

// The record ingestion publishes for `event`: keyed by user_id, its normalized JSON as the value, no broker
// timestamp (the processor then judges time_stamp by its own clock).
domain::Record EventRecord(int32_t partition, int64_t offset, const domain::ClickEvent& event);

}  // namespace clickstream::testing_support
