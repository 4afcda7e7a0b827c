#include "adapters/kafka/kafka_event_publisher.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <thread>

#include "adapters/kafka/kafka_client_config.h"
#include "common/log.h"

namespace clickstream::kafka {
namespace {

// librdkafka reads linger.ms as a decimal: 500 us -> "0.500".
std::string DecimalMillis(std::chrono::microseconds duration) {
  const auto thousandths = std::to_string(1000 + duration.count() % 1000);
  return std::to_string(duration.count() / 1000) + "." + thousandths.substr(1);
}

// A Done with the time its record was handed to librdkafka, and the span of the publish (not recording unless
// the trace is sampled).
struct Pending {
  ports::EventPublisher::Done done;
  std::chrono::steady_clock::time_point start;
  tracing::Span span;
};

}  // namespace

struct KafkaEventPublisher::Client final : RdKafka::DeliveryReportCb {
  Client(metrics::Histogram& seconds, metrics::Counter& errors) : produce_seconds(seconds), produce_errors(errors) {}

  ~Client() override {
    stopping.store(true);
    if (poll_thread.joinable()) poll_thread.join();
    if (!producer) return;
    // Whatever is still queued fails now, so every waiting client gets its 503 rather than silence.
    producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer->poll(0);
    producer->flush(1000);
  }

  void dr_cb(RdKafka::Message& message) override {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(message.msg_opaque()));
    if (!pending) return;
    produce_seconds.Observe(metrics::SecondsSince(pending->start));
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      pending->span.Tag("messaging.kafka.partition", std::to_string(message.partition()));
      pending->span.End();
      pending->done(domain::PartitionOffset{message.partition(), message.offset() + 1});
    } else {
      produce_errors.Inc();
      pending->span.SetError(message.errstr());
      pending->span.End();
      pending->done(absl::UnavailableError("the broker did not acknowledge the event: " + message.errstr()));
    }
  }

  metrics::Histogram& produce_seconds;
  metrics::Counter& produce_errors;
  KafkaLogBridge log_bridge;  // outlives the producer, which calls it
  std::unique_ptr<RdKafka::Producer> producer;
  std::atomic<bool> stopping{false};
  std::thread poll_thread;  // joined before the producer is destroyed
};

KafkaEventPublisher::KafkaEventPublisher(std::string topic, Partitioning partitioning, const tracing::Tracer* tracer)
    : topic_(std::move(topic)),
      span_name_("send " + topic_),
      keyed_(partitioning == Partitioning::kByKey),
      tracer_(tracer) {}

absl::StatusOr<std::unique_ptr<KafkaEventPublisher>> KafkaEventPublisher::Create(const PublisherOptions& options) {
  std::unique_ptr<KafkaEventPublisher> publisher(
      new KafkaEventPublisher(options.topic, options.partitioning, options.tracer));
  metrics::Registry& registry = metrics::GivenOrOwn(options.metrics, publisher->own_metrics_);
  publisher->client_ =
      std::make_unique<Client>(registry.GetHistogram("clickstream_kafka_produce_duration_seconds",
                                                     "time from handing a record to the producer to the broker's ack",
                                                     metrics::LatencyBuckets()),
                               registry.GetCounter("clickstream_kafka_produce_errors_total",
                                                   "records the broker did not acknowledge or the producer refused"));
  Client& client = *publisher->client_;
  KafkaSettings defaults = {
      {"linger.ms", DecimalMillis(options.linger)},
      {"compression.type", "lz4"},
      {"batch.num.messages", "10000"},
      // Same key -> same partition as Java clients, so other producers keep per-user order with us; records
      // without a key (sticky partitioning) go to one partition at a time.
      {"partitioner", "murmur2_random"},
      // Requests are small and pipelined (up to 5 in flight): Nagle's algorithm would hold one back until the
      // previous one is acknowledged.
      {"socket.nagle.disable", "true"},
  };
  for (const auto& [name, value] : options.overrides) defaults[name] = value;
  const KafkaSettings forced = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "clickstream-ingestion"},
      // A 200 promises the event will be counted: only a durable, deduplicated write may produce it.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", std::to_string(options.publish_timeout.count())},
      {"queue.buffering.max.messages", std::to_string(options.queue_capacity)},
  };
  auto conf = BuildConf("producer", defaults, forced, &client.log_bridge);
  if (!conf.ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&client), error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError("kafka producer dr_cb: " + error);
  }
  client.producer.reset(RdKafka::Producer::create(conf->get(), error));
  if (!client.producer) return absl::InvalidArgumentError("kafka producer: " + error);
  client.poll_thread = std::thread([&client] {
    while (!client.stopping.load()) client.producer->poll(50);
  });
  return publisher;
}

KafkaEventPublisher::~KafkaEventPublisher() = default;

void KafkaEventPublisher::Publish(std::string_view key, std::string_view value, int64_t timestamp_ms,
                                  const tracing::TraceContext& trace, Done done) {
  // Only a sampled trace goes on with the record: a header on every record would cost it some 70 bytes.
  auto outgoing = tracing::StartOutgoing(tracer_, span_name_, tracing::SpanKind::kProducer, trace);
  outgoing.span.Tag("messaging.destination.name", topic_);
  auto* pending = new Pending{std::move(done), std::chrono::steady_clock::now(), std::move(outgoing.span)};
  RdKafka::Headers* headers = nullptr;  // librdkafka owns them once produce succeeds
  if (!outgoing.traceparent.empty()) {
    headers = RdKafka::Headers::create();
    headers->add(kTraceparentHeader, outgoing.traceparent);
  }
  const RdKafka::ErrorCode code = client_->producer->produce(
      topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
      value.size(), keyed_ ? key.data() : nullptr, keyed_ ? key.size() : 0, timestamp_ms, headers, pending);
  if (code == RdKafka::ERR_NO_ERROR) return;
  delete headers;
  std::unique_ptr<Pending> failed(pending);
  failed->span.SetError(RdKafka::err2str(code));
  client_->produce_errors.Inc();
  if (code == RdKafka::ERR__QUEUE_FULL) {
    failed->done(absl::ResourceExhaustedError("the producer queue is full; retry later"));
  } else {
    failed->done(absl::UnavailableError("cannot publish: " + RdKafka::err2str(code)));
  }
}

absl::Status KafkaEventPublisher::CheckReady(std::chrono::milliseconds timeout) {
  std::string reason;
  if (const RdKafka::ErrorCode fatal = client_->producer->fatal_error(reason); fatal != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError("the Kafka producer failed for good (" + RdKafka::err2str(fatal) + ": " + reason +
                               "); restart the process");
  }
  return CheckTopic(*client_->producer, topic_, static_cast<int>(timeout.count()));
}

void KafkaEventPublisher::RaiseFatalErrorForTesting(const std::string& reason) {
  rd_kafka_test_fatal_error(client_->producer->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason.c_str());
}

void KafkaEventPublisher::Drain(std::chrono::milliseconds timeout) {
  const RdKafka::ErrorCode code = client_->producer->flush(static_cast<int>(timeout.count()));
  if (code != RdKafka::ERR_NO_ERROR) {
    common::Logger("kafka")->warn("producer drain incomplete after {} ms: {} records outstanding", timeout.count(),
                                  client_->producer->outq_len());
  }
}

}  // namespace clickstream::kafka
