// The command-line tools' options: `--name value` or `--name=value`, and --help (or -h) anywhere.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
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

// `value` of option `name` as a whole number from `min` to `max`; INVALID_ARGUMENT naming the option otherwise.
absl::StatusOr<std::size_t> CountFlag(const std::string& name, const std::string& value, std::size_t min,
                                      std::size_t max = 10'000'000);

// What every command that talks to one service takes: the service's base URL (under the command's own option, such
// as --gateway or --ingest), --api-key (sent as X-API-Key) and --timeout in seconds.
struct ServiceFlags {
  std::string url;
  std::string api_key = {};
  std::chrono::seconds timeout{10};
};

// Reads option `name` into `service` when it is one of those (`url_flag` the URL's option) and answers true; false
// for any other option; INVALID_ARGUMENT naming it when its value is bad.
absl::StatusOr<bool> ReadServiceFlag(const std::string& name, const std::string& value, const std::string& url_flag,
                                     ServiceFlags& service);

// Reads a command's options from `args`: --help into `help`, the service's (ReadServiceFlag) into `service`, and
// each other one through `read`, which answers an error or nullopt. The first error, or nullopt.
using OptionReader = std::function<std::optional<std::string>(const std::string& name, const std::string& value)>;
std::optional<std::string> ParseCommandFlags(const std::vector<std::string>& args, const std::string& url_flag,
                                             ServiceFlags& service, bool& help, const OptionReader& read);

// The error for an option `command` does not take.
std::string UnknownOption(const std::string& name, const char* command);

// How a command ends before it runs: 2 with `error` on stderr (bad usage), 0 with `usage` on stdout (--help), or
// nullopt when it should run.
std::optional<int> EarlyExit(const char* command, const std::optional<std::string>& error, bool help,
                             const char* usage);

}  // namespace clickstream::cli
