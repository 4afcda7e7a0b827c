// A libpqxx connection with the statements its store prepared on it: what pg_stores.h declares opaquely, so that
// its users need not include libpqxx. For the PostgreSQL adapter's own .cc files only.
#pragma once

#include <string>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "domain/freshness.h"

namespace clickstream::postgres {

struct Session {
  explicit Session(const std::string& url) : connection(url) {}
  pqxx::connection connection;
};

// Reads in `tx`'s snapshot how far the counts of `topic` reach (the applied position, the newest event time and the
// age of the last batch) into `freshness`; source and lag are left as they are. In pg_stores.cc.
absl::Status ReadAppliedFreshness(pqxx::transaction_base& tx, const std::string& topic, domain::Freshness& freshness);

}  // namespace clickstream::postgres
