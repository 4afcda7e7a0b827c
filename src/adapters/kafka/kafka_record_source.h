// RecordSource over a librdkafka consumer in a consumer group, with offsets committed only by Commit() (never
// automatically), and DeadLetters over a producer of its own.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/kafka/kafka_client_config.h"
#include "ports/record_source.h"

namespace clickstream::kafka {

struct ConsumerOptions {
  std::string brokers;
  std::string topic;
  std::string group;
  KafkaSettings overrides;
  std::size_t prefetch_records = 100000;  // queued.min.messages: records fetched ahead of Poll
};

class KafkaRecordSource final : public ports::RecordSource {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaRecordSource>> Create(const ConsumerOptions& options);
  ~KafkaRecordSource() override;  // leaves the group, so its partitions move to the others at once

  // ports::RecordSource
  absl::StatusOr<std::vector<domain::Record>> Poll(std::size_t max, std::chrono::milliseconds wait) override;
  absl::Status Commit(const std::vector<domain::PartitionOffset>& next_offsets) override;
  absl::Status CheckReady(std::chrono::milliseconds timeout) override;
  std::map<int32_t, int64_t> Lag() override;

 private:
  explicit KafkaRecordSource(std::string topic) : topic_(std::move(topic)) {}

  const std::string topic_;
  KafkaLogBridge log_bridge_;  // outlives the consumer, which calls it
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

// Writes each dead letter's delivery outcome where its message's opaque pointer says.
class DeadLetterReports final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override;
};

class KafkaDeadLetters final : public ports::DeadLetters {
 public:
  // `timeout` is the producer's own message.timeout.ms: how long librdkafka may try to deliver one dead letter.
  static absl::StatusOr<std::unique_ptr<KafkaDeadLetters>> Create(const std::string& brokers,
                                                                  const std::string& dlq_topic,
                                                                  const std::string& source_topic,
                                                                  std::chrono::milliseconds timeout);
  ~KafkaDeadLetters() override;

  // ports::DeadLetters. The key is "<source topic>/<partition>/<offset>", the same for every redelivery of a
  // record, so a reader (or a compacted topic) can drop copies; the record's own key is in dlq.source.key.
  // Headers: dlq.reason, dlq.source.topic, dlq.source.partition, dlq.source.offset, dlq.source.key. Waits for
  // librdkafka's own verdict (its message timeout is the creation's `timeout`), never giving up on a record
  // librdkafka still holds: an UNAVAILABLE answer means the letter was not written, so a retry does not add a
  // second copy. `timeout` bounds the wait beyond that only as a safety net.
  absl::Status Send(const domain::Record& record, std::string_view reason,
                    std::chrono::milliseconds timeout) override;

 private:
  KafkaDeadLetters(std::string dlq_topic, std::string source_topic, std::chrono::milliseconds timeout)
      : dlq_topic_(std::move(dlq_topic)), source_topic_(std::move(source_topic)), message_timeout_(timeout) {}

  const std::string dlq_topic_;
  const std::string source_topic_;
  const std::chrono::milliseconds message_timeout_;
  KafkaLogBridge log_bridge_;  // both outlive the producer, which calls them
  DeadLetterReports reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace clickstream::kafka
