// Reading small files named by settings (keys, certificates), with errors that name the file and the reason.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clickstream::common {

// The whole content of `path`; `what` says what the file is for ("TLS certificate") in the error.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, std::string_view what);

}  // namespace clickstream::common
