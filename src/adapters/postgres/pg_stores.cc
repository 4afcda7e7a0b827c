#include "adapters/postgres/pg_stores.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "domain/click_event.h"

namespace clickstream::postgres {
namespace {

// Rows of the batch go to this per-session table by COPY, then one statement applies them.
constexpr const char* kCreateStaging =
    "CREATE TEMP TABLE IF NOT EXISTS staging_events ("
    " seq BIGINT, event_id TEXT, user_id TEXT, event_type TEXT, page_url TEXT, time_stamp TIMESTAMPTZ)"
    " ON COMMIT DELETE ROWS";

// One statement applies a staged batch. Events whose event_id is already stored insert nothing (the first
// occurrence in the batch wins), and only the rows actually inserted increment the counts: redelivered records
// and client retries are counted once. It returns the count of every pair in the batch, changed or not, so the
// cache is brought up to date even when a retry of a batch that did commit finds nothing left to insert. All
// parts see one snapshot, so the pairs not upserted here are read as they were before this statement. Those are
// found with EXCEPT, a hashed set difference: an anti-join against the CTE was planned as a nested loop, which
// made a batch of 20,000 distinct pairs take seconds.
constexpr const char* kApplyStaged = R"sql(
WITH fresh AS (
  INSERT INTO click_events (event_id, user_id, event_type, page_url, time_stamp)
  SELECT DISTINCT ON (event_id) event_id, user_id, event_type, page_url, time_stamp
  FROM staging_events ORDER BY event_id, seq
  ON CONFLICT (event_id) DO NOTHING
  RETURNING user_id, page_url
), increments AS (
  SELECT user_id, page_url, count(*) AS n FROM fresh GROUP BY user_id, page_url
), upserted AS (
  INSERT INTO page_clicks AS p (user_id, page_url, click_count)
  SELECT user_id, page_url, n FROM increments ORDER BY user_id, page_url
  ON CONFLICT (pair_key) DO UPDATE SET click_count = p.click_count + EXCLUDED.click_count
  RETURNING user_id, page_url, click_count
)
SELECT user_id, page_url, click_count, (SELECT count(*) FROM fresh) AS inserted FROM upserted
UNION ALL
SELECT p.user_id, p.page_url, p.click_count, (SELECT count(*) FROM fresh)
FROM (SELECT user_id, page_url FROM staging_events EXCEPT SELECT user_id, page_url FROM increments) s
JOIN page_clicks p ON p.pair_key = clickstream_pair_key(s.user_id, s.page_url)
)sql";

// $4: the newest time_stamp of the batch, NULL when it applied no event (GREATEST ignores NULLs).
constexpr const char* kRecordOffset =
    "INSERT INTO applied_offsets (topic, partition, next_offset, newest_event_time) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (topic, partition) DO UPDATE"
    " SET next_offset = GREATEST(applied_offsets.next_offset, EXCLUDED.next_offset), updated_at = now(),"
    " newest_event_time = GREATEST(applied_offsets.newest_event_time, EXCLUDED.newest_event_time)";

// Every pair of a batch in one statement: the two arrays zipped in their order, each pair looked up by its key
// (page_clicks is keyed on the digest pair_key, see infra/init.sql), a pair never seen answering 0. Duplicates
// keep their places: the answer has one row per pair asked, in the order asked.
// The same statement reads the topic's applied position ("partition-next_offset" joined by '.'), newest event time
// (microseconds since the epoch) and the milliseconds since the last batch: one snapshot, so the counts include
// exactly that position. On every row; the first one's are taken.
constexpr const char* kGetMany = R"sql(
WITH applied AS (
  SELECT coalesce(string_agg(partition || '-' || next_offset, '.' ORDER BY partition), '') AS position,
         coalesce((extract(epoch FROM max(newest_event_time)) * 1000000)::bigint, 0) AS newest_us,
         coalesce((extract(epoch FROM now() - max(updated_at)) * 1000)::bigint, -1) AS age_ms
  FROM applied_offsets WHERE topic = $3
)
SELECT coalesce(p.click_count, 0), a.position, a.newest_us, a.age_ms
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(user_id, page_url, n)
CROSS JOIN applied a
LEFT JOIN page_clicks p ON p.pair_key = clickstream_pair_key(q.user_id, q.page_url)
ORDER BY q.n
)sql";

constexpr const char* kAppliedPosition =
    "SELECT partition, next_offset FROM applied_offsets WHERE topic = $1 ORDER BY partition";

