// Runs a task every interval on a thread of its own, the first time at once, until destroyed: for the background
// readers and checks that must never hold up a request (the log's end, the drift check).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace clickstream::common {

class Periodic {
 public:
  Periodic(std::chrono::milliseconds interval, std::function<void()> task);
  // Waits for a run in progress to end, then joins the thread.
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  void Loop();

  const std::chrono::milliseconds interval_;
  const std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;  // last: started after everything it uses
};

}  // namespace clickstream::common
