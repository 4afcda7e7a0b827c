// Ingestion: POST /ingest validates a click event, publishes it keyed by user_id, and answers 200 with the
// normalized event only after the broker acknowledged it. A 200 therefore means the event will be counted.
// The number of events awaiting acknowledgement is bounded; beyond it the answer is 503 with Retry-After.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "domain/click_event.h"
#include "ports/event_publisher.h"
#include "ports/http.h"
#include "services/common/access.h"

namespace clickstream::ingestion {

struct IngestionOptions {
  std::size_t max_body_bytes = 65536;
  std::size_t max_in_flight = 20000;
  domain::EventLimits limits;
  std::vector<std::string> api_keys;  // empty: no key needed
  double events_per_second_per_key = 0;  // 0: no rate limit
  double burst_per_key = 0;
};

class IngestionService {
 public:
  IngestionService(IngestionOptions options, std::unique_ptr<ports::EventPublisher> publisher,
                   std::function<int64_t()> now_us = domain::NowMicros);

  // POST /ingest. Answers from the publisher's delivery thread, or inline for bad input and a full queue.
  void HandleIngest(const ports::HttpRequest& request, ports::Respond respond);

  std::vector<ports::HttpRoute> Routes();
  absl::Status CheckReady();
  std::size_t InFlight() const { return in_flight_.load(); }

  // Waits up to `timeout` for in-flight events to be acknowledged (their clients then get their answers).
  void Drain(std::chrono::milliseconds timeout);

 private:
  const IngestionOptions options_;
  const std::unique_ptr<ports::EventPublisher> publisher_;
  const std::function<int64_t()> now_us_;
  const services::ApiKeys keys_;
  services::RateLimiter limiter_;
  std::atomic<std::size_t> in_flight_{0};
};

}  // namespace clickstream::ingestion
