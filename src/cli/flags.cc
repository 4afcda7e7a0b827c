#include "cli/flags.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace clickstream::cli {

absl::StatusOr<Flags> SplitFlags(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (name == "--help" || name == "-h") {
      flags.help = true;
      continue;
    }
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError("option " + name + " needs a value");
    }
    flags.values.emplace_back(std::move(name), std::move(value));
  }
  return flags;
}

absl::StatusOr<std::size_t> CountFlag(const std::string& name, const std::string& value, std::size_t min,
                                      std::size_t max) {
  uint64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " takes a whole number from ", min, " to ", max, ", not '", value, "'"));
  }
  return static_cast<std::size_t>(parsed);
}

absl::StatusOr<bool> ReadServiceFlag(const std::string& name, const std::string& value, const std::string& url_flag,
                                     ServiceFlags& service) {
  if (name == url_flag) {
    if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " takes a URL starting http:// or https://, not '", value, "'"));
    }
    service.url = value;
  } else if (name == "--api-key") {
    service.api_key = value;
  } else if (name == "--timeout") {
    auto seconds = CountFlag(name, value, 1);
    if (!seconds.ok()) return seconds.status();
    service.timeout = std::chrono::seconds(*seconds);
  } else {
    return false;
  }
  return true;
}

std::optional<std::string> ParseCommandFlags(const std::vector<std::string>& args, const std::string& url_flag,
                                             ServiceFlags& service, bool& help, const OptionReader& read) {
  auto flags = SplitFlags(args);
  if (!flags.ok()) return std::string(flags.status().message());
  help = flags->help;
  for (const auto& [name, value] : flags->values) {
    auto taken = ReadServiceFlag(name, value, url_flag, service);
    if (!taken.ok()) return std::string(taken.status().message());
    if (*taken) continue;
    if (auto error = read(name, value)) return error;
  }
  return std::nullopt;
}

std::string UnknownOption(const std::string& name, const char* command) {
  return absl::StrCat("unknown option ", name, " (see clickstream ", command, " --help)");
}

std::optional<int> EarlyExit(const char* command, const std::optional<std::string>& error, bool help,
                             const char* usage) {
  if (error) {
    std::fprintf(stderr, "clickstream %s: %s\n", command, error->c_str());
    return 2;
  }
  if (help) {
    std::fputs(usage, stdout);
    return 0;
  }
  return std::nullopt;
}

bool TakeSwitch(std::vector<std::string>& args, const std::string& name) {
  const auto before = args.size();
  std::erase(args, name);
  return args.size() != before;
}

}  // namespace clickstream::cli
