// `clickstream reconcile`: checks counters against the events they count. For one pair it asks the gateway
// (GET /analytics/reconcile); for the whole table it reads PostgreSQL directly (postgres::AuditTable), since a
// full scan is an operator's choice, never something a public route should let anyone start.
#pragma once

#include <string>
#include <vector>

namespace clickstream::cli {

// Exit codes: 0 consistent; 1 drift found, or the gateway or database could not answer; 2 bad arguments.
int RunReconcile(const std::vector<std::string>& args);

}  // namespace clickstream::cli
