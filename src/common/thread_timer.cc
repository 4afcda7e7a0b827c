#include "common/thread_timer.h"

namespace clickstream::common {

ThreadTimer::ThreadTimer() : thread_([this] { Loop(); }) {}

ThreadTimer::~ThreadTimer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

ports::Timer::TaskId ThreadTimer::RunAt(TimePoint when, std::function<void()> task) {
  std::lock_guard lock(mutex_);
  const TaskId id = next_id_++;
  const bool earliest = tasks_.empty() || when < tasks_.begin()->first.first;
  tasks_.emplace_hint(tasks_.end(), std::make_pair(when, id), std::move(task));
  deadlines_.emplace(id, when);
  // Only a new earliest task changes how long the thread sleeps: with one query deadline for every look-up that
  // is rare, so the hot path does not wake the thread.
  if (earliest) wake_.notify_one();
  return id;
}

bool ThreadTimer::Cancel(TaskId id) {
  std::lock_guard lock(mutex_);
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return false;
  tasks_.erase({it->second, id});
  deadlines_.erase(it);
  return true;
}

void ThreadTimer::Loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (tasks_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto first = tasks_.begin();
    if (first->first.first > std::chrono::steady_clock::now()) {
      wake_.wait_until(lock, first->first.first);
      continue;
    }
    auto task = std::move(first->second);
    deadlines_.erase(first->first.second);
    tasks_.erase(first);
    // Unlocked while it runs: the task may schedule or cancel others.
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace clickstream::common
