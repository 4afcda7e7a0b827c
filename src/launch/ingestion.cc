// Ingestion: the Kafka publisher, the service, its in-flight gauges and its HTTP server.
#include <algorithm>

#include "adapters/kafka/kafka_event_publisher.h"
#include "common/log.h"
#include "launch/launch.h"
#include "launch/shared.h"
#include "services/common/api_documents.h"
#include "services/common/cors.h"
#include "services/common/static_files.h"
#include "services/ingestion/ingest_handler.h"
#include "services/ingestion/ingestion_service.h"

namespace clickstream::launch {
namespace {

// Headroom of the producer's own queue over the in-flight bound, so that it never refuses what the bound admits.
constexpr std::size_t kProducerQueueHeadroom = 1024;

absl::StatusOr<ingestion::IngestionOptions> IngestionOptionsFrom(const common::Config& config) {
  ingestion::IngestionOptions options;
  options.max_body_bytes = config.ingestion.max_body_bytes;
  options.batch_max_body_bytes = config.ingestion.batch_max_body_bytes;
  options.max_in_flight = config.ingestion.max_in_flight;
  options.max_in_flight_bytes = config.ingestion.max_in_flight_bytes;
  options.limits = EventLimitsOf(config);
  options.events_per_second_per_key = config.ingestion.rate_per_key;
  options.burst_per_key = config.ingestion.burst_per_key;
  // A batch larger than the in-flight room could never be admitted (503 forever): such batches are refused with
  // 413 instead, as over the limit.
  options.batch_max_events = std::min(config.ingestion.batch_max_events, config.ingestion.max_in_flight);
  if (options.batch_max_events < config.ingestion.batch_max_events) {
    common::Logger("main")->warn(
        "{}={} exceeds {}; batches are limited to {} events",
        common::SettingName(config, &config.ingestion.batch_max_events), config.ingestion.batch_max_events,
        common::SettingName(config, &config.ingestion.max_in_flight), options.batch_max_events);
  }
  auto keys = LoadKeys("ingestion", config, config.ingestion.api_keys);
  if (!keys.ok()) return keys.status();
  options.api_keys = std::move(*keys);
  return options;
}

// The ingest routes, open to the browsers' origins the setting allows; the API document; and the tracker script where
// it is served (a <script> tag needs no CORS).
absl::StatusOr<std::vector<ports::HttpRoute>> IngestRoutesFor(const common::Config& config,
                                                              ingestion::IngestionService& service) {
  auto cors = services::ParseCorsOrigins("--ingest-cors-origins", config.ingestion.cors_origins);
  if (!cors.ok()) return cors.status();
  auto routes = services::WithCors(ingestion::IngestRoutes(service), *cors);
  routes.push_back(services::FileRoute(
      "/openapi.json", {"openapi.json", "application/json", std::string(services::IngestionApiDocument())}));
  if (config.ingestion.tracker_path.empty()) return routes;
  auto tracker = ingestion::TrackerRoute(config.ingestion.tracker_path, routes);
  if (!tracker.ok()) return tracker.status();
  routes.push_back(*std::move(tracker));
  return routes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunningService>> StartIngestion(const common::Config& config,
                                                               metrics::Registry& registry,
                                                               std::shared_ptr<tracing::SpanSink> spans) {
  auto options = IngestionOptionsFrom(config);
  if (!options.ok()) return options.status();
  options->metrics = &registry;
  auto running = std::make_unique<RunningService>();
  running->tracer = TracerFor(config, "ingestion", std::move(spans));
  auto publisher = kafka::KafkaEventPublisher::Create(
      {config.kafka.brokers,
       config.kafka.topic,
       config.kafka.linger,
       config.kafka.publish_timeout,
       config.ingestion.max_in_flight + kProducerQueueHeadroom,
       {},
       config.kafka.partitioning == "sticky" ? kafka::Partitioning::kSticky : kafka::Partitioning::kByKey,
       &registry,
       running->tracer.get()});
  if (!publisher.ok()) return publisher.status();
  auto service = std::make_shared<ingestion::IngestionService>(*options, std::move(*publisher));
  running->parts = service;
  registry.AddComputedGauge(
      "clickstream_ingest_in_flight", "events awaiting the broker's acknowledgement", [s = service.get()] {
        return std::vector<std::pair<metrics::Labels, double>>{{{}, static_cast<double>(s->InFlight())}};
      });
  registry.AddComputedGauge(
      "clickstream_ingest_in_flight_bytes", "bytes held for requests awaiting the broker's acknowledgement",
      [s = service.get()] {
        return std::vector<std::pair<metrics::Labels, double>>{{{}, static_cast<double>(s->InFlightBytes())}};
      });
  running->probe = std::make_unique<services::ReadinessProbe>(
      "ingestion", [s = service.get()] { return s->CheckReady(); }, kProbeInterval);
  // One server serves both endpoints, so its body limit must let the larger of their bodies through.
  const std::size_t max_body_bytes = std::max(options->max_body_bytes, options->batch_max_body_bytes);
  auto routes = IngestRoutesFor(config, *service);
  if (!routes.ok()) return routes.status();
  auto server = Serve(config, "ingestion", config.ingestion.port, max_body_bytes, *std::move(routes), *running->probe,
                      registry, Exposure::kPublic, running->tracer.get());
  if (!server.ok()) return server.status();
  running->server = std::move(*server);
  // Answer every event already accepted before closing connections: their clients are waiting for the ack.
  running->drain = [s = service.get()](std::chrono::milliseconds grace) { s->Drain(grace); };
  return running;
}

}  // namespace clickstream::launch
