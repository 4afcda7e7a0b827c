#include "adapters/kafka/kafka_dead_letters.h"

#include <algorithm>
#include <optional>

#include "adapters/kafka/kafka_client_config.h"

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

// Writes each dead letter's delivery outcome where its message's opaque pointer says.
struct KafkaDeadLetters::Client final : RdKafka::DeliveryReportCb {
  ~Client() override {
    if (producer) producer->flush(1000);
  }

  void dr_cb(RdKafka::Message& message) override {
    std::unique_ptr<SharedOutcome> outcome(static_cast<SharedOutcome*>(message.msg_opaque()));
    if (!outcome) return;
    (*outcome)->result = message.err() == RdKafka::ERR_NO_ERROR
                             ? absl::OkStatus()
                             : absl::UnavailableError("dead letter not acknowledged: " + message.errstr());
  }

  KafkaLogBridge log_bridge;  // outlives the producer, which calls it and this callback
  std::unique_ptr<RdKafka::Producer> producer;
};

KafkaDeadLetters::KafkaDeadLetters(std::string dlq_topic, std::string source_topic, std::chrono::milliseconds timeout)
    : dlq_topic_(std::move(dlq_topic)),
      source_topic_(std::move(source_topic)),
      message_timeout_(timeout),
      client_(std::make_unique<Client>()) {}

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
  auto conf = BuildConf("dead-letter producer", {}, forced, &letters->client_->log_bridge);
  if (!conf.ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", letters->client_.get(), error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError("kafka dead-letter dr_cb: " + error);
  }
  letters->client_->producer.reset(RdKafka::Producer::create(conf->get(), error));
  if (!letters->client_->producer) return absl::InvalidArgumentError("kafka dead-letter producer: " + error);
  return letters;
}

KafkaDeadLetters::~KafkaDeadLetters() = default;

absl::Status KafkaDeadLetters::Send(const domain::PoisonRecord& letter, std::chrono::milliseconds timeout) {
  const domain::Record& record = letter.record;
  RdKafka::Headers* headers = RdKafka::Headers::create();
  headers->add("dlq.reason", letter.reason);
  headers->add("dlq.reason.code", letter.reason_code);
  headers->add("dlq.source.topic", source_topic_);
  headers->add("dlq.source.partition", std::to_string(record.partition));
  headers->add("dlq.source.offset", std::to_string(record.offset));
  headers->add("dlq.source.key", record.key);
  const std::string key = source_topic_ + "/" + std::to_string(record.partition) + "/" + std::to_string(record.offset);
  auto outcome = std::make_shared<DeliveryOutcome>();
  auto* report_reference = new SharedOutcome(outcome);
  const RdKafka::ErrorCode code = client_->producer->produce(
      dlq_topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(record.value.data()),
      record.value.size(), key.data(), key.size(), 0, headers, report_reference);
  if (code != RdKafka::ERR_NO_ERROR) {
    delete headers;  // ownership passes to librdkafka only on success
    delete report_reference;
    return absl::UnavailableError("dead letter: " + RdKafka::err2str(code));
  }
  // Only the processor's thread sends dead letters, so polling here serves exactly our own reports. librdkafka
  // reports within its message timeout; the margin only guards against a report that never comes.
  const auto deadline = Clock::now() + std::max(timeout, message_timeout_) + std::chrono::seconds(5);
  while (!outcome->result && Clock::now() < deadline) client_->producer->poll(20);
  if (!outcome->result) {
    return absl::UnavailableError("dead letter not acknowledged within " + std::to_string(timeout.count()) + " ms");
  }
  return *outcome->result;
}

}  // namespace clickstream::kafka
