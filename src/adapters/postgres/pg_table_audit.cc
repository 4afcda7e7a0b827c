#include "adapters/postgres/pg_table_audit.h"

#include <pqxx/pqxx>

#include "adapters/postgres/pg_errors.h"

namespace clickstream::postgres {
namespace {

// Every pair with a counter or raw rows, both numbers beside it (0 for a side it lacks). Joined on the text, by a
// hash join: both sides are read whole anyway.
constexpr const char* kBothSides = R"sql(
WITH raw AS (SELECT user_id, page_url, count(*) AS n FROM click_events GROUP BY user_id, page_url),
both_sides AS (
  SELECT coalesce(p.user_id, r.user_id) AS user_id, coalesce(p.page_url, r.page_url) AS page_url,
         coalesce(p.click_count, 0) AS counter, coalesce(r.n, 0) AS raw_rows
  FROM page_clicks p FULL JOIN raw r ON p.user_id = r.user_id AND p.page_url = r.page_url
)
)sql";

}  // namespace

absl::StatusOr<TableAudit> AuditTable(const std::string& database_url, const std::string& topic,
                                      std::size_t list_limit) {
  try {
    pqxx::connection connection(database_url);
    // One snapshot for the totals, the list and the position: the processor goes on writing meanwhile.
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(connection);
    TableAudit audit;
    const pqxx::row totals = tx.exec1(std::string(kBothSides) +
                                      "SELECT count(*), coalesce(sum(counter), 0)::bigint, "
                                      "coalesce(sum(raw_rows), 0)::bigint, count(*) FILTER (WHERE counter <> raw_rows) "
                                      "FROM both_sides");
    audit.pairs = totals[0].as<int64_t>();
    audit.counted = totals[1].as<int64_t>();
    audit.raw_rows = totals[2].as<int64_t>();
    audit.drifting = totals[3].as<int64_t>();
    if (audit.drifting > 0 && list_limit > 0) {
      const pqxx::result rows = tx.exec_params(std::string(kBothSides) +
                                                   "SELECT user_id, page_url, counter, raw_rows FROM both_sides "
                                                   "WHERE counter <> raw_rows ORDER BY user_id, page_url LIMIT $1",
                                               static_cast<int64_t>(list_limit));
      for (const auto& row : rows) {
        audit.listed.push_back({{row[0].as<std::string>(), row[1].as<std::string>()},
                                row[2].as<int64_t>(),
                                row[3].as<int64_t>(),
                                std::nullopt,
                                {}});
      }
    }
    for (const auto& row : tx.exec_params(
             "SELECT partition, next_offset FROM applied_offsets WHERE topic = $1 ORDER BY partition", topic)) {
      audit.position.push_back({row[0].as<int32_t>(), row[1].as<int64_t>()});
    }
    tx.commit();
    return audit;
  } catch (const std::exception& error) {
    return ToStatus(error);
  }
}

}  // namespace clickstream::postgres
