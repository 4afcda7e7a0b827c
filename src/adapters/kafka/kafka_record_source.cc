#include "adapters/kafka/kafka_record_source.h"

#include <algorithm>
#include <iterator>
#include <optional>

#include <librdkafka/rdkafka.h>

#include "adapters/kafka/kafka_client_config.h"
#include "common/log.h"

namespace clickstream::kafka {
namespace {

// Lag() asks the group coordinator for committed offsets while positions are unknown; it serves scrapes and
// readiness checks, so it must not wait long on a slow broker.
constexpr int kCommittedTimeoutMs = 500;

}  // namespace

struct KafkaRecordSource::Client {
  KafkaLogBridge log_bridge;  // outlives the consumer, which calls it
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
};

KafkaRecordSource::KafkaRecordSource(std::string topic)
    : topic_(std::move(topic)), client_(std::make_unique<Client>()) {}

absl::StatusOr<std::unique_ptr<KafkaRecordSource>> KafkaRecordSource::Create(const ConsumerOptions& options) {
  std::unique_ptr<KafkaRecordSource> source(new KafkaRecordSource(options.topic));
  KafkaSettings defaults = {
      {"auto.offset.reset", "earliest"},
      // The broker holds each fetch until a megabyte or the wait is there, so records trickling in from many
      // small produce requests (one per partition per linger) come in one answer per wait, not one each: with
      // 4 partitions under single-event load, answering at once cost the broker as much CPU as producing and made
      // the processor's transactions small (measured: single-event ingest 15.7k/s with the pipeline live, 19-21k
      // with a 5-20 ms wait). Freshness pays at most the wait.
      {"fetch.wait.max.ms", std::to_string(options.fetch_wait.count())},
      {"fetch.min.bytes", "1048576"},
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
  auto conf = BuildConf("consumer", defaults, forced, &source->client_->log_bridge);
  if (!conf.ok()) return conf.status();
  std::string error;
  source->client_->consumer.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
  if (!source->client_->consumer) return absl::InvalidArgumentError("kafka consumer: " + error);
  if (auto code = source->client_->consumer->subscribe({options.topic}); code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("kafka subscribe " + options.topic + ": " + RdKafka::err2str(code));
  }
  return source;
}

KafkaRecordSource::~KafkaRecordSource() {
  if (client_->consumer) client_->consumer->close();
}

absl::StatusOr<std::vector<domain::Record>> KafkaRecordSource::Poll(std::size_t max, std::chrono::milliseconds wait) {
  std::vector<domain::Record> records;
  int timeout_ms = static_cast<int>(wait.count());
  while (records.size() < max) {
    std::unique_ptr<RdKafka::Message> message(client_->consumer->consume(timeout_ms));
    // After the first record only what is already fetched is taken: a batch never waits to fill up.
    timeout_ms = 0;
    switch (message->err()) {
      case RdKafka::ERR_NO_ERROR: {
        domain::Record& record = records.emplace_back();
        record.partition = message->partition();
        record.offset = message->offset();
        record.timestamp_ms = message->timestamp().timestamp;
        if (const void* key = message->key_pointer())
          record.key.assign(static_cast<const char*>(key), message->key_len());
        // Through the C API: the C++ Message::key() and headers() build a string and a copy of every header for each
        // record, a cost a backlog of millions of records notices.
        rd_kafka_headers_t* headers = nullptr;
        const void* trace = nullptr;
        std::size_t trace_size = 0;
        if (rd_kafka_message_headers(message->c_ptr(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(headers, kTraceparentHeader, &trace, &trace_size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            trace != nullptr) {
          record.traceparent.assign(static_cast<const char*>(trace), trace_size);
        }
        record.value.assign(static_cast<const char*>(message->payload()), message->len());
        break;
      }
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF: return records;
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
  const RdKafka::ErrorCode code = client_->consumer->commitSync(partitions);
  RdKafka::TopicPartition::destroy(partitions);
  if (code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("kafka commit: " + RdKafka::err2str(code));
  }
  return absl::OkStatus();
}

absl::Status KafkaRecordSource::CheckReady(std::chrono::milliseconds timeout) {
  return CheckTopic(*client_->consumer, topic_, static_cast<int>(timeout.count()));
}

std::map<int32_t, int64_t> KafkaRecordSource::Lag() {
  std::map<int32_t, int64_t> lag;
  std::vector<RdKafka::TopicPartition*> assigned;
  if (client_->consumer->assignment(assigned) != RdKafka::ERR_NO_ERROR) return lag;
  client_->consumer->position(assigned);
  // The position stays unknown until a record is consumed after the assignment, so a processor restarted on a
  // topic it had caught up with would count the whole topic as lag (and call itself stalled). Consuming resumes
  // at the group's committed offset: measure from there.
  std::vector<RdKafka::TopicPartition*> unknown;
  std::copy_if(assigned.begin(), assigned.end(), std::back_inserter(unknown),
               [](const RdKafka::TopicPartition* partition) { return partition->offset() < 0; });
  if (!unknown.empty()) client_->consumer->committed(unknown, kCommittedTimeoutMs);
  for (const RdKafka::TopicPartition* partition : assigned) {
    int64_t low = 0, high = 0;
    if (client_->consumer->get_watermark_offsets(partition->topic(), partition->partition(), &low, &high) !=
            RdKafka::ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    // Nothing consumed and nothing committed: everything above the low mark is lag.
    const int64_t position = partition->offset() >= 0 ? partition->offset() : low;
    lag[partition->partition()] = std::max<int64_t>(0, high - position);
  }
  RdKafka::TopicPartition::destroy(assigned);
  return lag;
}

}  // namespace clickstream::kafka
