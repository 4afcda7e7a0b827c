#include "services/common/readiness_probe.h"

#include "common/log.h"

namespace clickstream::services {

ReadinessProbe::ReadinessProbe(std::string service, std::function<absl::Status()> check,
                               std::chrono::milliseconds interval)
    : service_(std::move(service)), check_(std::move(check)), interval_(interval), thread_([this] { Loop(); }) {}

ReadinessProbe::~ReadinessProbe() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

absl::Status ReadinessProbe::Latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void ReadinessProbe::Loop() {
  auto log = common::Logger(service_);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    absl::Status status = check_();
    lock.lock();
    if (status.ok() != latest_.ok()) {
      if (status.ok()) {
        log->info("{} ready", service_);
      } else {
        log->warn("{} not ready: {}", service_, status.message());
      }
    }
    latest_ = std::move(status);
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace clickstream::services
