// Logging: one JSON object per line on stdout, one named logger per module, level from configuration.
// Context goes into the message as key=value pairs; nothing is logged per event at info level.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "absl/strings/string_view.h"

// Debian's Abseil is built with its own string_view type (not std::string_view), which status messages use: let
// log lines format it like any string.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view value, FormatContext& context) const {
    return fmt::formatter<std::string_view>::format(std::string_view(value.data(), value.size()), context);
  }
};

namespace clickstream::common {

// Sets the process-wide level ("trace" ... "off"); returns false for an unknown name.
bool ConfigureLogging(std::string_view level);

// The logger for `module`, created on first use with the JSON-lines sink.
std::shared_ptr<spdlog::logger> Logger(const std::string& module);

}  // namespace clickstream::common
