// The bodies of POST /ingest/batch: a JSON array of events or NDJSON, split into events each validated as
// POST /ingest validates one. Pure: no I/O, the clock is passed in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/click_event.h"

namespace clickstream::ingestion {

enum class BatchFormat {
  kJsonArray,  // one JSON array of event objects, parsed once
  kNdjson,     // one event object per line; blank lines (ASCII whitespace only) are skipped
};

// Splits and validates a batch body, events in body order. Whole-body errors, before anything is validated:
// payload too large (OUT_OF_RANGE) when it holds more than `max_events` events; INVALID_ARGUMENT when it is no
// batch at all (an array that is malformed or empty, another JSON value, NDJSON without a non-blank line). A
// malformed NDJSON line is that event's error only.
absl::StatusOr<std::vector<domain::BatchEvent>> ParseBatchBody(std::string_view body, BatchFormat format,
                                                               std::size_t max_events,
                                                               const domain::EventLimits& limits, int64_t now_us);

}  // namespace clickstream::ingestion
