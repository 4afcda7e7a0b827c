#include "adapters/kafka/kafka_event_publisher.h"

#include <librdkafka/rdkafka.h>

#include "common/log.h"

namespace clickstream::kafka {
namespace {

// librdkafka reads linger.ms as a decimal: 500 us -> "0.500".
std::string DecimalMillis(std::chrono::microseconds duration) {
  const auto thousandths = std::to_string(1000 + duration.count() % 1000);
  return std::to_string(duration.count() / 1000) + "." + thousandths.substr(1);
}

}  // namespace

struct KafkaEventPublisher::Pending {
  Done done;
  std::chrono::steady_clock::time_point start;
};

KafkaEventPublisher::KafkaEventPublisher(std::string topic, metrics::Registry* metrics)
    : topic_(std::move(topic)),
      produce_seconds_(metrics::GivenOrOwn(metrics, own_metrics_).GetHistogram("clickstream_kafka_produce_duration_seconds",
                                            "time from handing a record to the producer to the broker's ack",
                                            metrics::LatencyBuckets())),
      produce_errors_(metrics::GivenOrOwn(metrics, own_metrics_).GetCounter("clickstream_kafka_produce_errors_total",
                                         "records the broker did not acknowledge or the producer refused")) {}

absl::StatusOr<std::unique_ptr<KafkaEventPublisher>> KafkaEventPublisher::Create(const PublisherOptions& options) {
  std::unique_ptr<KafkaEventPublisher> publisher(new KafkaEventPublisher(options.topic, options.metrics));
  KafkaSettings defaults = {
      {"linger.ms", DecimalMillis(options.linger)},
      {"compression.type", "lz4"},
      {"batch.num.messages", "10000"},
      // Same key -> same partition as Java clients, so other producers keep per-user order with us.
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
  auto conf = BuildConf("producer", defaults, forced, &publisher->log_bridge_);
  if (!conf.ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(publisher.get()), error) !=
      RdKafka::Conf::CONF_OK) {
    return absl::InternalError("kafka producer dr_cb: " + error);
  }
  publisher->producer_.reset(RdKafka::Producer::create(conf->get(), error));
  if (!publisher->producer_) return absl::InvalidArgumentError("kafka producer: " + error);
  publisher->poll_thread_ = std::thread([p = publisher.get()] {
    while (!p->stopping_.load()) p->producer_->poll(50);
  });
  return publisher;
}

KafkaEventPublisher::~KafkaEventPublisher() {
  stopping_.store(true);
  if (poll_thread_.joinable()) poll_thread_.join();
  if (!producer_) return;
  // Whatever is still queued fails now, so every waiting client gets its 503 rather than silence.
  producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  producer_->poll(0);
  producer_->flush(1000);
}

void KafkaEventPublisher::Publish(std::string_view key, std::string_view value, int64_t timestamp_ms,
                                  Done done) {
  auto* pending = new Pending{std::move(done), std::chrono::steady_clock::now()};
  const RdKafka::ErrorCode code =
      producer_->produce(topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                         const_cast<char*>(value.data()), value.size(), key.data(), key.size(), timestamp_ms, pending);
  if (code == RdKafka::ERR_NO_ERROR) return;
  std::unique_ptr<Pending> failed(pending);
  produce_errors_.Inc();
  if (code == RdKafka::ERR__QUEUE_FULL) {
    failed->done(absl::ResourceExhaustedError("the producer queue is full; retry later"));
  } else {
    failed->done(absl::UnavailableError("cannot publish: " + RdKafka::err2str(code)));
  }
}

void KafkaEventPublisher::dr_cb(RdKafka::Message& message) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(message.msg_opaque()));
  if (!pending) return;
  produce_seconds_.Observe(metrics::SecondsSince(pending->start));
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    pending->done(absl::OkStatus());
  } else {
    produce_errors_.Inc();
    pending->done(absl::UnavailableError("the broker did not acknowledge the event: " + message.errstr()));
  }
}

absl::Status KafkaEventPublisher::CheckReady(std::chrono::milliseconds timeout) {
  std::string reason;
  if (const RdKafka::ErrorCode fatal = producer_->fatal_error(reason); fatal != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError("the Kafka producer failed for good (" + RdKafka::err2str(fatal) + ": " + reason +
                               "); restart the process");
  }
  return CheckTopic(*producer_, topic_, static_cast<int>(timeout.count()));
}

void KafkaEventPublisher::RaiseFatalErrorForTesting(const std::string& reason) {
  rd_kafka_test_fatal_error(producer_->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason.c_str());
}

void KafkaEventPublisher::Drain(std::chrono::milliseconds timeout) {
  const RdKafka::ErrorCode code = producer_->flush(static_cast<int>(timeout.count()));
  if (code != RdKafka::ERR_NO_ERROR) {
    common::Logger("kafka")->warn("producer drain incomplete after {} ms: {} records outstanding",
                                  timeout.count(), producer_->outq_len());
  }
}

}  // namespace clickstream::kafka
