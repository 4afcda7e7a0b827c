// Analytics: the Redis cache and PostgreSQL reader, the service, the dead-letter ledger with its replay producer, the
// aggregates' reader, the gRPC server and the health server.
#include "adapters/grpc/grpc_analytics_server.h"
#include "adapters/kafka/kafka_event_publisher.h"
#include "adapters/kafka/kafka_log_end.h"
#include "adapters/postgres/pg_dead_letters.h"
#include "adapters/postgres/pg_stores.h"
#include "adapters/redis/redis_count_cache.h"
#include "launch/launch.h"
#include "launch/shared.h"
#include "services/analytics/aggregate_service.h"
#include "services/analytics/analytics_service.h"
#include "services/analytics/dead_letter_service.h"

namespace clickstream::launch {
namespace {

constexpr std::size_t kHealthBodyBytes = 1024;  // the health port takes no bodies

// The gRPC server calls the service: declared after it, so destroyed (and shut down) first.
struct AnalyticsParts {
  std::unique_ptr<analytics::AnalyticsService> service;
  std::unique_ptr<analytics::DeadLetterService> dead_letters;
  std::unique_ptr<analytics::AggregateService> aggregates;
  std::unique_ptr<grpc_adapter::GrpcAnalyticsServer> grpc;
};

// Replays republish to the event log with a producer of their own, as ingestion's (acks=all, idempotent).
absl::StatusOr<std::unique_ptr<analytics::DeadLetterService>> DeadLetterServiceFor(const common::Config& config) {
  constexpr std::size_t kReplayQueue = 10000;
  kafka::PublisherOptions options;
  options.brokers = config.kafka.brokers;
  options.topic = config.kafka.topic;
  options.linger = config.kafka.linger;
  options.publish_timeout = config.kafka.publish_timeout;
  options.queue_capacity = kReplayQueue;
  auto publisher = kafka::KafkaEventPublisher::Create(options);
  if (!publisher.ok()) return publisher.status();
  return std::make_unique<analytics::DeadLetterService>(
      analytics::DeadLetterOptions{EventLimitsOf(config), config.analytics.max_pairs, config.kafka.publish_timeout},
      std::make_unique<postgres::PgDeadLetters>(config.database_url, config.kafka.topic), std::move(*publisher));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunningService>> StartAnalytics(const common::Config& config,
                                                               metrics::Registry& registry,
                                                               std::shared_ptr<tracing::SpanSink> spans) {
  auto running = std::make_unique<RunningService>();
  running->tracer = TracerFor(config, "analytics", std::move(spans));
  auto parts = std::make_shared<AnalyticsParts>();
  auto log_end = kafka::KafkaLogEnd::Create(config.kafka.brokers, config.kafka.topic);
  if (!log_end.ok()) return log_end.status();
  parts->service = std::make_unique<analytics::AnalyticsService>(
      analytics::AnalyticsOptions{config.analytics.workers,
                                  config.analytics.queue_depth,
                                  EventLimitsOf(config),
                                  &registry,
                                  config.analytics.max_pairs,
                                  running->tracer.get(),
                                  config.analytics.position_wait,
                                  {config.analytics.position_poll, config.analytics.position_max_waiting},
                                  config.analytics.log_end_interval,
                                  {config.analytics.reconcile_interval, config.analytics.reconcile_sample}},
      std::make_unique<redis::RedisCountCache>(CacheOptions(config, registry)),
      std::make_unique<postgres::PgCountStore>(config.database_url, config.kafka.topic, &registry,
                                               config.analytics.statement_timeout),
      std::move(*log_end));
  auto dead_letters = DeadLetterServiceFor(config);
  if (!dead_letters.ok()) return dead_letters.status();
  parts->dead_letters = std::move(*dead_letters);
  // A reader of its own: its connections serve aggregates, never a count look-up's.
  parts->aggregates = std::make_unique<analytics::AggregateService>(
      std::make_unique<postgres::PgCountStore>(config.database_url, config.kafka.topic, &registry,
                                               config.analytics.statement_timeout, "aggregates"),
      [service = parts->service.get()] { return service->LogEnd(); });
  running->parts = parts;
  running->probe = std::make_unique<services::ReadinessProbe>(
      "analytics", [s = parts->service.get()] { return s->CheckReady(); }, kProbeInterval);
  grpc_adapter::GrpcServerTls tls;
  auto status = ReadPems(config, {{&tls.cert_chain_pem, config.tls.cert_file},
                                  {&tls.private_key_pem, config.tls.key_file},
                                  {&tls.client_ca_pem, config.tls.client_ca_file}});
  if (!status.ok()) return status;
  auto grpc = grpc_adapter::GrpcAnalyticsServer::Start(config.bind_address, config.analytics.grpc_port, *parts->service,
                                                       tls, running->tracer.get(), parts->dead_letters.get(),
                                                       parts->aggregates.get());
  if (!grpc.ok()) return grpc.status();
  parts->grpc = std::move(*grpc);
  auto server = Serve(config, "analytics", config.analytics.health_port, kHealthBodyBytes, {}, *running->probe,
                      registry, Exposure::kOperationsOnly);
  if (!server.ok()) return server.status();
  running->server = std::move(*server);
  running->drain = [grpc = parts->grpc.get()](std::chrono::milliseconds grace) { grpc->Shutdown(grace); };
  return running;
}

}  // namespace clickstream::launch
