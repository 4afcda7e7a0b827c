// PgCountStore's reads of the aggregates beyond one counter (ports::AggregateStore; tables in infra/init.sql). Each
// runs in a read-only repeatable-read transaction with the applied position, so the answer's freshness is that of
// the snapshot it was read in. Not prepared: dashboards and reports ask these a few times a second, not the
// thousands of times a second counts are.
#include <cstdint>
#include <limits>

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "adapters/postgres/pg_session.h"
#include "adapters/postgres/pg_stores.h"
#include "domain/field_error.h"

namespace clickstream::postgres {
namespace {

// Ranked rows after a cursor: most clicks first, ties in key order. $1, $2: the cursor's count and key (hex); the
// first page passes the largest count and an empty key. $3: the limit.
constexpr const char* kTopPages = R"sql(
SELECT page_url, click_count, users, encode(page_key, 'hex') FROM page_totals
WHERE click_count < $1 OR (click_count = $1 AND page_key > decode($2, 'hex'))
ORDER BY click_count DESC, page_key LIMIT $3)sql";

// $4: the user, found through the index on the digest of user_id.
constexpr const char* kTopPagesOfUser = R"sql(
SELECT page_url, click_count, -1, encode(pair_key, 'hex') FROM page_clicks
WHERE clickstream_text_key(user_id) = clickstream_text_key($4) AND user_id = $4
  AND (click_count < $1 OR (click_count = $1 AND pair_key > decode($2, 'hex')))
ORDER BY click_count DESC, pair_key LIMIT $3)sql";

constexpr const char* kEventTypeCounts =
    "SELECT event_type, click_count FROM event_type_totals ORDER BY click_count DESC, type_key LIMIT $1";

// $1, $2: the range in microseconds since the epoch, cut to the minute; $3: the bucket ("minute", "hour", "day");
// $4: the time zone. Each minute's clicks go to the bucket date_trunc gives in that zone. The buckets with none are
// found by stepping through the range (each minute for minutes; for hours and days every 15 minutes, the finest
// offset any zone has, and the last minute, so that a bucket the range's end cuts is not missed).
constexpr const char* kClicksOverTime = R"sql(
WITH range AS (
  SELECT date_trunc('minute', timestamptz 'epoch' + $1 * interval '1 microsecond', 'UTC') AS from_ts,
         date_trunc('minute', timestamptz 'epoch' + $2 * interval '1 microsecond', 'UTC') AS to_ts
), sums AS (
  SELECT date_trunc($3, m.minute, $4) AS start, sum(m.click_count) AS clicks
  FROM clicks_per_minute m, range r WHERE m.minute >= r.from_ts AND m.minute < r.to_ts GROUP BY 1
), buckets AS (
  SELECT DISTINCT date_trunc($3, g, $4) AS start FROM range r,
  LATERAL (SELECT generate_series(r.from_ts, r.to_ts - interval '1 minute',
                                  CASE WHEN $3 = 'minute' THEN interval '1 minute' ELSE interval '15 minutes' END)
           UNION SELECT r.to_ts - interval '1 minute') AS steps(g)
  WHERE r.to_ts > r.from_ts
)
SELECT (extract(epoch FROM b.start) * 1000000)::bigint, coalesce(s.clicks, 0)::bigint
FROM buckets b LEFT JOIN sums s USING (start) ORDER BY b.start)sql";

// One snapshot for the aggregate and the applied position read after it.
using SnapshotRead = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// Reads the freshness of `tx`'s snapshot, after the aggregate, and ends it.
absl::Status FinishWithFreshness(SnapshotRead& tx, const std::string& topic, domain::Freshness& freshness) {
  absl::Status status = ReadAppliedFreshness(tx, topic, freshness);
  tx.commit();
  return status;
}

struct Cursor {
  int64_t clicks = std::numeric_limits<int64_t>::max();
  std::string key_hex;  // empty: before every key
};

// A cursor is "<clicks>.<key in hex>", from the last row of a page; "" is the first page.
absl::StatusOr<Cursor> ParseCursor(const std::string& text) {
  if (text.empty()) return Cursor{};
  const std::vector<std::string> parts = absl::StrSplit(text, '.');
  Cursor cursor;
  const bool valid = parts.size() == 2 && absl::SimpleAtoi(parts[0], &cursor.clicks) && cursor.clicks >= 0 &&
                     parts[1].size() == 64 && parts[1].find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!valid) return domain::InvalidField("after", "after must be the next of an earlier answer");
  cursor.key_hex = parts[1];
  return cursor;
}

}  // namespace

absl::StatusOr<domain::PageRanking> PgCountStore::TopPages(const domain::RankQuery& query) {
  auto cursor = ParseCursor(query.after);
  if (!cursor.ok()) return cursor.status();
  domain::PageRanking ranking;
  auto status = Run([&](Session& session) {
    SnapshotRead tx(session.connection);
    const auto limit = static_cast<int64_t>(query.limit);
    const pqxx::result rows =
        query.user_id.empty() ? tx.exec_params(kTopPages, cursor->clicks, cursor->key_hex, limit)
                              : tx.exec_params(kTopPagesOfUser, cursor->clicks, cursor->key_hex, limit, query.user_id);
    for (const auto& row : rows) {
      ranking.pages.push_back({row[0].as<std::string>(), row[1].as<int64_t>(), row[2].as<int64_t>()});
    }
    if (rows.size() == query.limit) {
      ranking.next = std::to_string(ranking.pages.back().clicks) + "." + rows.back()[3].as<std::string>();
    }
    return FinishWithFreshness(tx, topic_, ranking.freshness);
  });
  if (!status.ok()) return status;
  return ranking;
}

absl::StatusOr<domain::EventTypeRanking> PgCountStore::EventTypeCounts(std::size_t limit) {
  domain::EventTypeRanking ranking;
  auto status = Run([&](Session& session) {
    SnapshotRead tx(session.connection);
    for (const auto& row : tx.exec_params(kEventTypeCounts, static_cast<int64_t>(limit))) {
      ranking.event_types.push_back({row[0].as<std::string>(), row[1].as<int64_t>()});
    }
    return FinishWithFreshness(tx, topic_, ranking.freshness);
  });
  if (!status.ok()) return status;
  return ranking;
}

absl::StatusOr<domain::ClickSeries> PgCountStore::ClicksOverTime(const domain::SeriesQuery& query) {
  domain::ClickSeries series;
  auto status = Run([&](Session& session) {
    SnapshotRead tx(session.connection);
    try {
      for (const auto& row : tx.exec_params(kClicksOverTime, query.from_us, query.to_us,
                                            std::string(domain::BucketName(query.bucket)), query.time_zone)) {
        series.points.push_back({row[0].as<int64_t>(), row[1].as<int64_t>()});
      }
    } catch (const pqxx::sql_error& error) {
      // 22023 (invalid_parameter_value): the only parameter the server judges is the zone's name.
      if (error.sqlstate() != "22023") throw;
      return domain::InvalidField("time_zone", "unknown time zone \"" + query.time_zone +
                                                   "\": an IANA name is expected, such as Europe/Berlin");
    }
    return FinishWithFreshness(tx, topic_, series.freshness);
  });
  if (!status.ok()) return status;
  return series;
}

}  // namespace clickstream::postgres
