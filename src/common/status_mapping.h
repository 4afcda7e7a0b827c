// The one place where an absl::Status becomes an HTTP answer. Codes follow absl/status.h: UNAVAILABLE when
// retrying may help, RESOURCE_EXHAUSTED for a full queue, INVALID_ARGUMENT for a bad payload,
// DEADLINE_EXCEEDED for a timeout.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace clickstream::common {

int ToHttpStatus(absl::StatusCode code);
// The short machine-readable code of the JSON error body, e.g. "invalid_argument".
std::string_view ToErrorCode(absl::StatusCode code);
// Whether the answer should carry Retry-After: the client may succeed by trying again later.
bool IsRetryable(absl::StatusCode code);

}  // namespace clickstream::common
