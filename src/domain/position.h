// A position in the event log: for each partition, the next offset (one past the last record) that counts must
// include. Ingestion hands one to clients with every acknowledged post; a query that passes it back waits until the
// processor has applied it (read-your-writes), and answers say which position their counts include. Clients see a
// token they must not interpret ("0-1235.3-100": partition-next_offset pairs, ascending by partition), so the
// encoding may change with a version prefix later.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "domain/batch.h"

namespace clickstream::domain {

// One entry per partition, ascending by partition.
using Position = std::vector<PartitionOffset>;

// At most this many partitions in a token a client sends: a topic has a handful, and a query must not make a
// service parse and compare thousands.
inline constexpr std::size_t kMaxPositionPartitions = 1024;

// Raises `position` to include `offset`: its partition's next offset becomes the larger of the two.
void Include(Position& position, const PartitionOffset& offset);

// True when `applied` has reached `wanted` in every partition `wanted` names.
bool Reaches(const Position& applied, const Position& wanted);

// Records from `from` up to `to`, summed over the partitions of `to` (a partition `from` lacks counts from 0; one
// where `from` is ahead counts 0): the records still waiting when `to` is the log's end.
int64_t RecordsBetween(const Position& from, const Position& to);

std::string PositionToken(const Position& position);

// The position a token names; INVALID_ARGUMENT naming `field` when it is not a token PositionToken writes.
absl::StatusOr<Position> ParsePositionToken(std::string_view token, std::string_view field = "position");

// The payload under which an error (a wait for a position that ran out) carries the position applied so far.
inline constexpr std::string_view kAppliedPositionPayload = "clickstream/applied-position";
// `status` with the applied position attached; AppliedPositionOf reads it back ("" when absent).
absl::Status WithAppliedPosition(absl::Status status, const Position& applied);
std::string AppliedPositionOf(const absl::Status& status);

}  // namespace clickstream::domain
