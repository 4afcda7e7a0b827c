#include "adapters/postgres/pg_errors.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"

namespace clickstream::postgres {

std::string WithConnectTimeout(const std::string& url) {
  if (absl::StrContains(url, "connect_timeout")) return url;
  return url + (absl::StrContains(url, "?") ? "&" : "?") + "connect_timeout=3";
}

absl::Status ToStatus(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) {
    return absl::UnavailableError(std::string("postgres connection: ") + error.what());
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    const std::string& state = sql->sqlstate();
    // 40: serialization failure or deadlock; 57: server shutting down; 08: connection exception; 53: resources.
    if (state.starts_with("40") || state.starts_with("57") || state.starts_with("08") || state.starts_with("53")) {
      return absl::UnavailableError(std::string("postgres: ") + sql->what());
    }
    // 22: data exception; 23: integrity constraint violation; 54: program limit exceeded (a value too large for an
    // index, say). The same rows fail the same way every time: retrying cannot cure them.
    if (state.starts_with("22") || state.starts_with("23") || state.starts_with("54")) {
      return absl::InvalidArgumentError("postgres refused the data (SQLSTATE " + state + "): " + sql->what());
    }
    return absl::InternalError(std::string("postgres: ") + sql->what());
  }
  return absl::UnavailableError(std::string("postgres: ") + error.what());
}

}  // namespace clickstream::postgres
