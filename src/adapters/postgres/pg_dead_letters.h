// The dead-letter ledger in PostgreSQL (table dead_letters, infra/init.sql): the processor's sink for letters
// (ports::DeadLetters, one row per source record however often a letter is sent) and analytics' source to list and
// mark replays (ports::DeadLetterLedger). One connection, opened on first use and again after it broke; calls are
// serialized, as letters are rare and listing is an operator's act.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ports/dead_letter_ledger.h"
#include "ports/record_source.h"

namespace clickstream::postgres {

class PgDeadLetters final : public ports::DeadLetters, public ports::DeadLetterLedger {
 public:
  // `source_topic` is the topic the letters' records came from, kept with each.
  PgDeadLetters(const std::string& database_url, std::string source_topic);
  ~PgDeadLetters() override;

  // ports::DeadLetters. The timeout bounds the statement.
  absl::Status Send(const domain::PoisonRecord& letter, std::chrono::milliseconds timeout) override;
  // ports::DeadLetterLedger
  absl::StatusOr<std::vector<domain::DeadLetter>> List(const domain::DeadLetterFilter& filter) override;
  absl::Status MarkReplayed(int64_t id, const domain::Position& position) override;

 private:
  struct Connection;
  // Runs `work` on the connection, (re)connecting first; what it throws becomes a status, and drops the connection.
  absl::Status Run(const std::function<void(Connection&)>& work);

  const std::string database_url_;
  const std::string source_topic_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace clickstream::postgres
