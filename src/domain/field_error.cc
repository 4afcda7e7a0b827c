#include "domain/field_error.h"

#include "absl/strings/cord.h"

namespace clickstream::domain {

absl::Status InvalidField(std::string_view field, std::string_view message, std::string_view reason) {
  absl::Status status(absl::StatusCode::kInvalidArgument, std::string(message));
  status.SetPayload(std::string(kFieldPayload), absl::Cord(std::string(field)));
  if (!reason.empty()) status.SetPayload(std::string(kReasonPayload), absl::Cord(std::string(reason)));
  return status;
}

std::string ReasonOf(const absl::Status& status) {
  auto reason = status.GetPayload(std::string(kReasonPayload));
  return reason ? std::string(*reason) : std::string(kReasonInvalid);
}

std::string FieldOf(const absl::Status& status) {
  auto field = status.GetPayload(std::string(kFieldPayload));
  return field ? std::string(*field) : std::string();
}

}  // namespace clickstream::domain