// A PostgreSQL array literal of one field of `pairs`, passed as a parameter (never spliced into SQL): each element
// quoted, with its backslashes and double quotes escaped, so any text (commas, braces, "NULL") stays one element,
// exactly.
std::string ArrayLiteral(const std::vector<domain::CountQuery>& pairs, std::string domain::CountQuery::*field) {
  std::string literal = "{";
  for (const auto& pair : pairs) {
    if (literal.size() > 1) literal += ',';
    literal += '"';
    for (const char c : pair.*field) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

// The position kGetMany aggregates, "" when nothing was applied: the token format, which it is written in.
absl::StatusOr<domain::Position> StoredPosition(const std::string& text) {
  if (text.empty()) return domain::Position{};
  auto position = domain::ParsePositionToken(text, "applied_offsets");
  if (!position.ok()) return absl::InternalError(std::string(position.status().message()));
  return position;
}

// A dead server must not hang a caller: bound the connect unless the URL says otherwise.
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

metrics::Histogram& DbSeconds(metrics::Registry& registry, const char* operation) {
  return registry.GetHistogram("clickstream_db_duration_seconds", "PostgreSQL operation latency, by operation",
                               metrics::LatencyBuckets(), {{"operation", operation}});
}

metrics::Counter& DbErrors(metrics::Registry& registry, const char* operation) {
  return registry.GetCounter("clickstream_db_errors_total", "failed PostgreSQL operations, by operation",
                             {{"operation", operation}});
}

}  // namespace

struct Session {
  explicit Session(const std::string& url) : connection(url) {}
  pqxx::connection connection;
};

PgEventStore::PgEventStore(const std::string& database_url, metrics::Registry* metrics)
    : database_url_(WithConnectTimeout(database_url)),
      apply_seconds_(DbSeconds(metrics::GivenOrOwn(metrics, own_metrics_), "apply_batch")),
      apply_errors_(DbErrors(metrics::GivenOrOwn(metrics, own_metrics_), "apply_batch")) {}
PgEventStore::~PgEventStore() = default;

absl::StatusOr<ports::AppliedBatch> PgEventStore::ApplyBatch(std::string_view topic,
                                                             const std::vector<domain::ClickEvent>& events,
                                                             const std::vector<domain::PartitionOffset>& next_offsets) {
  const auto start = std::chrono::steady_clock::now();
  try {
    if (!connection_ || !connection_->connection.is_open()) {
      connection_ = std::make_unique<Session>(database_url_);
      pqxx::nontransaction(connection_->connection).exec0(kCreateStaging);
      connection_->connection.prepare("apply_staged", kApplyStaged);
      connection_->connection.prepare("record_offset", kRecordOffset);
    }
    pqxx::work tx(connection_->connection);
    if (!events.empty()) {
      pqxx::stream_to staging(tx, "staging_events");
      int64_t seq = 0;
      for (const domain::ClickEvent& e : events) {
        staging << std::make_tuple(seq++, e.event_id, e.user_id, e.event_type, e.page_url,
                                   domain::FormatTimestamp(e.time_stamp_us));
      }
      staging.complete();
    }
    ports::AppliedBatch applied;
    if (!events.empty()) {
      const pqxx::result rows = tx.exec_prepared("apply_staged");
      applied.counts.reserve(rows.size());
      for (const auto& row : rows) {
        applied.counts.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>()});
      }
      if (!rows.empty()) applied.inserted = rows[0][3].as<int64_t>();
    }
    std::optional<std::string> newest;  // NULL when the batch applied no event
    if (!events.empty()) {
      const auto latest = std::max_element(
          events.begin(), events.end(), [](const auto& a, const auto& b) { return a.time_stamp_us < b.time_stamp_us; });
      newest = domain::FormatTimestamp(latest->time_stamp_us);
    }
    for (const auto& offset : next_offsets) {
      tx.exec_prepared0("record_offset", std::string(topic), offset.partition, offset.next_offset, newest);
    }
    tx.commit();
    apply_seconds_.Observe(metrics::SecondsSince(start));
    return applied;
  } catch (const std::exception& error) {
    connection_.reset();  // a fresh connection next time: cheaper than reasoning about its state
    apply_errors_.Inc();
    return ToStatus(error);
  }
}

absl::Status PgEventStore::Ping() {
  try {
    pqxx::connection connection(database_url_);
    pqxx::nontransaction(connection).exec1("SELECT 1");
    return absl::OkStatus();
  } catch (const std::exception& error) {
    return ToStatus(error);
  }
}

