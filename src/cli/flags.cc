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

absl::StatusOr<std::size_t> CountFlag(const std::string& name, const std::string& value, std::size_t min) {
  uint64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > 10'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(name, " takes a whole number from ", min, ", not '", value, "'"));
  }
  return static_cast<std::size_t>(parsed);
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
