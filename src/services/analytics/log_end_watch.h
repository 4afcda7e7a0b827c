// Keeps the event log's latest known end, read every interval on a thread of its own, so that answers can say how
// many records wait behind their counts (lag) without asking the brokers on the way. Up to one interval old: lag
// may leave out records published since.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "common/periodic.h"
#include "domain/position.h"
#include "ports/log_end.h"

namespace clickstream::analytics {

class LogEndWatch {
 public:
  LogEndWatch(std::unique_ptr<ports::LogEnd> log_end, std::chrono::milliseconds interval);

  // The last end read, null before the first success or when the last read failed (lag unknown, never stale).
  std::shared_ptr<const domain::Position> Latest() const;

 private:
  void Read();  // on the reads' thread

  const std::unique_ptr<ports::LogEnd> log_end_;
  const std::chrono::milliseconds interval_;
  bool failing_ = false;  // the reads' thread's own
  mutable std::mutex mutex_;
  std::shared_ptr<const domain::Position> latest_;
  common::Periodic reads_;  // last: stopped first, started after everything it uses
};

}  // namespace clickstream::analytics
