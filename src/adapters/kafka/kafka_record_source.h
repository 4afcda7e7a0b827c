// RecordSource over a librdkafka consumer in a consumer group, with offsets committed only by Commit() (never
// automatically).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/kafka/kafka_settings.h"
#include "ports/record_source.h"

namespace clickstream::kafka {

struct ConsumerOptions {
  std::string brokers;
  std::string topic;
  std::string group;
  KafkaSettings overrides;
  std::size_t prefetch_records = 100000;  // queued.min.messages: records fetched ahead of Poll
  // How long the broker may hold a fetch to gather records (fetch.wait.max.ms, with fetch.min.bytes so large
  // that only the wait or a full fetch ends it).
  std::chrono::milliseconds fetch_wait{10};
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
  struct Client;  // the librdkafka consumer and its log bridge
  explicit KafkaRecordSource(std::string topic);

  const std::string topic_;
  std::unique_ptr<Client> client_;
};

}  // namespace clickstream::kafka
