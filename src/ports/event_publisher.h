// Port: publishing normalized events to the event log (Kafka). Owned by the ingestion service.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/tracing.h"
#include "domain/batch.h"

namespace clickstream::ports {

class EventPublisher {
 public:
  // Called exactly once per Publish. OK means the broker acknowledged the record durably (acks=all), and holds
  // where: its partition and the offset after it (the position a reader must reach to have read it).
  using Done = std::function<void(absl::StatusOr<domain::PartitionOffset>)>;

  virtual ~EventPublisher() = default;

  // Publishes `value` under `key`, with `timestamp_ms` as the record's timestamp: the clock the event was validated
  // against, so the processor later judges its time_stamp against the same instant. `trace` is the request's
  // span: when sampled, the record carries it on to the processor, under a span of the publish. `done` runs on the
  // publisher's
  // delivery thread after the broker acknowledged the record (OK) or the publish timeout passed (UNAVAILABLE), or
  // inline, before Publish returns, with RESOURCE_EXHAUSTED when the publisher's queue is full. `done` must not block.
  virtual void Publish(std::string_view key, std::string_view value, int64_t timestamp_ms,
                       const tracing::TraceContext& trace, Done done) = 0;

  // OK when a broker answered a metadata request within `timeout`.
  virtual absl::Status CheckReady(std::chrono::milliseconds timeout) = 0;

  // Waits up to `timeout` for every outstanding record to be acknowledged or to fail.
  virtual void Drain(std::chrono::milliseconds timeout) = 0;
};

}  // namespace clickstream::ports
