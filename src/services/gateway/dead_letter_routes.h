// GET /dead-letters and POST /dead-letters/replay: the dead-letter ledger for an operator, asked of analytics. The
// gateway's query API keys apply. The letters are chosen in the query string: `ids` (comma-separated), `reason` (a
// reason code), `since` and `until` (RFC 3339, when they were dead-lettered; until exclusive), `after` (an id, for
// the next page) and `limit` (1 to max_limit, default 100). A replay must name its letters: ids, a reason or a time
// range.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "ports/dead_letter_client.h"
#include "ports/http.h"

namespace clickstream::gateway {

struct DeadLetterRouteOptions {
  std::vector<std::string> api_keys;          // empty: no key needed
  std::chrono::milliseconds deadline{30000};  // per call; a replay publishes every letter it selects
  std::size_t max_limit = 1000;
};

// `client` must outlive the routes.
std::vector<ports::HttpRoute> DeadLetterRoutes(ports::DeadLetterClient& client, DeadLetterRouteOptions options);

}  // namespace clickstream::gateway
