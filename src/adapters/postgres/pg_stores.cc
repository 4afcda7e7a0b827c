#include "adapters/postgres/pg_stores.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <iterator>
#include <optional>
#include <string_view>

#include <pqxx/pqxx>

#include "adapters/postgres/pg_errors.h"
#include "adapters/postgres/pg_session.h"
#include "domain/click_event.h"

namespace clickstream::postgres {
namespace {

// Rows for COPY in its text format: fields separated by tabs, rows by newlines, the last row's left to the writer.
struct CopyRows {
  std::string text;
};

}  // namespace
}  // namespace clickstream::postgres

namespace pqxx {

// libpqxx 6.4 takes COPY data only row by row, as a tuple whose fields it escapes one by one into strings of their
// own: measured under W3, that was a quarter of the processor's CPU. stream_to's line writer is private, so our own
// row type gets its own operator<<, which hands the text built by AppendCopyRow to that writer in one piece.
template <>
stream_to& stream_to::operator<< <clickstream::postgres::CopyRows>(const clickstream::postgres::CopyRows& rows) {
  write_raw_line(rows.text);  // ends it with a newline
  return *this;
}

}  // namespace pqxx

namespace clickstream::postgres {
namespace {

// Appends `field` to `out` as a COPY text field: a backslash, and the tab, newline and carriage return that would end
// the field or the row, become backslash escapes; every other byte is itself.
void AppendCopyField(std::string& out, std::string_view field) {
  std::size_t clean = 0;
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    const char* escaped = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : nullptr;
    if (escaped == nullptr) continue;
    out.append(field.data() + clean, i - clean);
    out.append(escaped, 2);
    clean = i + 1;
  }
  out.append(field.data() + clean, field.size() - clean);
}

// One staged row (staging_events' columns) and the newline that ends it.
void AppendCopyRow(std::string& out, const domain::ClickEvent& e) {
  for (const std::string* field : {&e.event_id, &e.user_id, &e.event_type, &e.page_url}) {
    AppendCopyField(out, *field);
    out += '\t';
  }
  char digits[24];
  const auto end = std::to_chars(std::begin(digits), std::end(digits), e.time_stamp_us).ptr;
  out.append(digits, end);
  out += '\n';
}

// The batch as staging_events' rows, in one buffer sized for them up front (escapes aside).
CopyRows StagedRows(const std::vector<domain::ClickEvent>& events) {
  constexpr std::size_t kSeparatorsAndTime = 32;  // four tabs, a newline and at most 20 digits
  std::size_t bytes = 0;
  for (const domain::ClickEvent& e : events) {
    bytes += e.event_id.size() + e.user_id.size() + e.event_type.size() + e.page_url.size() + kSeparatorsAndTime;
  }
  CopyRows rows;
  rows.text.reserve(bytes);
  for (const domain::ClickEvent& e : events) AppendCopyRow(rows.text, e);
  if (!rows.text.empty()) rows.text.pop_back();  // the writer ends the last row
  return rows;
}

// Rows of the batch go to this per-session table by COPY, then one statement applies them. time_us is the event's
// time in microseconds since the epoch: an integer COPY reads cheaply, where a timestamptz in text costs PostgreSQL
// a date parse per row.
constexpr const char* kCreateStaging =
    "CREATE TEMP TABLE IF NOT EXISTS staging_events ("
    " event_id TEXT, user_id TEXT, event_type TEXT, page_url TEXT, time_us BIGINT)"
    " ON COMMIT DELETE ROWS";

// One statement applies a staged batch, in one of two forms. Both insert the rows into click_events and increment
// the counts by the rows actually inserted. The same rows, grouped in the statement, increment the aggregates (page
// totals, event types, minutes; see infra/init.sql): a page's distinct users grow by the pairs whose counter this
// statement creates (xmax = 0 tells a row inserted from one updated on conflict). Each upsert takes its rows in key
// order, so consumers applying batches at once lock shared rows in one order. The time is built from whole seconds
// and the remaining microseconds because interval arithmetic multiplies in floating point, exact only to 2^53.
//
// - Skipping stored ids (`skip_stored`): an event whose event_id is already stored inserts nothing, so redelivered
//   records and client retries are counted once. (Within a batch the processor keeps the first event of each
//   event_id, domain::PrepareBatch; a repeated one staged anyway inserts nothing either.)
// - All fresh: a plain insert, which fails on a stored event_id (SQLSTATE 23505). ON CONFLICT probes the key before
//   it inserts each row, and a plain insert does not: measured on batches of 20,000 events over a table of 5 million,
//   the statement takes a fifth less time. PgEventStore tries it first and falls back to the other form.
//
// It returns the count of every pair in the batch, changed or not, so the cache is brought up to date even when a
// retry of a batch that did commit finds nothing left to insert. All parts see one snapshot, so the pairs not
// upserted here are read as they were before this statement. Skipping stored ids, those are found with EXCEPT, a
// hashed set difference (an anti-join against the CTE was planned as a nested loop, which made a batch of 20,000
// distinct pairs take seconds), and only when fewer rows were inserted than the $1 staged: otherwise every staged
// pair was upserted. All fresh, every staged row is inserted, so there are none.
std::string ApplyStagedSql(bool skip_stored) {
  std::string sql = R"sql(
WITH fresh AS (
  INSERT INTO click_events (event_id, user_id, event_type, page_url, time_stamp)
  SELECT event_id, user_id, event_type, page_url,
         TIMESTAMPTZ 'epoch' + (time_us / 1000000) * INTERVAL '1 second' + (time_us % 1000000) * INTERVAL '1 microsecond'
  FROM staging_events)sql";
  if (skip_stored) sql += "\n  ON CONFLICT (event_id) DO NOTHING";
  sql += R"sql(
  RETURNING user_id, event_type, page_url, time_stamp
), inserted AS (
  SELECT count(*) AS n FROM fresh
), increments AS (
  SELECT user_id, page_url, count(*) AS n FROM fresh GROUP BY user_id, page_url
), upserted AS (
  INSERT INTO page_clicks AS p (user_id, page_url, click_count)
  SELECT user_id, page_url, n FROM increments ORDER BY user_id, page_url
  ON CONFLICT (pair_key) DO UPDATE SET click_count = p.click_count + EXCLUDED.click_count
  RETURNING user_id, page_url, click_count, xmax = 0 AS created
), pages AS (
  INSERT INTO page_totals AS t (page_url, click_count, users)
  SELECT page_url, count(*) FILTER (WHERE NOT created_pair), count(*) FILTER (WHERE created_pair)
  FROM (SELECT page_url, false AS created_pair FROM fresh
        UNION ALL SELECT page_url, true FROM upserted WHERE created) c
  GROUP BY page_url ORDER BY clickstream_text_key(page_url)
  ON CONFLICT (page_key) DO UPDATE
  SET click_count = t.click_count + EXCLUDED.click_count, users = t.users + EXCLUDED.users
), event_types AS (
  INSERT INTO event_type_totals AS t (event_type, click_count)
  SELECT event_type, count(*) FROM fresh GROUP BY event_type ORDER BY clickstream_text_key(event_type)
  ON CONFLICT (type_key) DO UPDATE SET click_count = t.click_count + EXCLUDED.click_count
), minutes AS (
  INSERT INTO clicks_per_minute AS t (minute, click_count)
  SELECT date_bin('1 minute', time_stamp, TIMESTAMPTZ 'epoch'), count(*) FROM fresh GROUP BY 1 ORDER BY 1
  ON CONFLICT (minute) DO UPDATE SET click_count = t.click_count + EXCLUDED.click_count
)
SELECT user_id, page_url, click_count, (SELECT n FROM inserted) FROM upserted)sql";
  if (skip_stored) {
    sql += R"sql(
UNION ALL
SELECT p.user_id, p.page_url, p.click_count, (SELECT n FROM inserted)
FROM (SELECT user_id, page_url FROM staging_events EXCEPT SELECT user_id, page_url FROM increments) s
JOIN page_clicks p ON p.pair_key = clickstream_pair_key(s.user_id, s.page_url)
WHERE (SELECT n FROM inserted) < $1)sql";
  }
  return sql;
}