PgCountStore::PgCountStore(const std::string& database_url, std::string topic, metrics::Registry* metrics,
                           std::chrono::milliseconds statement_timeout)
    : database_url_(WithConnectTimeout(database_url)),
      topic_(std::move(topic)),
      statement_timeout_(statement_timeout),
      read_seconds_(DbSeconds(metrics::GivenOrOwn(metrics, own_metrics_), "get_count")),
      read_errors_(DbErrors(metrics::GivenOrOwn(metrics, own_metrics_), "get_count")) {}
PgCountStore::~PgCountStore() = default;

std::unique_ptr<Session> PgCountStore::Borrow() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  auto connection = std::make_unique<Session>(database_url_);
  // On the session, so every read is bounded: a locked or overloaded table fails the read instead of holding an
  // analytics worker (and the look-ups queued behind it) for as long as the database takes.
  pqxx::nontransaction(connection->connection)
      .exec0("SET statement_timeout = " + std::to_string(statement_timeout_.count()));
  connection->connection.prepare("get_many", kGetMany);
  connection->connection.prepare("applied_position", kAppliedPosition);
  return connection;
}

void PgCountStore::Return(std::unique_ptr<Session> connection) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(connection));
}

absl::StatusOr<int64_t> PgCountStore::GetCount(std::string_view user_id, std::string_view page_url) {
  auto stored = GetMany({{std::string(user_id), std::string(page_url)}});
  if (!stored.ok()) return stored.status();
  return stored->counts.front();
}

absl::StatusOr<ports::StoredCounts> PgCountStore::GetMany(const std::vector<domain::CountQuery>& pairs) {
  if (pairs.empty()) return ports::StoredCounts();
  const auto start = std::chrono::steady_clock::now();
  try {
    auto connection = Borrow();
    ports::StoredCounts stored;
    stored.counts.reserve(pairs.size());
    {
      pqxx::nontransaction tx(connection->connection);
      const pqxx::result rows = tx.exec_prepared("get_many", ArrayLiteral(pairs, &domain::CountQuery::user_id),
                                                 ArrayLiteral(pairs, &domain::CountQuery::page_url), topic_);
      for (const auto& row : rows) stored.counts.push_back(row[0].as<int64_t>());
      if (!rows.empty()) {
        auto position = StoredPosition(rows[0][1].as<std::string>());
        if (!position.ok()) return position.status();
        stored.freshness.position = *position;
        stored.freshness.newest_event_time_us = rows[0][2].as<int64_t>();
        stored.freshness.age_ms = rows[0][3].as<int64_t>();
      }
    }
    Return(std::move(connection));
    read_seconds_.Observe(metrics::SecondsSince(start));
    if (stored.counts.size() != pairs.size()) {
      return absl::InternalError("postgres answered " + std::to_string(stored.counts.size()) + " counts for " +
                                 std::to_string(pairs.size()) + " pairs");
    }
    return stored;
  } catch (const std::exception& error) {
    return ReadFailed(error);  // the connection, if any, is dropped with the exception
  }
}

absl::StatusOr<domain::Position> PgCountStore::AppliedPosition() {
  try {
    auto connection = Borrow();
    domain::Position position;
    {
      pqxx::nontransaction tx(connection->connection);
      for (const auto& row : tx.exec_prepared("applied_position", topic_)) {
        position.push_back({row[0].as<int32_t>(), row[1].as<int64_t>()});
      }
    }
    Return(std::move(connection));
    return position;
  } catch (const std::exception& error) {
    return ReadFailed(error);
  }
}

absl::Status PgCountStore::ReadFailed(const std::exception& error) {
  read_errors_.Inc();
  // The read ran out of its statement_timeout (57014, query_canceled; nothing else cancels our reads). That is
  // DEADLINE_EXCEEDED, not UNAVAILABLE: the database is there but too slow, gRPC's retry policy retries only
  // UNAVAILABLE and must not send the same slow read again and again, and the gateway answers 504 (a timeout)
  // rather than 503 (unreachable).
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error); sql != nullptr && sql->sqlstate() == "57014") {
    return absl::DeadlineExceededError("postgres read exceeded its statement timeout of " +
                                       std::to_string(statement_timeout_.count()) + " ms");
  }
  return ToStatus(error);
}

absl::Status PgCountStore::Ping() {
  auto count = GetCount("", "");
  return count.ok() ? absl::OkStatus() : count.status();
}

}  // namespace clickstream::postgres
