// A record the processor could not count, as the dead-letter ledger keeps it to be listed and replayed: the record
// unchanged, where it came from, why it was refused, and its replays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace clickstream::domain {

struct DeadLetter {
  int64_t id = 0;  // the ledger's, increasing in the order letters arrived
  std::string source_topic;
  int32_t source_partition = 0;
  int64_t source_offset = 0;
  std::string reason_code;  // as field_error.h codes refusals, or "refused" when the database refused the event
  std::string reason;       // the message
  std::string key;
  std::string value;             // the record's bytes, which need not be text
  int64_t record_time_ms = 0;    // the record's broker timestamp; 0 unknown
  int64_t dead_lettered_us = 0;  // when the ledger took it
  int32_t replays = 0;
  int64_t last_replayed_us = 0;  // 0: never replayed
  std::string replay_position;   // where the last replay went, a position token
};

// Which letters: those with `ids` when any are given, else all; narrowed by a reason code, a time range of
// dead_lettered (since inclusive, until exclusive; 0 open) and paging by id (after `after_id`), `limit` at most.
struct DeadLetterFilter {
  std::vector<int64_t> ids;
  std::string reason_code;
  int64_t since_us = 0;
  int64_t until_us = 0;
  int64_t after_id = 0;
  std::size_t limit = 100;
};

// What became of one letter asked to be replayed.
struct ReplayOutcome {
  enum class Kind { kReplayed, kInvalid, kFailed };
  int64_t id = 0;
  Kind kind = Kind::kFailed;
  std::string position;  // kReplayed: where the record was published again, a position token
  std::string message;   // kInvalid: why it is still refused; kFailed: what failed (it may be replayed again)
};

// "replayed", "invalid", "failed".
inline const char* OutcomeName(ReplayOutcome::Kind kind) {
  return kind == ReplayOutcome::Kind::kReplayed  ? "replayed"
         : kind == ReplayOutcome::Kind::kInvalid ? "invalid"
                                                 : "failed";
}

// The code of a dead letter whose event the database refused for good.
inline constexpr const char* kReasonRefused = "refused";

}  // namespace clickstream::domain