// $4: the newest time_stamp of the batch, NULL when it applied no event (GREATEST ignores NULLs).
constexpr const char* kRecordOffset =
    "INSERT INTO applied_offsets (topic, partition, next_offset, newest_event_time) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (topic, partition) DO UPDATE"
    " SET next_offset = GREATEST(applied_offsets.next_offset, EXCLUDED.next_offset), updated_at = now(),"
    " newest_event_time = GREATEST(applied_offsets.newest_event_time, EXCLUDED.newest_event_time)";

// The topic ($1)'s applied position ("partition-next_offset" joined by '.'), newest event time (microseconds since
// the epoch) and the milliseconds since the last batch, for a statement to read in the snapshot of its counts.
constexpr const char* kAppliedCte = R"sql(applied AS (
  SELECT coalesce(string_agg(partition || '-' || next_offset, '.' ORDER BY partition), '') AS position,
         coalesce((extract(epoch FROM max(newest_event_time)) * 1000000)::bigint, 0) AS newest_us,
         coalesce((extract(epoch FROM now() - max(updated_at)) * 1000)::bigint, -1) AS age_ms
  FROM applied_offsets WHERE topic = $1
))sql";

// Every pair of a batch in one statement: the two arrays ($2, $3) zipped in their order, each pair looked up by its
// key (page_clicks is keyed on the digest pair_key, see infra/init.sql), a pair never seen answering 0. Duplicates
// keep their places: the answer has one row per pair asked, in the order asked. The same statement reads the
// applied position, so the counts include exactly that position; it is on every row, the first one's is taken.
std::string GetManySql() {
  return std::string("WITH ") + kAppliedCte + R"sql(
SELECT coalesce(p.click_count, 0), a.position, a.newest_us, a.age_ms
FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS q(user_id, page_url, n)
CROSS JOIN applied a
LEFT JOIN page_clicks p ON p.pair_key = clickstream_pair_key(q.user_id, q.page_url)
ORDER BY q.n)sql";
}

