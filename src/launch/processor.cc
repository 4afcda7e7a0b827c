// Processor: its consumers (each a Kafka consumer of the group with its own dead-letter ledger and producer,
// PostgreSQL store, Redis cache and service), their lag and stall gauges and the health server.
#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include "adapters/kafka/kafka_dead_letters.h"
#include "adapters/kafka/kafka_record_source.h"
#include "adapters/postgres/pg_dead_letters.h"
#include "adapters/postgres/pg_stores.h"
#include "adapters/redis/redis_count_cache.h"
#include "common/log.h"
#include "launch/launch.h"
#include "launch/shared.h"
#include "services/processor/dead_letter_sinks.h"
#include "services/processor/processor_service.h"

namespace clickstream::launch {
namespace {

// Two full batches fetched ahead keep the store as busy as librdkafka's default 100,000 records, at less memory
// (measured applying a backlog: peak RSS 110 -> 78 MiB, the same rate).
constexpr std::size_t kBatchesFetchedAhead = 2;
constexpr std::size_t kHealthBodyBytes = 1024;  // the health port takes no bodies

processor::ProcessorOptions ProcessorOptionsFrom(const common::Config& config, metrics::Registry& registry) {
  processor::ProcessorOptions options;
  options.topic = config.kafka.topic;
  options.batch_max_records = config.processor.batch_max_records;
  options.batch_wait = config.processor.batch_wait;
  options.limits = EventLimitsOf(config);
  options.pending_cache_repairs = config.processor.pending_cache_repairs;
  options.stall_timeout = config.processor.stall_timeout;
  options.metrics = &registry;
  return options;
}

// One consumer of the group and what it applies through: its own PostgreSQL and Redis connections and
// dead-letter sinks, as a processor of its own would have.
absl::StatusOr<std::shared_ptr<processor::ProcessorService>> MakeConsumer(const common::Config& config,
                                                                          metrics::Registry& registry,
                                                                          const processor::ProcessorOptions& options) {
  auto source = kafka::KafkaRecordSource::Create({config.kafka.brokers,
                                                  config.kafka.topic,
                                                  config.kafka.consumer_group,
                                                  {},
                                                  kBatchesFetchedAhead * options.batch_max_records,
                                                  config.processor.fetch_wait});
  if (!source.ok()) return source.status();
  auto dead_letters = kafka::KafkaDeadLetters::Create(config.kafka.brokers, config.kafka.dlq_topic, config.kafka.topic,
                                                      options.dead_letter_timeout);
  if (!dead_letters.ok()) return dead_letters.status();
  std::vector<std::unique_ptr<ports::DeadLetters>> sinks;
  sinks.push_back(std::make_unique<postgres::PgDeadLetters>(config.database_url, config.kafka.topic));
  sinks.push_back(std::move(*dead_letters));
  return std::make_shared<processor::ProcessorService>(
      options, std::move(*source), std::make_unique<processor::DeadLetterSinks>(std::move(sinks)),
      std::make_unique<postgres::PgEventStore>(config.database_url, &registry),
      std::make_unique<redis::RedisCountCache>(CacheOptions(config, registry)));
}

// The consumers of one processor. Each applies the batches of the partitions the group assigns it, exactly as a
// processor in a process of its own would (the counting transaction and offset rules are per batch and partition),
// so two of them keep PostgreSQL busy on two connections at once where one alternates between parsing a batch and
// waiting for the database to apply it.
struct Consumers {
  std::vector<std::shared_ptr<processor::ProcessorService>> all;

  // Every consumer's partitions; a partition moving between two of them during a rebalance shows its larger lag.
  std::map<int32_t, int64_t> Lag() const {
    std::map<int32_t, int64_t> lag;
    for (const auto& consumer : all) {
      for (const auto& [partition, records] : consumer->Lag()) lag[partition] = std::max(lag[partition], records);
    }
    return lag;
  }
  double StalledSeconds() const {
    double stalled = 0;
    for (const auto& consumer : all) stalled = std::max(stalled, consumer->StalledSeconds());
    return stalled;
  }
  // They share the database and the broker, so the first one's check covers both (a connection and a metadata
  // request a second, not one per consumer) with its progress; the others' progress is checked alone.
  absl::Status CheckReady() const {
    if (auto status = all.front()->CheckReady(); !status.ok()) return status;
    for (auto consumer = all.begin() + 1; consumer != all.end(); ++consumer) {
      if (auto status = (*consumer)->CheckProgress(); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  // Each finishes the batch in hand at the same time as the others.
  void Stop() const {
    std::vector<std::thread> stopping;
    for (const auto& consumer : all) stopping.emplace_back([&consumer] { consumer->Stop(); });
    for (auto& thread : stopping) thread.join();
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<RunningService>> StartProcessor(const common::Config& config,
                                                               metrics::Registry& registry,
                                                               std::shared_ptr<tracing::SpanSink> spans) {
  auto running = std::make_unique<RunningService>();
  running->tracer = TracerFor(config, "processor", std::move(spans));
  processor::ProcessorOptions options = ProcessorOptionsFrom(config, registry);
  options.tracer = running->tracer.get();
  auto consumers = std::make_shared<Consumers>();
  for (std::size_t i = 0; i < config.processor.consumers; ++i) {
    auto consumer = MakeConsumer(config, registry, options);
    if (!consumer.ok()) return consumer.status();
    consumers->all.push_back(std::move(*consumer));
  }
  running->parts = consumers;
  registry.AddComputedGauge(
      "clickstream_consumer_lag_records", "records not yet consumed, by partition", [c = consumers.get()] {
        std::vector<std::pair<metrics::Labels, double>> series;
        for (const auto& [partition, lag] : c->Lag()) {
          series.push_back({{{"partition", std::to_string(partition)}}, static_cast<double>(lag)});
        }
        return series;
      });
  registry.AddComputedGauge("clickstream_processor_stalled_seconds",
                            "seconds without a batch applied while records wait (0 when none wait)",
                            [c = consumers.get()] {
                              return std::vector<std::pair<metrics::Labels, double>>{{{}, c->StalledSeconds()}};
                            });
  running->probe = std::make_unique<services::ReadinessProbe>(
      "processor", [c = consumers.get()] { return c->CheckReady(); }, kProbeInterval);
  auto server = Serve(config, "processor", config.processor.health_port, kHealthBodyBytes, {}, *running->probe,
                      registry, Exposure::kOperationsOnly);
  if (!server.ok()) return server.status();
  running->server = std::move(*server);
  // Finishes the batches in hand (or leaves them uncommitted if the database is down, to come back).
  running->drain = [c = consumers.get()](std::chrono::milliseconds) { c->Stop(); };
  common::Logger("processor")->info("processor starting consumers={}", consumers->all.size());
  for (const auto& consumer : consumers->all) consumer->Start();
  return running;
}

}  // namespace clickstream::launch
