// `clickstream top`: pages by clicks (across users or of one user), or event types by clicks, through the gateway
// (GET /analytics/top-pages, /analytics/event-types), printed as a table for a terminal or a script.
#pragma once

#include <string>
#include <vector>

namespace clickstream::cli {

// Exit codes: 0 printed; 1 the gateway refused or did not answer; 2 bad arguments.
int RunTop(const std::vector<std::string>& args);

}  // namespace clickstream::cli
