// A libpqxx connection with the statements its store prepared on it: what pg_stores.h declares opaquely, so that
// its users need not include libpqxx. For the PostgreSQL adapter's own .cc files only.
#pragma once

#include <string>

#include <pqxx/pqxx>

namespace clickstream::postgres {

struct Session {
  explicit Session(const std::string& url) : connection(url) {}
  pqxx::connection connection;
};

}  // namespace clickstream::postgres
