// --verify: after the load, asks the gateway for the count of every pair the run wrote until each count matches
// what the run knows was stored, or the time is up. Acknowledged events must all be counted; events whose
// request got no answer or a 5xx may or may not be (the service may have stored them before failing to answer),
// so a pair passes when  acknowledged <= count <= acknowledged + uncertain. Counts only grow, so a count above
// that range fails at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clock.h"
#include "options.h"
#include "requests.h"

namespace clickstream::loadgen {

struct VerifyItem {
  PairId pair;
  uint64_t acknowledged = 0;
  uint64_t uncertain = 0;
};

struct VerifyReport {
  uint64_t checked = 0;
  uint64_t wrong = 0;
  std::vector<std::string> examples;  // a few wrong pairs with expected and last seen counts
};

// Runs on the calling thread with a few keep-alive connections to --gateway; gives up after --verify-timeout.
VerifyReport VerifyCounts(const Options& options, const std::vector<VerifyItem>& items);

}  // namespace clickstream::loadgen
