// LogEnd over Kafka: the topic's partitions from its metadata, then each one's high watermark, with a client that
// joins no group and consumes nothing.
#pragma once

#include <memory>
#include <string>

#include "adapters/kafka/kafka_settings.h"
#include "ports/log_end.h"

namespace clickstream::kafka {

class KafkaLogEnd final : public ports::LogEnd {
 public:
  // INVALID_ARGUMENT when librdkafka refuses the settings; the brokers are first asked by End.
  static absl::StatusOr<std::unique_ptr<KafkaLogEnd>> Create(const std::string& brokers, const std::string& topic,
                                                             const KafkaSettings& overrides = {});
  ~KafkaLogEnd() override;

  absl::StatusOr<domain::Position> End(std::chrono::milliseconds timeout) override;

 private:
  struct Client;
  KafkaLogEnd(std::unique_ptr<Client> client, std::string topic);
  std::unique_ptr<Client> client_;
  const std::string topic_;
};

}  // namespace clickstream::kafka
