// `clickstream dead-letters list|replay`: the dead-letter ledger through the gateway (GET /dead-letters, POST
// /dead-letters/replay), for an operator at a terminal or in a script.
#pragma once

#include <string>
#include <vector>

namespace clickstream::cli {

// Exit codes: 0 done (every letter replayed, for replay); 1 some letter not replayed, or the gateway refused or did
// not answer; 2 bad arguments.
int RunDeadLetters(const std::vector<std::string>& args);

}  // namespace clickstream::cli
