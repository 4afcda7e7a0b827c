// Readiness of a service, checked in the background: /readyz answers from the latest result at once, without
// blocking an HTTP I/O thread on a dependency.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace clickstream::services {

// Runs a readiness check every `interval` on its own thread, so /readyz answers at once without blocking an I/O
// thread on a dependency.
class ReadinessProbe {
 public:
  ReadinessProbe(std::string service, std::function<absl::Status()> check, std::chrono::milliseconds interval);
  ~ReadinessProbe();
  absl::Status Latest() const;

 private:
  void Loop();

  const std::string service_;
  const std::function<absl::Status()> check_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  absl::Status latest_ = absl::UnavailableError("not checked yet");
  bool stopping_ = false;
  std::thread thread_;  // last: started after everything it uses
};

}  // namespace clickstream::services
