#include "services/analytics/log_end_watch.h"

#include "common/log.h"

namespace clickstream::analytics {

LogEndWatch::LogEndWatch(std::unique_ptr<ports::LogEnd> log_end, std::chrono::milliseconds interval)
    : log_end_(std::move(log_end)), interval_(interval), reads_(interval, [this] { Read(); }) {}

std::shared_ptr<const domain::Position> LogEndWatch::Latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void LogEndWatch::Read() {
  static const auto log = common::Logger("analytics");
  auto end = log_end_->End(interval_);
  // One line when reading starts to fail and one when it recovers, not one per interval.
  if (!end.ok() && !failing_) {
    log->warn("cannot read the event log's end; answers say lag unknown: {}", end.status().message());
  }
  if (end.ok() && failing_) log->info("reading the event log's end again");
  failing_ = !end.ok();
  std::lock_guard lock(mutex_);
  latest_ = end.ok() ? std::make_shared<const domain::Position>(std::move(*end)) : nullptr;
}

}  // namespace clickstream::analytics
