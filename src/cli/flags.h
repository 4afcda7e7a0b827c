// The command-line tools' options: `--name value` or `--name=value`, and --help (or -h) anywhere.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace clickstream::cli {

struct Flags {
  bool help = false;
  std::vector<std::pair<std::string, std::string>> values;  // (name with its dashes, value), in order
};

// INVALID_ARGUMENT naming the option that has no value.
absl::StatusOr<Flags> SplitFlags(const std::vector<std::string>& args);

// Whether the option `name`, which takes no value, is among `args`; taken out of them, so that SplitFlags does not
// read the next argument as its value.
bool TakeSwitch(std::vector<std::string>& args, const std::string& name);

// `value` of option `name` as a whole number from `min` to 10,000,000; INVALID_ARGUMENT naming the option otherwise.
absl::StatusOr<std::size_t> CountFlag(const std::string& name, const std::string& value, std::size_t min);

// How a command ends before it runs: 2 with `error` on stderr (bad usage), 0 with `usage` on stdout (--help), or
// nullopt when it should run.
std::optional<int> EarlyExit(const char* command, const std::optional<std::string>& error, bool help,
                             const char* usage);

}  // namespace clickstream::cli
