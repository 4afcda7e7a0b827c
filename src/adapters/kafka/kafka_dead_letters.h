// DeadLetters over a librdkafka producer of its own (idempotent, acks=all): records the processor cannot count go
// to the dead-letter topic unchanged, with the reason and their source position in headers.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ports/record_source.h"

namespace clickstream::kafka {

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
  // Headers: dlq.reason, dlq.reason.code, dlq.source.topic, dlq.source.partition, dlq.source.offset, dlq.source.key.
  // Waits for librdkafka's own verdict (its message timeout is the creation's `timeout`), never giving up on a record
  // librdkafka still holds: an UNAVAILABLE answer means the letter was not written, so a retry does not add a
  // second copy. `timeout` bounds the wait beyond that only as a safety net.
  absl::Status Send(const domain::PoisonRecord& letter, std::chrono::milliseconds timeout) override;

 private:
  struct Client;  // the librdkafka producer, its delivery callback and its log bridge
  KafkaDeadLetters(std::string dlq_topic, std::string source_topic, std::chrono::milliseconds timeout);

  const std::string dlq_topic_;
  const std::string source_topic_;
  const std::chrono::milliseconds message_timeout_;
  std::unique_ptr<Client> client_;
};

}  // namespace clickstream::kafka
