// Ingestion: POST /ingest validates a click event, publishes it keyed by user_id, and answers 200 with the
// normalized event only after the broker acknowledged it. A 200 therefore means the event will be counted.
// POST /ingest/batch does the same for many events in one body (a JSON array or NDJSON) and answers once, after
// the last of its publishes completed, with a result per event. The number of events awaiting acknowledgement is
// bounded; beyond it the answer is 503 with Retry-After.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "domain/click_event.h"
#include "ports/event_publisher.h"
#include "ports/http.h"
#include "services/common/access.h"

namespace clickstream::ingestion {

struct IngestionOptions {
  std::size_t max_body_bytes = 65536;
  std::size_t batch_max_body_bytes = 4194304;
  std::size_t batch_max_events = 1000;
  std::size_t max_in_flight = 20000;  // events, whichever endpoint they came through
  // Bytes held for requests awaiting the broker: their bodies and the copies of their events (the service's and
  // the producer's). Escaped field text can make a body several times its events, so events alone bound nothing.
  std::size_t max_in_flight_bytes = 64 << 20;
  domain::EventLimits limits;
  std::vector<std::string> api_keys;     // empty: no key needed
  double events_per_second_per_key = 0;  // 0: no rate limit
  double burst_per_key = 0;
};

class IngestionService {
 public:
  IngestionService(IngestionOptions options, std::unique_ptr<ports::EventPublisher> publisher,
                   std::function<int64_t()> now_us = domain::NowMicros);

  // POST /ingest. Answers from the publisher's delivery thread, or inline for bad input and a full queue.
  void HandleIngest(const ports::HttpRequest& request, ports::Respond respond);

  // POST /ingest/batch. Answers from the delivery thread of the batch's last publish, or inline when the request
  // is refused whole (nothing published) or holds no valid event.
  void HandleIngestBatch(const ports::HttpRequest& request, ports::Respond respond);

  std::vector<ports::HttpRoute> Routes();
  absl::Status CheckReady();
  std::size_t InFlight() const { return in_flight_.load(); }
  std::size_t InFlightBytes() const { return in_flight_bytes_.load(); }

  // Waits up to `timeout` for in-flight events to be acknowledged (their clients then get their answers).
  void Drain(std::chrono::milliseconds timeout);

 private:
  struct PendingBatch;

  // The 429 answer when the key `key` may not post `events` events now.
  std::optional<ports::HttpResponse> TakeRate(std::size_t key, std::size_t events);
  // Access, body size and content type of a batch request; nullopt when it may be parsed.
  std::optional<ports::HttpResponse> CheckBatchRequest(const ports::HttpRequest& request, std::size_t& key,
                                                       domain::BatchFormat& format);
  // Reserves `events` in-flight slots and `bytes`, all or none; the refusal (503, or 413 when the request could
  // never fit) otherwise.
  std::optional<ports::HttpResponse> ReserveInFlight(std::size_t events, std::size_t bytes);
  void PublishBatch(ports::Respond respond, std::vector<domain::BatchEvent> events, std::size_t valid,
                    std::size_t bytes, int64_t now_ms);
  int64_t NowMillis() const;

  const IngestionOptions options_;
  const std::function<int64_t()> now_us_;
  const services::ApiKeys keys_;
  services::RateLimiter limiter_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> in_flight_bytes_{0};
  // Declared last, so destroyed first: its destructor fails every publish still pending, and their callbacks use
  // the members above.
  const std::unique_ptr<ports::EventPublisher> publisher_;
};

}  // namespace clickstream::ingestion
