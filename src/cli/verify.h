// `clickstream verify`: checks a running stack end to end. It posts a tagged stream of events (some of them twice,
// as retrying clients do), waits until the gateway's count of every tagged pair equals the events acknowledged for
// it, and, given the database, checks each pair's counter against its raw rows and those rows against the
// acknowledged event_ids, so a lost and a double-counted event cannot cancel. It starts and stops nothing.
#pragma once

#include <string>
#include <vector>

namespace clickstream::cli {

// Exit codes: 0 every count exact; 1 some count lost or doubled, or the stack refused or never answered; 2 bad
// arguments.
int RunVerify(const std::vector<std::string>& args);

}  // namespace clickstream::cli
