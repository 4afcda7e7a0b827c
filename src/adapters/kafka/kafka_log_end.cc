#include "adapters/kafka/kafka_log_end.h"

#include "adapters/kafka/kafka_client_config.h"

namespace clickstream::kafka {

struct KafkaLogEnd::Client {
  KafkaLogBridge log_bridge;
  // A plain consumer: it can ask for metadata and watermarks without a group, and is never assigned anything.
  std::unique_ptr<RdKafka::Consumer> consumer;
};

KafkaLogEnd::KafkaLogEnd(std::unique_ptr<Client> client, std::string topic)
    : client_(std::move(client)), topic_(std::move(topic)) {}

KafkaLogEnd::~KafkaLogEnd() = default;

absl::StatusOr<std::unique_ptr<KafkaLogEnd>> KafkaLogEnd::Create(const std::string& brokers, const std::string& topic,
                                                                 const KafkaSettings& overrides) {
  auto client = std::make_unique<Client>();
  auto conf = BuildConf("log end", overrides, {{"bootstrap.servers", brokers}}, &client->log_bridge);
  if (!conf.ok()) return conf.status();
  std::string error;
  client->consumer.reset(RdKafka::Consumer::create(conf->get(), error));
  if (!client->consumer) return absl::InvalidArgumentError("kafka log end client: " + error);
  return std::unique_ptr<KafkaLogEnd>(new KafkaLogEnd(std::move(client), topic));
}

absl::StatusOr<domain::Position> KafkaLogEnd::End(std::chrono::milliseconds timeout) {
  RdKafka::Handle& handle = *client_->consumer;
  std::string error;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(&handle, topic_, nullptr, error));
  if (!topic) return absl::InternalError("kafka topic handle " + topic_ + ": " + error);
  RdKafka::Metadata* raw = nullptr;
  const int timeout_ms = static_cast<int>(timeout.count());
  if (const auto code = handle.metadata(false, topic.get(), &raw, timeout_ms); code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("kafka metadata for " + topic_ + ": " + RdKafka::err2str(code));
  }
  const std::unique_ptr<RdKafka::Metadata> metadata(raw);
  domain::Position end;
  for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
    if (t->topic() != topic_) continue;
    for (const RdKafka::PartitionMetadata* partition : *t->partitions()) {
      int64_t low = 0;
      int64_t high = 0;
      const auto code = handle.query_watermark_offsets(topic_, partition->id(), &low, &high, timeout_ms);
      if (code != RdKafka::ERR_NO_ERROR) {
        return absl::UnavailableError("kafka end of " + topic_ + "/" + std::to_string(partition->id()) + ": " +
                                      RdKafka::err2str(code));
      }
      domain::Include(end, {partition->id(), high});
    }
  }
  handle.poll(0);  // serves the log bridge: librdkafka queues its log events until polled
  if (end.empty()) return absl::UnavailableError("kafka topic " + topic_ + " has no partitions");
  return end;
}

}  // namespace clickstream::kafka
