#include "adapters/kafka/kafka_record_source.h"

#include <algorithm>
#include <optional>

#include "common/log.h"

namespace clickstream::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// The outcome of one dead letter. The delivery callback owns one reference and Send another, so a report that
// arrives after Send gave up still writes to live memory.
struct DeliveryOutcome {
  std::optional<absl::Status> result;
};
using SharedOutcome = std::shared_ptr<DeliveryOutcome>;

}  // namespace

void DeadLetterReports::dr_cb(RdKafka::Message& message) {
  std::unique_ptr<SharedOutcome> outcome(static_cast<SharedOutcome*>(message.msg_opaque()));
  if (!outcome) return;
  (*outcome)->result = message.err() == RdKafka::ERR_NO_ERROR
                           ? absl::OkStatus()
                           : absl::UnavailableError("dead letter not acknowledged: " + message.errstr());
}


absl::StatusOr<std::unique_ptr<KafkaRecordSource>> KafkaRecordSource::Create(const ConsumerOptions& options) {
  std::unique_ptr<KafkaRecordSource> source(new KafkaRecordSource(options.topic));
  KafkaSettings defaults = {
      {"auto.offset.reset", "earliest"},
      // The broker answers a fetch as soon as records arrive; the wait only bounds empty answers, so a long one
      // costs no freshness and spares an idle broker a hundred empty fetches a second.
      {"fetch.wait.max.ms", "500"},
      {"session.timeout.ms", "10000"},
      {"heartbeat.interval.ms", "1000"},
      {"queued.min.messages", std::to_string(options.prefetch_records)},
  };
  for (const auto& [name, value] : options.overrides) defaults[name] = value;
  const KafkaSettings forced = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group},
      {"client.id", "clickstream-processor"},
      // Offsets move only through Commit(), after the database transaction that applied them committed.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
  };
  auto conf = BuildConf("consumer", defaults, forced, &source->log_bridge_);
  if (!conf.ok()) return conf.status();
  std::string error;
  source->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
  if (!source->consumer_) return absl::InvalidArgumentError("kafka consumer: " + error);
  if (auto code = source->consumer_->subscribe({options.topic}); code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("kafka subscribe " + options.topic + ": " + RdKafka::err2str(code));
  }
  return source;
}

KafkaRecordSource::~KafkaRecordSource() {
  if (consumer_) consumer_->close();
}

absl::StatusOr<std::vector<domain::Record>> KafkaRecordSource::Poll(std::size_t max,
                                                                     std::chrono::milliseconds wait) {
  std::vector<domain::Record> records;
  int timeout_ms = static_cast<int>(wait.count());
  while (records.size() < max) {
    std::unique_ptr<RdKafka::Message> message(consumer_->consume(timeout_ms));
    // After the first record only what is already fetched is taken: a batch never waits to fill up.
    timeout_ms = 0;
    switch (message->err()) {
      case RdKafka::ERR_NO_ERROR: {
        domain::Record& record = records.emplace_back();
        record.partition = message->partition();
        record.offset = message->offset();
        record.timestamp_ms = message->timestamp().timestamp;
        if (const std::string* key = message->key()) record.key = *key;
        record.value.assign(static_cast<const char*>(message->payload()), message->len());
        break;
      }
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        return records;
      default:
        if (!records.empty()) return records;
        return absl::UnavailableError("kafka consume: " + message->errstr());
    }
  }
  return records;
}

absl::Status KafkaRecordSource::Commit(const std::vector<domain::PartitionOffset>& next_offsets) {
  std::vector<RdKafka::TopicPartition*> partitions;
  partitions.reserve(next_offsets.size());
  for (const auto& offset : next_offsets) {
    partitions.push_back(RdKafka::TopicPartition::create(topic_, offset.partition, offset.next_offset));
  }
  const RdKafka::ErrorCode code = consumer_->commitSync(partitions);
  RdKafka::TopicPartition::destroy(partitions);
  if (code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("kafka commit: " + RdKafka::err2str(code));
  }
  return absl::OkStatus();
}

