// The whole-table reconciliation an operator runs (`clickstream reconcile --database-url`): every counter in
// page_clicks against the raw rows of its pair in click_events, and every pair with raw rows but no counter, in one
// REPEATABLE READ snapshot with the applied position. Two full scans of each table: not for a request path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/position.h"
#include "domain/reconciliation.h"

namespace clickstream::postgres {

struct TableAudit {
  int64_t pairs = 0;                           // pairs with a counter, raw rows or both
  int64_t counted = 0;                         // the counters' sum
  int64_t raw_rows = 0;                        // rows in click_events
  int64_t drifting = 0;                        // pairs whose counter differs from their raw rows
  std::vector<domain::Reconciliation> listed;  // up to the limit asked of the drifting pairs
  domain::Position position;                   // applied for the topic, in the same snapshot
};

// Errors as postgres::ToStatus maps them: UNAVAILABLE when the database cannot be reached.
absl::StatusOr<TableAudit> AuditTable(const std::string& database_url, const std::string& topic,
                                      std::size_t list_limit);

}  // namespace clickstream::postgres
