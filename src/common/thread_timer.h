// The production clock and timer (ports/timer.h): steady_clock, and one thread running tasks in deadline order.
// One ThreadTimer serves a whole service: its tasks only answer requests (a 504 at a deadline), never block.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "ports/timer.h"

namespace clickstream::common {

// steady_clock, for services that read time but keep no deadlines.
class SteadyClock final : public ports::Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
};

class ThreadTimer final : public ports::Timer {
 public:
  ThreadTimer();
  // Joins the thread; tasks not yet run are dropped (their owners answer their requests by other means first).
  ~ThreadTimer() override;

  // ports::Clock
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  // ports::Timer
  TaskId RunAt(TimePoint when, std::function<void()> task) override;
  bool Cancel(TaskId id) override;

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  // By deadline, then id: look-ups all get the same query deadline, so new tasks nearly always go at the end.
  std::map<std::pair<TimePoint, TaskId>, std::function<void()>> tasks_;
  std::unordered_map<TaskId, TimePoint> deadlines_;  // of the tasks in tasks_, for Cancel
  TaskId next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;  // last: started after everything it uses
};

}  // namespace clickstream::common
