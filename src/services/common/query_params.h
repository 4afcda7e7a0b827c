// Query-string values read as the routes' parameters, each error INVALID_ARGUMENT naming the parameter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace clickstream::services {

// A whole number from `min`.
absl::StatusOr<int64_t> WholeNumber(const std::string& field, const std::string& text, int64_t min);
// A page size from 1 to `max`.
absl::StatusOr<std::size_t> Limit(const std::string& field, const std::string& text, std::size_t max);
// An RFC 3339 date-time, in µs since the epoch.
absl::StatusOr<int64_t> Instant(const std::string& field, const std::string& text);

}  // namespace clickstream::services
