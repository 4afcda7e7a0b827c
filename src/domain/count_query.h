// The question GET /analytics/events and GetEventCount answer: the count of one (user_id, page_url) pair.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "domain/click_event.h"

namespace clickstream::domain {

struct CountQuery {
  std::string user_id;
  std::string page_url;
};

// Takes each field from the query-string parameters, or else from `json_body` (existing clients send a JSON body
// with GET), read as ReadStringFields reads it (a field given twice is refused). Errors are INVALID_ARGUMENT naming
// the field.
absl::StatusOr<CountQuery> ParseCountQuery(const std::map<std::string, std::string>& query_params,
                                           std::string_view json_body, const EventLimits& limits);

absl::Status ValidateCountQuery(const CountQuery& query, const EventLimits& limits);

}  // namespace clickstream::domain
