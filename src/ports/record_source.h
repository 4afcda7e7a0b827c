// Port: the processor's side of the event log (a Kafka consumer group) and its dead-letter topic.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/batch.h"

namespace clickstream::ports {

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // Waits up to `wait` for a first record, then takes whatever else is already fetched, up to `max` records.
  // An empty vector means nothing arrived. Called from the processor's one thread.
  virtual absl::StatusOr<std::vector<domain::Record>> Poll(std::size_t max, std::chrono::milliseconds wait) = 0;

  // Commits the consumer group's offsets. Only called after the records below them are stored durably.
  virtual absl::Status Commit(const std::vector<domain::PartitionOffset>& next_offsets) = 0;

  // OK when the group coordinator is reachable within `timeout`.
  virtual absl::Status CheckReady(std::chrono::milliseconds timeout) = 0;

  // Records not yet consumed, per assigned partition, from the client's cached watermarks (no network call).
  // Thread-safe: called by the metrics scrape while Poll runs.
  virtual std::map<int32_t, int64_t> Lag() = 0;
};

class DeadLetters {
 public:
  virtual ~DeadLetters() = default;

  // Writes the record, unchanged, to the dead-letter topic with `reason` in a header, and blocks until the broker
  // acknowledged it (OK) or `timeout` passed (UNAVAILABLE).
  virtual absl::Status Send(const domain::Record& record, std::string_view reason,
                            std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
