// Waits for positions in the event log to be applied to the stored counts, for queries that passed a position from
// ingestion (read-your-writes). One thread reads the applied position from the store, every poll interval and only
// while someone waits, and answers each waiter once its position is reached or its deadline passed. Waiting costs
// no analytics worker, so queries that wait cannot starve those that do not.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "domain/position.h"

namespace clickstream::analytics {

struct PositionWatchOptions {
  std::chrono::milliseconds poll_interval{5};
  std::size_t max_waiting = 10000;  // beyond it a wait is refused RESOURCE_EXHAUSTED
};

class PositionWatch {
 public:
  using Clock = std::chrono::steady_clock;
  using Reached = std::function<void(absl::Status)>;
  using ReadApplied = std::function<absl::StatusOr<domain::Position>()>;

  // `read_applied` is called on the watch's thread only; it must end by itself (a bounded read).
  PositionWatch(PositionWatchOptions options, ReadApplied read_applied);
  // Answers every waiter UNAVAILABLE, then joins the thread.
  ~PositionWatch();

  // `reached` runs exactly once: OK once the applied position reaches `wanted` (inline when the last read already
  // did); at `deadline`, UNAVAILABLE saying so and carrying the position applied so far (domain::AppliedPositionOf);
  // inline RESOURCE_EXHAUSTED when max_waiting waiters wait. It runs on the watch's thread and must not block.
  void WaitFor(domain::Position wanted, Clock::time_point deadline, Reached reached);

 private:
  struct Waiter {
    domain::Position wanted;
    Clock::time_point deadline;
    Reached reached;
  };

  void Watch();

  const PositionWatchOptions options_;
  const ReadApplied read_applied_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<Waiter> waiters_;
  domain::Position last_applied_;  // the last position read; positions only grow
  bool stopping_ = false;
  std::thread thread_;  // last: started after everything it uses
};

}  // namespace clickstream::analytics
