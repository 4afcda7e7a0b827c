// One thread running posted tasks in order, for blocking work that must not hold a request thread (an operator's
// listing or replay). Bounded: Post refuses beyond `depth` waiting tasks.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace clickstream::common {

class WorkQueue {
 public:
  explicit WorkQueue(std::size_t depth);
  // Runs the tasks already posted, then joins the thread.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // False, and `task` dropped, when `depth` tasks wait already.
  bool Post(std::function<void()> task);

 private:
  void Loop();

  const std::size_t depth_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: started after everything it uses
};

}  // namespace clickstream::common
