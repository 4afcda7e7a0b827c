// A validation error that names the field at fault: an INVALID_ARGUMENT status carrying the field's name as a
// payload, so every boundary can say which field was wrong ("field" in a JSON error) without parsing messages.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace clickstream::domain {

// The payload under which a validation error names the offending field.
inline constexpr std::string_view kFieldPayload = "clickstream/field";

// INVALID_ARGUMENT with `message`, naming `field` ("" when no one field is at fault).
absl::Status InvalidField(std::string_view field, std::string_view message);
// The field an INVALID_ARGUMENT status names, or "" when it names none.
std::string FieldOf(const absl::Status& status);

}  // namespace clickstream::domain
