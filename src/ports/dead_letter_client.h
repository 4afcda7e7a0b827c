// Port: the gateway's client of analytics' dead-letter calls.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/dead_letter.h"

namespace clickstream::ports {

class DeadLetterClient {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  using ListDone = std::function<void(absl::StatusOr<std::vector<domain::DeadLetter>>)>;
  using ReplayDone = std::function<void(absl::StatusOr<std::vector<domain::ReplayOutcome>>)>;

  virtual ~DeadLetterClient() = default;

  // Each ends by `deadline`; `done` runs exactly once, on a client thread, and must not block.
  virtual void ListDeadLetters(const domain::DeadLetterFilter& filter, Deadline deadline, ListDone done) = 0;
  virtual void ReplayDeadLetters(const domain::DeadLetterFilter& filter, Deadline deadline, ReplayDone done) = 0;
};

}  // namespace clickstream::ports
