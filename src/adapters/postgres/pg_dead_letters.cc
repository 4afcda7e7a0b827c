#include "adapters/postgres/pg_dead_letters.h"

#include <simdjson.h>

#include <optional>
#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "adapters/postgres/pg_errors.h"

namespace clickstream::postgres {
namespace {

// Bytes travel as base64 text and are decoded by the server: the record's key and value need not be text.
constexpr const char* kInsert =
    "INSERT INTO dead_letters (source_topic, source_partition, source_offset, reason_code, reason, record_key,"
    " record_value, record_time)"
    " VALUES ($1, $2, $3, $4, $5, decode($6, 'base64'), decode($7, 'base64'),"
    " CASE WHEN $8::bigint > 0 THEN to_timestamp($8::bigint / 1000.0) END)"
    " ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING";

// $1 ids as an array literal, or NULL for any; $2 reason code, '' for any; $3, $4 the time range in µs, 0 open;
// $5 the id to page after; $6 the limit.
constexpr const char* kList =
    "SELECT id, source_topic, source_partition, source_offset, reason_code, reason, encode(record_key, 'base64'),"
    " encode(record_value, 'base64'), coalesce((extract(epoch FROM record_time) * 1000)::bigint, 0),"
    " (extract(epoch FROM dead_lettered_at) * 1000000)::bigint, replays,"
    " coalesce((extract(epoch FROM last_replayed_at) * 1000000)::bigint, 0), coalesce(replay_position, '')"
    " FROM dead_letters"
    " WHERE ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) AND ($2 = '' OR reason_code = $2)"
    " AND ($3::bigint = 0 OR dead_lettered_at >= to_timestamp($3::bigint / 1000000.0))"
    " AND ($4::bigint = 0 OR dead_lettered_at < to_timestamp($4::bigint / 1000000.0)) AND id > $5"
    " ORDER BY id LIMIT $6";

constexpr const char* kMarkReplayed =
    "UPDATE dead_letters SET replays = replays + 1, last_replayed_at = now(), replay_position = $2 WHERE id = $1";

// Text PostgreSQL takes: a reason is our message, but one that quoted a record's bytes could hold invalid UTF-8
// or NUL, which a TEXT column refuses, and the processor would send that letter again forever.
std::string StorableText(std::string text) {
  if (simdjson::validate_utf8(text.data(), text.size()) && text.find('\0') == std::string::npos) return text;
  for (char& c : text) {
    if (c == '\0' || static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return text;
}

std::string Bytes(const std::string& base64) {
  std::string bytes;
  absl::Base64Unescape(base64, &bytes);
  return bytes;
}

}  // namespace

struct PgDeadLetters::Connection {
  explicit Connection(const std::string& url) : connection(url) {}
  pqxx::connection connection;
};

PgDeadLetters::PgDeadLetters(const std::string& database_url, std::string source_topic)
    : database_url_(WithConnectTimeout(database_url)), source_topic_(std::move(source_topic)) {}
PgDeadLetters::~PgDeadLetters() = default;

absl::Status PgDeadLetters::Run(const std::function<void(Connection&)>& work) {
  std::lock_guard lock(mutex_);
  try {
    if (!connection_ || !connection_->connection.is_open()) connection_ = std::make_unique<Connection>(database_url_);
    work(*connection_);
    return absl::OkStatus();
  } catch (const std::exception& error) {
    connection_.reset();
    return ToStatus(error);
  }
}

absl::Status PgDeadLetters::Send(const domain::PoisonRecord& letter, std::chrono::milliseconds timeout) {
  return Run([&](Connection& c) {
    pqxx::work tx(c.connection);
    tx.exec0("SET LOCAL statement_timeout = " + std::to_string(timeout.count()));
    tx.exec_params0(kInsert, source_topic_, letter.record.partition, letter.record.offset, letter.reason_code,
                    StorableText(letter.reason), absl::Base64Escape(letter.record.key),
                    absl::Base64Escape(letter.record.value), letter.record.timestamp_ms);
    tx.commit();
  });
}

absl::StatusOr<std::vector<domain::DeadLetter>> PgDeadLetters::List(const domain::DeadLetterFilter& filter) {
  std::optional<std::string> ids;
  if (!filter.ids.empty()) {
    ids = "{";
    for (const int64_t id : filter.ids) *ids += (ids->size() > 1 ? "," : "") + std::to_string(id);
    *ids += "}";
  }
  std::vector<domain::DeadLetter> letters;
  auto status = Run([&](Connection& c) {
    pqxx::nontransaction tx(c.connection);
    for (const auto& row : tx.exec_params(kList, ids, filter.reason_code, filter.since_us, filter.until_us,
                                          filter.after_id, static_cast<int64_t>(filter.limit))) {
      domain::DeadLetter letter;
      letter.id = row[0].as<int64_t>();
      letter.source_topic = row[1].as<std::string>();
      letter.source_partition = row[2].as<int32_t>();
      letter.source_offset = row[3].as<int64_t>();
      letter.reason_code = row[4].as<std::string>();
      letter.reason = row[5].as<std::string>();
      letter.key = Bytes(row[6].as<std::string>());
      letter.value = Bytes(row[7].as<std::string>());
      letter.record_time_ms = row[8].as<int64_t>();
      letter.dead_lettered_us = row[9].as<int64_t>();
      letter.replays = row[10].as<int32_t>();
      letter.last_replayed_us = row[11].as<int64_t>();
      letter.replay_position = row[12].as<std::string>();
      letters.push_back(std::move(letter));
    }
  });
  if (!status.ok()) return status;
  return letters;
}

absl::Status PgDeadLetters::MarkReplayed(int64_t id, const domain::Position& position) {
  return Run([&](Connection& c) {
    pqxx::nontransaction tx(c.connection);
    tx.exec_params0(kMarkReplayed, id, domain::PositionToken(position));
  });
}

}  // namespace clickstream::postgres
