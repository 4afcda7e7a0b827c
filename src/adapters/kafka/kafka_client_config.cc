#include "adapters/kafka/kafka_client_config.h"

#include "absl/strings/str_cat.h"

#include "absl/strings/match.h"
#include "common/log.h"

namespace clickstream::kafka {
namespace {

spdlog::level::level_enum MapSyslogLevel(int severity) {
  // librdkafka uses syslog severities: 0 emergency .. 7 debug.
  if (severity <= 2) return spdlog::level::critical;
  if (severity == 3) return spdlog::level::err;
  if (severity == 4) return spdlog::level::warn;
  if (severity <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

bool LooksSecret(const std::string& name) {
  return absl::StrContains(name, "password") || absl::StrContains(name, "secret") || absl::StrContains(name, "key");
}

}  // namespace

void KafkaLogBridge::event_cb(RdKafka::Event& event) {
  static const auto log = common::Logger("kafka");
  switch (event.type()) {
    case RdKafka::Event::EVENT_LOG:
      log->log(MapSyslogLevel(event.severity()), "librdkafka {} {}", event.fac(), event.str());
      break;
    case RdKafka::Event::EVENT_ERROR:
      if (event.fatal()) {
        log->critical("librdkafka fatal error: {} ({})", event.str(), RdKafka::err2str(event.err()));
      } else {
        log->warn("librdkafka error: {} ({})", event.str(), RdKafka::err2str(event.err()));
      }
      break;
    default: break;
  }
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> BuildConf(const std::string& role, const KafkaSettings& overrides,
                                                         const KafkaSettings& forced, KafkaLogBridge* log_bridge) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  KafkaSettings effective = overrides;
  for (const auto& [name, value] : forced) effective[name] = value;
  for (const auto& [name, value] : effective) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka ", role, " setting ", name, "=", value, ": ", error));
    }
  }
  if (conf->set("event_cb", log_bridge, error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError("kafka " + role + " event_cb: " + error);
  }
  std::string summary;
  for (const auto& [name, value] : effective) {
    summary += name + "=" + (LooksSecret(name) ? "[redacted]" : value) + " ";
  }
  common::Logger("kafka")->info("{} configuration {}", role, summary);
  return conf;
}

absl::Status CheckTopic(RdKafka::Handle& handle, const std::string& topic, int timeout_ms) {
  std::string error;
  std::unique_ptr<RdKafka::Topic> topic_handle(RdKafka::Topic::create(&handle, topic, nullptr, error));
  if (!topic_handle) return absl::InternalError("kafka topic handle " + topic + ": " + error);
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode code = handle.metadata(false, topic_handle.get(), &raw, timeout_ms);
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("kafka metadata for " + topic + ": " + RdKafka::err2str(code));
  }
  for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
    if (t->topic() == topic && t->err() == RdKafka::ERR_NO_ERROR && !t->partitions()->empty()) {
      return absl::OkStatus();
    }
  }
  return absl::UnavailableError("kafka topic " + topic + " does not exist");
}

}  // namespace clickstream::kafka
