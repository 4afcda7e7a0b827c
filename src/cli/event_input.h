// Events to post, read from a file or standard input: NDJSON (one event per line, blank lines skipped) or one JSON
// array of events, told apart by the first character that is not whitespace. NDJSON is read a batch at a time, so a
// file of any size streams; an array is read whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace clickstream::cli {

class EventInput {
 public:
  // `path` "-" is standard input. Fails, naming the file, when it cannot be read, or when an array is not JSON.
  static absl::StatusOr<std::unique_ptr<EventInput>> Open(const std::string& path);
  // Over a stream, for tests; `total_bytes` 0 when unknown.
  static absl::StatusOr<std::unique_ptr<EventInput>> Read(std::istream& in, uint64_t total_bytes);
  virtual ~EventInput() = default;

  // Up to `max` next events, each one line of JSON text; none at the end. An event object without an event_id is
  // given a random one here, once, so that every retry of it carries the same. A line that is not a JSON object is
  // passed on as it is: ingestion refuses it, and says why.
  virtual absl::StatusOr<std::vector<std::string>> Next(std::size_t max) = 0;
  // How far through the input: from 0 to 1, or a negative number when the size is unknown (a pipe).
  virtual double Fraction() const = 0;
};

// `event` (one line of JSON) with an "event_id" of `id` added when it is an object without one; unchanged otherwise.
std::string WithEventId(const std::string& event, const std::string& id);

// A new random event id: "cli-" and 32 hex digits.
std::string RandomEventId();

}  // namespace clickstream::cli
