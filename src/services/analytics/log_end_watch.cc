#include "services/analytics/log_end_watch.h"

#include "common/log.h"

namespace clickstream::analytics {

LogEndWatch::LogEndWatch(std::unique_ptr<ports::LogEnd> log_end, std::chrono::milliseconds interval)
    : log_end_(std::move(log_end)), interval_(interval), thread_([this] { Watch(); }) {}

LogEndWatch::~LogEndWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

std::shared_ptr<const domain::Position> LogEndWatch::Latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void LogEndWatch::Watch() {
  static const auto log = common::Logger("analytics");
  bool failing = false;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto end = log_end_->End(interval_);
    // One line when reading starts to fail and one when it recovers, not one per interval.
    if (!end.ok() && !failing)
      log->warn("cannot read the event log's end; answers say lag unknown: {}", end.status().message());
    if (end.ok() && failing) log->info("reading the event log's end again");
    failing = !end.ok();
    lock.lock();
    latest_ = end.ok() ? std::make_shared<const domain::Position>(std::move(*end)) : nullptr;
    stop_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace clickstream::analytics
