// A validation error that names the field at fault: an INVALID_ARGUMENT status carrying the field's name as a
// payload, so every boundary can say which field was wrong ("field" in a JSON error) without parsing messages; and,
// for the refusals metrics count apart, a short reason code.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace clickstream::domain {

// The payload under which a validation error names the offending field.
inline constexpr std::string_view kFieldPayload = "clickstream/field";

inline constexpr std::string_view kReasonPayload = "clickstream/reason";

// The reason codes of refused events, as metrics label them.
inline constexpr std::string_view kReasonInvalid = "invalid";  // any refusal without a code of its own
inline constexpr std::string_view kReasonTooOld = "time_stamp_too_old";
inline constexpr std::string_view kReasonTooFarAhead = "time_stamp_too_far_ahead";

// INVALID_ARGUMENT with `message`, naming `field` ("" when no one field is at fault), and `reason` when given.
absl::Status InvalidField(std::string_view field, std::string_view message, std::string_view reason = {});
// The field an INVALID_ARGUMENT status names, or "" when it names none.
std::string FieldOf(const absl::Status& status);
// The reason code a refusal carries, kReasonInvalid when it carries none.
std::string ReasonOf(const absl::Status& status);

}  // namespace clickstream::domain
