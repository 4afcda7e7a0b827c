// `clickstream tail`: live counts through the gateway, a line each time one changes, until interrupted.
#pragma once

#include <string>
#include <vector>

namespace clickstream::cli {

// Exit codes: 0 stopped by SIGINT/SIGTERM or at --duration; 1 the gateway refused or stopped answering; 2 bad usage.
int RunTail(const std::vector<std::string>& args);

}  // namespace clickstream::cli
