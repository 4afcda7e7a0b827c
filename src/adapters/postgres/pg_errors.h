// What the PostgreSQL adapters share: a bounded connect, and libpqxx's exceptions as statuses.
#pragma once

#include <exception>
#include <string>

#include "absl/status/status.h"

namespace clickstream::postgres {

// `url` with connect_timeout=3 unless it sets one: a dead server must not hang a caller.
std::string WithConnectTimeout(const std::string& url);

// A lost connection or a transaction the server aborted is UNAVAILABLE (retrying may help); data the server refuses
// for good is INVALID_ARGUMENT; anything else INTERNAL.
absl::Status ToStatus(const std::exception& error);

}  // namespace clickstream::postgres