absl::Status KafkaRecordSource::CheckReady(std::chrono::milliseconds timeout) {
  return CheckTopic(*consumer_, topic_, static_cast<int>(timeout.count()));
}

std::map<int32_t, int64_t> KafkaRecordSource::Lag() {
  std::map<int32_t, int64_t> lag;
  std::vector<RdKafka::TopicPartition*> assigned;
  if (consumer_->assignment(assigned) != RdKafka::ERR_NO_ERROR) return lag;
  consumer_->position(assigned);
  for (const RdKafka::TopicPartition* partition : assigned) {
    int64_t low = 0, high = 0;
    if (consumer_->get_watermark_offsets(partition->topic(), partition->partition(), &low, &high) !=
            RdKafka::ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    // Before the first fetch the position is unknown (negative): everything above the low mark is lag then.
    const int64_t position = partition->offset() >= 0 ? partition->offset() : low;
    lag[partition->partition()] = std::max<int64_t>(0, high - position);
  }
  RdKafka::TopicPartition::destroy(assigned);
  return lag;
}

absl::StatusOr<std::unique_ptr<KafkaDeadLetters>> KafkaDeadLetters::Create(const std::string& brokers,
                                                                          const std::string& dlq_topic,
                                                                          const std::string& source_topic,
                                                                          std::chrono::milliseconds timeout) {
  std::unique_ptr<KafkaDeadLetters> letters(new KafkaDeadLetters(dlq_topic, source_topic, timeout));
  const KafkaSettings forced = {{"bootstrap.servers", brokers},
                                {"client.id", "clickstream-dead-letters"},
                                {"enable.idempotence", "true"},
                                {"acks", "all"},
                                // Send waits for this verdict: librdkafka must not keep retrying a letter after
                                // Send reported it failed, or the processor's retry writes a second copy.
                                {"message.timeout.ms", std::to_string(timeout.count())}};
  auto conf = BuildConf("dead-letter producer", {}, forced, &letters->log_bridge_);
  if (!conf.ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", &letters->reports_, error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError("kafka dead-letter dr_cb: " + error);
  }
  letters->producer_.reset(RdKafka::Producer::create(conf->get(), error));
  if (!letters->producer_) return absl::InvalidArgumentError("kafka dead-letter producer: " + error);
  return letters;
}

KafkaDeadLetters::~KafkaDeadLetters() {
  if (producer_) producer_->flush(1000);
}

absl::Status KafkaDeadLetters::Send(const domain::Record& record, std::string_view reason,
                                    std::chrono::milliseconds timeout) {
  RdKafka::Headers* headers = RdKafka::Headers::create();
  headers->add("dlq.reason", std::string(reason));
  headers->add("dlq.source.topic", source_topic_);
  headers->add("dlq.source.partition", std::to_string(record.partition));
  headers->add("dlq.source.offset", std::to_string(record.offset));
  headers->add("dlq.source.key", record.key);
  const std::string key = source_topic_ + "/" + std::to_string(record.partition) + "/" + std::to_string(record.offset);
  auto outcome = std::make_shared<DeliveryOutcome>();
  auto* report_reference = new SharedOutcome(outcome);
  const RdKafka::ErrorCode code = producer_->produce(
      dlq_topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
      const_cast<char*>(record.value.data()), record.value.size(), key.data(), key.size(), 0, headers,
      report_reference);
  if (code != RdKafka::ERR_NO_ERROR) {
    delete headers;  // ownership passes to librdkafka only on success
    delete report_reference;
    return absl::UnavailableError("dead letter: " + RdKafka::err2str(code));
  }
  // Only the processor's thread sends dead letters, so polling here serves exactly our own reports. librdkafka
  // reports within its message timeout; the margin only guards against a report that never comes.
  const auto deadline = Clock::now() + std::max(timeout, message_timeout_) + std::chrono::seconds(5);
  while (!outcome->result && Clock::now() < deadline) producer_->poll(20);
  if (!outcome->result) {
    return absl::UnavailableError("dead letter not acknowledged within " + std::to_string(timeout.count()) + " ms");
  }
  return *outcome->result;
}

}  // namespace clickstream::kafka