// Reconciliation: the counter of each pair in `pairs` (a CTE of user_id, page_url, n and click_count) and the
// pair's rows in click_events, in one snapshot with the applied position, ordered by n. The rows of all the pairs
// are counted in one semi-join: through the optional index on user_id (README, Reconciliation) one index scan per
// pair, without it one scan of the table for all of them, never one per pair.
std::string AuditSql(const std::string& pairs) {
  return std::string("WITH ") + kAppliedCte + ", " + pairs + R"sql(,
raw AS (
  SELECT e.user_id, e.page_url, count(*) AS n FROM click_events e
  WHERE (e.user_id, e.page_url) IN (SELECT user_id, page_url FROM pairs) GROUP BY e.user_id, e.page_url
)
SELECT pairs.click_count, a.position, a.newest_us, a.age_ms, coalesce(raw.n, 0), pairs.user_id, pairs.page_url
FROM pairs CROSS JOIN applied a
LEFT JOIN raw ON raw.user_id = pairs.user_id AND raw.page_url = pairs.page_url
ORDER BY pairs.n)sql";
}

// The pairs asked ($2, $3, zipped) with their counters, 0 for a pair without one.
constexpr const char* kAskedPairs = R"sql(pairs AS (
  SELECT q.user_id, q.page_url, q.n, coalesce(p.click_count, 0) AS click_count
  FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS q(user_id, page_url, n)
  LEFT JOIN page_clicks p ON p.pair_key = clickstream_pair_key(q.user_id, q.page_url)
))sql";

// Up to $3 counters from the pair key $2 (hex) on, in key order, wrapping around to the first keys: two range scans
// of page_clicks' primary key.
constexpr const char* kSampledPairs = R"sql(sampled AS (
  (SELECT user_id, page_url, click_count, pair_key, 0 AS lap FROM page_clicks
   WHERE pair_key >= decode($2, 'hex') ORDER BY pair_key LIMIT $3)
  UNION ALL
  (SELECT user_id, page_url, click_count, pair_key, 1 FROM page_clicks
   WHERE pair_key < decode($2, 'hex') ORDER BY pair_key LIMIT $3)
), pairs AS (
  SELECT user_id, page_url, click_count, row_number() OVER (ORDER BY lap, pair_key) AS n
  FROM (SELECT * FROM sampled ORDER BY lap, pair_key LIMIT $3) s
))sql";

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

// The freshness the statements above put in columns 1 to 3 of every row (position, newest event time, age), from the
// first row; left as it is when there are no rows.
absl::Status FreshnessOf(const pqxx::result& rows, domain::Freshness& freshness) {
  if (rows.empty()) return absl::OkStatus();
  auto position = StoredPosition(rows[0][1].as<std::string>());
  if (!position.ok()) return position.status();
  freshness.position = *std::move(position);
  freshness.newest_event_time_us = rows[0][2].as<int64_t>();
  freshness.age_ms = rows[0][3].as<int64_t>();
  return absl::OkStatus();
}

