#include "services/common/query_params.h"

#include "absl/strings/numbers.h"
#include "domain/click_event.h"
#include "domain/field_error.h"

namespace clickstream::services {

absl::StatusOr<int64_t> WholeNumber(const std::string& field, const std::string& text, int64_t min) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min) {
    return domain::InvalidField(field, field + " must be a whole number from " + std::to_string(min));
  }
  return value;
}

absl::StatusOr<std::size_t> Limit(const std::string& field, const std::string& text, std::size_t max) {
  auto limit = WholeNumber(field, text, 1);
  if (!limit.ok() || static_cast<uint64_t>(*limit) > max) {
    return domain::InvalidField(field, field + " must be from 1 to " + std::to_string(max));
  }
  return static_cast<std::size_t>(*limit);
}

absl::StatusOr<int64_t> Instant(const std::string& field, const std::string& text) {
  const auto at = domain::ParseRfc3339(text);
  if (!at) return domain::InvalidField(field, field + " must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z");
  return *at;
}

}  // namespace clickstream::services
