// Port: the clock deadlines are measured with, and a timer that runs a task at a deadline. Services that keep
// deadlines take these instead of reading std::chrono::steady_clock or sleeping, so unit tests drive time by hand
// (tests/support/fakes.h: FakeTimer). The production implementations are in common/thread_timer.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace clickstream::ports {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;

  // Now, on a clock that never jumps (steady_clock in production). Thread-safe.
  virtual TimePoint Now() = 0;
};

class Timer : public Clock {
 public:
  using TaskId = uint64_t;

  // Runs `task` once, at `when` or soon after, on the timer's own thread: never inline in RunAt, even when `when`
  // has passed, so a caller may hold its own locks while scheduling. Tasks run one at a time; a task must not block,
  // or it delays every task after it. Tasks still waiting when the timer is destroyed never run. Thread-safe.
  virtual TaskId RunAt(TimePoint when, std::function<void()> task) = 0;

  // Drops the task if it has not started. Returns false when it already ran, or is running right now on the
  // timer's thread (it may not have finished when Cancel returns). Thread-safe; must not be called from the task
  // itself with a lock that task takes.
  virtual bool Cancel(TaskId id) = 0;
};

}  // namespace clickstream::ports
