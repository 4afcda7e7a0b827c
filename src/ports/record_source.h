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

  // Writes the letter's record, unchanged, with its reason (code and message), and blocks until it is stored
  // durably (OK) or `timeout` passed (UNAVAILABLE). The processor sends a letter again after a failure or a
  // restart: a sink keeps one copy per source record where it can.
  virtual absl::Status Send(const domain::PoisonRecord& letter, std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
