#include "domain/field_error.h"

#include "absl/strings/cord.h"

namespace clickstream::domain {

absl::Status InvalidField(std::string_view field, std::string_view message) {
  absl::Status status(absl::StatusCode::kInvalidArgument, std::string(message));
  status.SetPayload(std::string(kFieldPayload), absl::Cord(std::string(field)));
  return status;
}

std::string FieldOf(const absl::Status& status) {
  auto field = status.GetPayload(std::string(kFieldPayload));
  return field ? std::string(*field) : std::string();
}

}  // namespace clickstream::domain
