// EventPublisher over a librdkafka idempotent producer (acks=all). A thread of its own polls the producer and
// runs the delivery callbacks.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/kafka/kafka_settings.h"
#include "common/metrics.h"
#include "common/tracing.h"
#include "ports/event_publisher.h"

namespace clickstream::kafka {

// Which partition a record goes to.
enum class Partitioning {
  // By its key (the user_id), as Java clients hash it: a user's records stay in order, and a (user, page) pair's
  // records all reach the one processor that owns its partition, so processors never update the same counter rows.
  kByKey,
  // No key: librdkafka fills one partition for about 10 ms, then moves to another. Records published together
  // make one produce request instead of one per partition, which costs the broker and the producer much less
  // under single-event load; in exchange the topic has no per-user order, and several processors would update the
  // same counter rows (safe, but they wait for each other's transactions). For one processor.
  kSticky,
};

struct PublisherOptions {
  std::string brokers;
  std::string topic;
  std::chrono::microseconds linger{500};            // linger.ms: how long a batch waits for more records
  std::chrono::milliseconds publish_timeout{5000};  // message.timeout.ms: how long a record may wait for its ack
  std::size_t queue_capacity = 100000;              // records librdkafka holds before QUEUE_FULL
  KafkaSettings overrides;                          // any librdkafka setting; delivery guarantees still win
  Partitioning partitioning = Partitioning::kByKey;
  metrics::Registry* metrics = nullptr;     // produce latency and errors go here when set
  const tracing::Tracer* tracer = nullptr;  // spans of sampled publishes; must outlive the publisher
};

class KafkaEventPublisher final : public ports::EventPublisher {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaEventPublisher>> Create(const PublisherOptions& options);
  // Fails whatever is still queued (UNAVAILABLE), so every waiting caller gets its answer rather than silence.
  ~KafkaEventPublisher() override;

  // ports::EventPublisher. CheckReady fails for good once the idempotent producer raised a fatal error (its
  // sequence numbers can no longer be trusted, so every later publish fails): the process must be restarted.
  // A sampled `trace` goes into the record's `traceparent` header, under a span of the publish when a tracer is set.
  void Publish(std::string_view key, std::string_view value, int64_t timestamp_ms, const tracing::TraceContext& trace,
               Done done) override;
  absl::Status CheckReady(std::chrono::milliseconds timeout) override;
  void Drain(std::chrono::milliseconds timeout) override;

  // Raises a fatal producer error as the broker could (librdkafka's rd_kafka_test_fatal_error), for tests.
  void RaiseFatalErrorForTesting(const std::string& reason);

 private:
  struct Client;  // the librdkafka producer, its delivery callback and its polling thread
  KafkaEventPublisher(std::string topic, Partitioning partitioning, const tracing::Tracer* tracer);

  const std::string topic_;
  const std::string span_name_;  // of each publish's span, built once
  const bool keyed_;
  const tracing::Tracer* const tracer_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // used when the options bring no registry; before the client
  std::unique_ptr<Client> client_;
};

}  // namespace clickstream::kafka
