// What every librdkafka client of ours shares: building its configuration (user overrides first, then the
// settings delivery depends on, forced), and routing librdkafka's own log lines through our logger. Internal to
// the adapter: the only header of ours that includes librdkafka, and only the adapter's .cc files include it.
#pragma once

#include <memory>
#include <string>

#include <librdkafka/rdkafkacpp.h>

#include "absl/status/statusor.h"
#include "adapters/kafka/kafka_settings.h"

namespace clickstream::kafka {

// The record header that carries a W3C traceparent from ingestion to the processor.
inline constexpr char kTraceparentHeader[] = "traceparent";

// Logs librdkafka's log and error events with mapped levels on the logger "kafka".
class KafkaLogBridge final : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override;
};

// Applies `overrides`, then `forced` (which win), and the log bridge. Logs the effective settings with anything
// that looks like a secret redacted. `role` names the client in logs ("producer", "consumer", ...).
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> BuildConf(const std::string& role, const KafkaSettings& overrides,
                                                         const KafkaSettings& forced, KafkaLogBridge* log_bridge);

// Asks the cluster for `topic`'s metadata within `timeout_ms`: OK when the topic exists and has partitions.
absl::Status CheckTopic(RdKafka::Handle& handle, const std::string& topic, int timeout_ms);

}  // namespace clickstream::kafka
