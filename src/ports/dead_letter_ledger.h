// Port: the dead-letter ledger analytics lists and replays from (the processor fills it through ports::DeadLetters).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/dead_letter.h"
#include "domain/position.h"

namespace clickstream::ports {

class DeadLetterLedger {
 public:
  virtual ~DeadLetterLedger() = default;

  // The letters `filter` selects, by id ascending. Blocking; thread-safe. UNAVAILABLE when the ledger cannot be
  // reached, INTERNAL otherwise.
  virtual absl::StatusOr<std::vector<domain::DeadLetter>> List(const domain::DeadLetterFilter& filter) = 0;

  // Marks letter `id` replayed once more, now, to `position` (where the republished record was stored).
  virtual absl::Status MarkReplayed(int64_t id, const domain::Position& position) = 0;
};

}  // namespace clickstream::ports
