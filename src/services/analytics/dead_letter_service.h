// Dead letters for an operator: the ledger listed, and letters replayed. A replay validates the record again as the
// processor does (against the record's own broker time, with today's limits, so a letter refused under limits
// since widened passes now) and, when it is valid, publishes it again to the event log under its event's user_id
// with its original broker time, then marks it replayed. Its event_id makes a letter replayed twice count once.
// Both block on the database and the broker, so they run on a thread of their own, never on a look-up worker.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/work_queue.h"
#include "domain/click_event.h"
#include "domain/dead_letter.h"
#include "ports/dead_letter_ledger.h"
#include "ports/event_publisher.h"

namespace clickstream::analytics {

struct DeadLetterOptions {
  domain::EventLimits limits;
  std::size_t max_page = 1000;                       // letters one call lists or replays at most
  std::chrono::milliseconds publish_timeout{10000};  // per replayed letter, for the broker's acknowledgement
  std::size_t queue_depth = 16;                      // calls waiting for the thread; beyond it RESOURCE_EXHAUSTED
};

class DeadLetterService {
 public:
  using ListDone = std::function<void(absl::StatusOr<std::vector<domain::DeadLetter>>)>;
  using ReplayDone = std::function<void(absl::StatusOr<std::vector<domain::ReplayOutcome>>)>;

  DeadLetterService(DeadLetterOptions options, std::unique_ptr<ports::DeadLetterLedger> ledger,
                    std::unique_ptr<ports::EventPublisher> publisher);
  ~DeadLetterService();  // finishes the calls already queued

  // `done` runs once: on the service's thread, or inline with INVALID_ARGUMENT (a limit of 0 or above max_page) or
  // RESOURCE_EXHAUSTED (too many calls waiting).
  void List(domain::DeadLetterFilter filter, ListDone done);
  // One outcome per letter the filter selects, in id order; a letter that failed may be replayed again.
  void Replay(domain::DeadLetterFilter filter, ReplayDone done);

 private:
  absl::Status Check(const domain::DeadLetterFilter& filter) const;
  std::vector<domain::ReplayOutcome> ReplayNow(const std::vector<domain::DeadLetter>& letters);
  domain::ReplayOutcome ReplayOne(const domain::DeadLetter& letter);

  const DeadLetterOptions options_;
  const std::unique_ptr<ports::DeadLetterLedger> ledger_;
  const std::unique_ptr<ports::EventPublisher> publisher_;
  common::WorkQueue work_;  // last: finishes its calls while everything they use exists
};

}  // namespace clickstream::analytics