metrics::Histogram& DbSeconds(metrics::Registry& registry, const char* operation) {
  return registry.GetHistogram("clickstream_db_duration_seconds", "PostgreSQL operation latency, by operation",
                               metrics::LatencyBuckets(), {{"operation", operation}});
}

metrics::Counter& DbErrors(metrics::Registry& registry, const char* operation) {
  return registry.GetCounter("clickstream_db_errors_total", "failed PostgreSQL operations, by operation",
                             {{"operation", operation}});
}

// Applies the staged batch as all fresh, unless `skip_stored` (the batch before held a stored event_id), and skipping
// stored ids when that fails; `skip_stored` tells the next call what this one found.
pqxx::result ApplyStaged(pqxx::work& tx, std::size_t staged, bool& skip_stored, metrics::Counter& second_attempts) {
  if (!skip_stored) {
    // A savepoint by hand: libpqxx 6.4's subtransaction issues its SAVEPOINT only on a plain exec, not before a
    // prepared statement, so it had nothing to roll back to.
    tx.exec0("SAVEPOINT all_fresh");
    try {
      pqxx::result rows = tx.exec_prepared("apply_all_fresh");
      tx.exec0("RELEASE SAVEPOINT all_fresh");
      return rows;
    } catch (const pqxx::unique_violation&) {
      // An event_id already stored (a redelivery, a client's retry): back to the savepoint, so nothing the attempt
      // inserted stays. Redeliveries come in runs, so the next batches skip stored ids at once.
      tx.exec0("ROLLBACK TO SAVEPOINT all_fresh");
      second_attempts.Inc();
      skip_stored = true;
    }
  }
  pqxx::result rows = tx.exec_prepared("apply_skipping_stored", static_cast<int64_t>(staged));
  // Every staged row was inserted: none stored came, and the next batch is tried as all fresh again.
  if (!rows.empty() && rows[0][3].as<std::size_t>() == staged) skip_stored = false;
  return rows;
}

}  // namespace

absl::Status ReadAppliedFreshness(pqxx::transaction_base& tx, const std::string& topic, domain::Freshness& freshness) {
  return FreshnessOf(
      tx.exec_params(std::string("WITH ") + kAppliedCte + " SELECT 0, position, newest_us, age_ms FROM applied", topic),
      freshness);
}

PgEventStore::PgEventStore(const std::string& database_url, metrics::Registry* metrics)
    : database_url_(WithConnectTimeout(database_url)),
      apply_seconds_(DbSeconds(metrics::GivenOrOwn(metrics, own_metrics_), "apply_batch")),
      apply_errors_(DbErrors(metrics::GivenOrOwn(metrics, own_metrics_), "apply_batch")),
      second_attempts_(metrics::GivenOrOwn(metrics, own_metrics_)
                           .GetCounter("clickstream_db_apply_second_attempts_total",
                                       "batches applied again, skipping stored event_ids, after the plain insert met "
                                       "one already stored")) {}
PgEventStore::~PgEventStore() = default;

