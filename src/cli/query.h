// `clickstream query`: the count of one (user_id, page_url) pair through the gateway (GET /analytics/events), with
// how fresh it is, for a terminal or a script.
#pragma once

#include <string>
#include <vector>

namespace clickstream::cli {

// Exit codes: 0 answered; 1 the gateway refused or did not answer; 2 bad arguments.
int RunQuery(const std::vector<std::string>& args);

}  // namespace clickstream::cli
