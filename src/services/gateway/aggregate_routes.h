// The questions beyond one counter, asked of analytics (domain/aggregates.h), with the query keys:
//   GET /analytics/top-pages        user_id (absent: across users), limit (1 to 1,000, default 10), after (the
//                                   `next` of the page before)
//   GET /analytics/event-types      limit (1 to 1,000, default 10)
//   GET /analytics/clicks-over-time from, to (RFC 3339; default the last 24 hours), bucket (minute, hour or day;
//                                   default hour), time_zone (IANA; default UTC)
// Parameters are checked here, each error naming its field; one the gateway does not know is refused too, so a
// misspelt name is never silently ignored.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "domain/click_event.h"
#include "ports/aggregate_client.h"
#include "ports/http.h"

namespace clickstream::gateway {

struct AggregateRouteOptions {
  std::vector<std::string> api_keys;         // empty: no key needed
  std::chrono::milliseconds deadline{5000};  // per call
  domain::EventLimits limits;                // a user_id is checked as events' are
};

// `client` must outlive the routes.
std::vector<ports::HttpRoute> AggregateRoutes(ports::AggregateClient& client, AggregateRouteOptions options);

}  // namespace clickstream::gateway