absl::StatusOr<ports::AppliedBatch> PgEventStore::ApplyBatch(std::string_view topic,
                                                             const std::vector<domain::ClickEvent>& events,
                                                             const std::vector<domain::PartitionOffset>& next_offsets) {
  const auto start = std::chrono::steady_clock::now();
  try {
    if (!connection_ || !connection_->connection.is_open()) {
      connection_ = std::make_unique<Session>(database_url_);
      pqxx::nontransaction(connection_->connection).exec0(kCreateStaging);
      connection_->connection.prepare("apply_all_fresh", ApplyStagedSql(false));
      connection_->connection.prepare("apply_skipping_stored", ApplyStagedSql(true));
      connection_->connection.prepare("record_offset", kRecordOffset);
    }
    pqxx::work tx(connection_->connection);
    if (!events.empty()) {
      pqxx::stream_to staging(tx, "staging_events");
      staging << StagedRows(events);
      staging.complete();
    }
    ports::AppliedBatch applied;
    if (!events.empty()) {
      const pqxx::result rows = ApplyStaged(tx, events.size(), skip_stored_, second_attempts_);
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
                           std::chrono::milliseconds statement_timeout, const char* operation)
    : database_url_(WithConnectTimeout(database_url)),
      topic_(std::move(topic)),
      statement_timeout_(statement_timeout),
      read_seconds_(DbSeconds(metrics::GivenOrOwn(metrics, own_metrics_), operation)),
      read_errors_(DbErrors(metrics::GivenOrOwn(metrics, own_metrics_), operation)) {}
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
  connection->connection.prepare("get_many", GetManySql());
  connection->connection.prepare("audit", AuditSql(kAskedPairs));
  connection->connection.prepare("audit_sample", AuditSql(kSampledPairs));
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

absl::Status PgCountStore::Run(const std::function<absl::Status(Session&)>& read) {
  const auto start = std::chrono::steady_clock::now();
  try {
    auto connection = Borrow();
    absl::Status status = read(*connection);
    Return(std::move(connection));
    read_seconds_.Observe(metrics::SecondsSince(start));
    return status;
  } catch (const std::exception& error) {
    return ReadFailed(error);  // the connection, if any, is dropped with the exception
  }
}

absl::StatusOr<ports::StoredCounts> PgCountStore::GetMany(const std::vector<domain::CountQuery>& pairs) {
  if (pairs.empty()) return ports::StoredCounts();
  ports::StoredCounts stored;
  auto status = Run([&](Session& session) {
    pqxx::nontransaction tx(session.connection);
    const pqxx::result rows = tx.exec_prepared("get_many", topic_, ArrayLiteral(pairs, &domain::CountQuery::user_id),
                                               ArrayLiteral(pairs, &domain::CountQuery::page_url));
    stored.counts.reserve(rows.size());
    for (const auto& row : rows) stored.counts.push_back(row[0].as<int64_t>());
    return FreshnessOf(rows, stored.freshness);
  });
  if (!status.ok()) return status;
  if (stored.counts.size() != pairs.size()) {
    return absl::InternalError("postgres answered " + std::to_string(stored.counts.size()) + " counts for " +
                               std::to_string(pairs.size()) + " pairs");
  }
  return stored;
}

absl::StatusOr<ports::StoreAudit> PgCountStore::Audit(const std::vector<domain::CountQuery>& pairs) {
  ports::StoreAudit audit;
  if (pairs.empty()) return audit;
  auto status = Run([&](Session& session) {
    pqxx::nontransaction tx(session.connection);
    const pqxx::result rows = tx.exec_prepared("audit", topic_, ArrayLiteral(pairs, &domain::CountQuery::user_id),
                                               ArrayLiteral(pairs, &domain::CountQuery::page_url));
    if (rows.size() != pairs.size()) {
      return absl::InternalError("postgres answered " + std::to_string(rows.size()) + " audits for " +
                                 std::to_string(pairs.size()) + " pairs");
    }
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      audit.pairs.push_back({pairs[i], rows[i][0].as<int64_t>(), rows[i][4].as<int64_t>(), std::nullopt, {}});
    }
    return FreshnessOf(rows, audit.freshness);
  });
  if (!status.ok()) return status;
  return audit;
}

absl::StatusOr<ports::StoreAudit> PgCountStore::AuditSample(std::size_t size, const std::string& start) {
  ports::StoreAudit audit;
  auto status = Run([&](Session& session) {
    pqxx::nontransaction tx(session.connection);
    const pqxx::result rows = tx.exec_prepared("audit_sample", topic_, start, static_cast<int64_t>(size));
    for (const auto& row : rows) {
      audit.pairs.push_back(
          {{row[5].as<std::string>(), row[6].as<std::string>()}, row[0].as<int64_t>(), row[4].as<int64_t>(), {}, {}});
    }
    return FreshnessOf(rows, audit.freshness);
  });
  if (!status.ok()) return status;
  return audit;
}

absl::StatusOr<domain::Position> PgCountStore::AppliedPosition() {
  domain::Position position;
  auto status = Run([&](Session& session) {
    pqxx::nontransaction tx(session.connection);
    for (const auto& row : tx.exec_prepared("applied_position", topic_)) {
      position.push_back({row[0].as<int32_t>(), row[1].as<int64_t>()});
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return position;
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
