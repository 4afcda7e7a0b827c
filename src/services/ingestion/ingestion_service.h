// Ingestion: validates click events, publishes each keyed by user_id, and reports an event accepted only after the
// broker acknowledged it. Accepted therefore means the event will be counted. A batch (a JSON array or NDJSON)
// is reported once, after the last of its publishes completed, with a result per event. The events and bytes
// awaiting acknowledgement are bounded; beyond them a request is refused as overloaded (retry later).
// HTTP is translated by ingest_handler.h; this decides.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "domain/click_event.h"
#include "domain/position.h"
#include "ports/event_publisher.h"
#include "ports/timer.h"
#include "services/common/access.h"
#include "services/ingestion/batch_body.h"

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
  metrics::Registry* metrics = nullptr;  // refused events by reason go here when set; must outlive the service
};

// What a client sent: the API key it presented (empty: none) and the body, both read before the call returns; and
// the request's trace, which each published record carries on.
struct IngestRequest {
  std::string_view presented_key;
  std::string_view body;
  tracing::TraceContext trace = {};
};

// A batch's outcome, event by event in body order.
struct BatchOutcome {
  std::vector<domain::BatchEvent> events;
  std::vector<absl::Status> published;  // by index: a valid event's publish outcome (OK: acknowledged)
  std::size_t accepted = 0;
  // Where the accepted events were stored: a query passing it back sees all of them counted (read-your-writes).
  domain::Position position;

  // OK when event `i` was accepted, else why not.
  const absl::Status& ResultOf(std::size_t i) const {
    return events[i].event.ok() ? published[i] : events[i].event.status();
  }
  // The event_id of event `i`, empty when none could be read.
  std::string_view EventIdOf(std::size_t i) const {
    return events[i].event.ok() ? std::string_view(events[i].event->event_id) : events[i].event_id;
  }
};

// An accepted event: its normalized JSON, and where it was stored.
struct AcceptedEvent {
  std::string json;
  domain::PartitionOffset position;
};

class IngestionService {
 public:
  // The accepted event, or why it was refused.
  using EventDone = std::function<void(absl::StatusOr<AcceptedEvent>)>;
  using BatchDone = std::function<void(absl::StatusOr<BatchOutcome>)>;

  // `now_us` is the wall clock events are validated against (and their records stamped with); `clock` the steady
  // clock rate limits refill by (steady_clock when null).
  IngestionService(IngestionOptions options, std::unique_ptr<ports::EventPublisher> publisher,
                   std::function<int64_t()> now_us = domain::NowMicros, std::unique_ptr<ports::Clock> clock = nullptr);

  // One event. `done` runs on the publisher's delivery thread, or inline when the event is refused before
  // publishing (no key, over the rate, too large, invalid, no room in flight).
  void Ingest(const IngestRequest& request, EventDone done);

  // A batch. `done` runs once: on the delivery thread of the batch's last publish, or inline when the request is
  // refused whole (nothing published) or holds no valid event. When valid events were published but the broker
  // acknowledged none, the outcome is UNAVAILABLE: nothing of the batch was stored, retry it whole.
  void IngestBatch(const IngestRequest& request, BatchFormat format, BatchDone done);

  absl::Status CheckReady();
  std::size_t InFlight() const { return in_flight_.load(); }
  std::size_t InFlightBytes() const { return in_flight_bytes_.load(); }

  // Waits up to `timeout` for in-flight events to be acknowledged (their clients then get their answers).
  void Drain(std::chrono::milliseconds timeout);

 private:
  struct PendingBatch;

  // Takes `events` tokens of the key's rate; else rate limited, with how long to wait.
  absl::Status TakeRate(std::size_t key, std::size_t events);
  absl::StatusOr<std::vector<domain::BatchEvent>> ParseBatch(const IngestRequest& request, BatchFormat format,
                                                             int64_t now_ms);
  // Reserves `events` in-flight slots and `bytes`, all or none; else why not (overloaded, or too large when the
  // request could never fit).
  absl::Status ReserveInFlight(std::size_t events, std::size_t bytes);
  void PublishBatch(BatchDone done, std::vector<domain::BatchEvent> events, std::size_t valid, std::size_t bytes,
                    int64_t now_ms, const tracing::TraceContext& trace);
  int64_t NowMillis() const;
  // Counts an event refused as invalid, by the reason code its status carries (domain/field_error.h).
  void CountInvalid(const absl::Status& refusal);

  const IngestionOptions options_;
  const std::function<int64_t()> now_us_;
  const std::unique_ptr<ports::Clock> clock_;
  const services::ApiKeys keys_;
  services::RateLimiter limiter_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> in_flight_bytes_{0};
  std::unique_ptr<metrics::Registry> own_metrics_;  // used when the options bring none
  metrics::Registry& metrics_;
  // Declared last, so destroyed first: its destructor fails every publish still pending, and their callbacks use
  // the members above.
  const std::unique_ptr<ports::EventPublisher> publisher_;
};

}  // namespace clickstream::ingestion
