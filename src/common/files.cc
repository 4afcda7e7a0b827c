#include "common/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace clickstream::common {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, std::string_view what) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError("cannot read " + std::string(what) + " file " + path + ": " +
                                      std::strerror(errno));
  }
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) return absl::InvalidArgumentError("cannot read " + std::string(what) + " file " + path);
  return content.str();
}

}  // namespace clickstream::common
