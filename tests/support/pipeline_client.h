// What a client of the pipeline does in tests: post events, read counts through the gateway, and wait for the
// counts to become exact.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "support/events.h"
#include "support/http_client.h"

namespace clickstream::testing_support {

using Pair = std::pair<std::string, std::string>;  // (user_id, page_url)

// The count of a pair through GET /analytics/events with a query string; -1 when the answer is not a 200.
int64_t QueryCount(HttpConnection& gateway, const std::string& user_id, const std::string& page_url);

// Polls the gateway until every pair's count equals `expected` or `timeout` passes; returns the pairs still
// wrong, with the count last seen.
std::map<Pair, int64_t> WaitForCounts(uint16_t gateway_port, const std::map<Pair, int64_t>& expected,
                                      std::chrono::seconds timeout = std::chrono::seconds(20));

}  // namespace clickstream::testing_support
