// clickstream: composition only. Configuration -> adapters -> services -> run until SIGTERM/SIGINT -> drain.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "adapters/grpc/grpc_analytics_server.h"
#include "adapters/grpc/grpc_count_client.h"
#include "adapters/http/http_server.h"
#include "adapters/kafka/kafka_event_publisher.h"
#include "adapters/kafka/kafka_dead_letters.h"
#include "adapters/kafka/kafka_record_source.h"
#include "adapters/postgres/pg_stores.h"
#include "adapters/redis/redis_count_cache.h"
#include "common/config.h"
#include "common/files.h"
#include "common/log.h"
#include "domain/click_event.h"
#include "common/thread_timer.h"
#include "services/analytics/analytics_service.h"
#include "services/common/http_answers.h"
#include "services/gateway/coalescing_count_client.h"
#include "services/gateway/gateway_service.h"
#include "services/ingestion/ingestion_service.h"
#include "services/processor/processor_service.h"

namespace clickstream {
namespace {

using common::Config;
using std::chrono::milliseconds;

constexpr milliseconds kProbeInterval{1000};
// At shutdown, how long answers already given may take to reach their sockets before connections close.
constexpr milliseconds kAnswerFlush{1000};

// A started service; Stop drains it within `grace`. Members are declared in the order they must be destroyed
// last-to-first: servers go before the services they call.
class Running {
 public:
  virtual ~Running() = default;
  virtual void Stop(milliseconds grace) = 0;
};

http::HttpServerOptions ServerOptions(const Config& config, const std::string& name, uint16_t port,
                                      std::size_t max_body_bytes, metrics::Registry& registry) {
  http::HttpServerOptions options;
  options.name = name;
  options.address = config.bind_address;
  options.port = port;
  options.threads = config.http_threads;
  options.read_timeout = config.http_read_timeout;
  options.max_header_bytes = config.http_max_header_bytes;
  options.max_headers = config.http_max_headers;
  options.max_connections = config.http_max_connections;
  // RESTinio's own limit sits above ours, so an oversized body still gets our JSON 413 unless it is absurd.
  options.max_body_bytes = max_body_bytes * 4 + 4096;
  options.metrics = &registry;
  return options;
}

// The PEM text of a file a TLS setting names; empty when the setting is.
absl::StatusOr<std::string> ReadPem(const std::string& path, const char* setting) {
  if (path.empty()) return std::string();
  auto text = common::ReadWholeFile(path, setting);
  if (!text.ok()) return text.status();
  if (text->find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(std::string(setting) + ": " + path + " holds no PEM block");
  }
  return text;
}

// A PEM file to read at start-up into `text`: the path as a setting gave it, and the setting for errors.
struct PemFile {
  std::string* text;
  const std::string& path;
  const char* setting;
};

absl::Status ReadPems(std::initializer_list<PemFile> files) {
  for (const PemFile& file : files) {
    auto text = ReadPem(file.path, file.setting);
    if (!text.ok()) return text.status();
    *file.text = std::move(*text);
  }
  return absl::OkStatus();
}

// The limits every service checks events and look-ups against.
domain::EventLimits EventLimitsOf(const Config& config) {
  domain::EventLimits limits;
  limits.max_field_bytes = config.ingestion.max_field_bytes;
  return limits;
}

// Which servers speak TLS when it is configured: the ones clients reach. The processor's and analytics' health
// ports serve only probes and metrics inside the cluster.
enum class Exposure { kPublic, kOperationsOnly };

// Serves `routes` plus /healthz, /readyz and /metrics.
absl::StatusOr<std::unique_ptr<http::HttpServer>> Serve(const Config& config, const std::string& name,
                                                         uint16_t port, std::size_t max_body_bytes,
                                                         std::vector<ports::HttpRoute> routes,
                                                         const services::ReadinessProbe& probe,
                                                         metrics::Registry& registry,
                                                         Exposure exposure = Exposure::kPublic) {
  for (auto& route : services::OperationsRoutes(probe, registry)) routes.push_back(std::move(route));
  auto options = ServerOptions(config, name, port, max_body_bytes, registry);
  if (exposure == Exposure::kPublic && config.tls.Enabled()) {
    auto status = ReadPems({{&options.tls_cert_chain_pem, config.tls.cert_file, "CLICKSTREAM_TLS_CERT_FILE"},
                            {&options.tls_private_key_pem, config.tls.key_file, "CLICKSTREAM_TLS_KEY_FILE"}});
    if (!status.ok()) return status;
  }
  return http::HttpServer::Start(options, std::move(routes));
}

redis::RedisOptions CacheOptions(const Config& config, metrics::Registry& registry) {
  return redis::RedisOptions{config.redis_addr, config.redis_timeout, config.cache_ttl, milliseconds(1000),
                             &registry};
}

// The API keys a service accepts, logged by count only: keys never reach a log.
absl::StatusOr<std::vector<std::string>> LoadKeys(const char* service, const char* setting,
                                                  const std::string& value) {
  auto keys = services::LoadApiKeys(value);
  if (!keys.ok()) return absl::InvalidArgumentError(std::string(setting) + ": " + std::string(keys.status().message()));
  if (keys->empty()) {
    common::Logger("main")->info("{}: no API key required ({} is empty)", service, setting);
  } else {
    common::Logger("main")->info("{}: API key required, {} key(s) configured", service, keys->size());
  }
  return keys;
}

class RunningIngestion final : public Running {
 public:
  absl::Status Start(const Config& config, metrics::Registry& registry) {
    // A batch larger than the in-flight room could never be admitted (503 forever): such batches are refused
    // with 413 instead, as over the limit.
    std::size_t batch_max_events = config.ingestion.batch_max_events;
    if (batch_max_events > config.ingestion.max_in_flight) {
      batch_max_events = config.ingestion.max_in_flight;
      common::Logger("main")->warn(
          "CLICKSTREAM_INGEST_BATCH_MAX_EVENTS={} exceeds CLICKSTREAM_MAX_IN_FLIGHT; batches are limited to {} events",
          config.ingestion.batch_max_events, batch_max_events);
    }
    auto publisher = kafka::KafkaEventPublisher::Create(
        {config.kafka.brokers, config.kafka.topic, config.kafka.linger, config.kafka.publish_timeout,
         config.ingestion.max_in_flight + 1024, {}, &registry});
    if (!publisher.ok()) return publisher.status();
    ingestion::IngestionOptions options;
    options.max_body_bytes = config.ingestion.max_body_bytes;
    options.batch_max_body_bytes = config.ingestion.batch_max_body_bytes;
    options.batch_max_events = batch_max_events;
    options.max_in_flight = config.ingestion.max_in_flight;
    options.max_in_flight_bytes = config.ingestion.max_in_flight_bytes;
    options.limits = EventLimitsOf(config);
    auto keys = LoadKeys("ingestion", "CLICKSTREAM_INGEST_API_KEYS", config.ingestion.api_keys);
    if (!keys.ok()) return keys.status();
    options.api_keys = std::move(*keys);
    options.events_per_second_per_key = config.ingestion.rate_per_key;
    options.burst_per_key = config.ingestion.burst_per_key;
    service_ = std::make_unique<ingestion::IngestionService>(options, std::move(*publisher));
    registry.AddComputedGauge("clickstream_ingest_in_flight", "events awaiting the broker's acknowledgement",
                              [s = service_.get()] {
                                return std::vector<std::pair<metrics::Labels, double>>{
                                    {{}, static_cast<double>(s->InFlight())}};
                              });
    registry.AddComputedGauge("clickstream_ingest_in_flight_bytes",
                              "bytes held for requests awaiting the broker's acknowledgement",
                              [s = service_.get()] {
                                return std::vector<std::pair<metrics::Labels, double>>{
                                    {{}, static_cast<double>(s->InFlightBytes())}};
                              });
    probe_ = std::make_unique<services::ReadinessProbe>(
        "ingestion", [s = service_.get()] { return s->CheckReady(); }, kProbeInterval);
    // One server serves both endpoints, so its hard body limit must let the larger of their bodies through.
    const std::size_t max_body_bytes =
        std::max(config.ingestion.max_body_bytes, config.ingestion.batch_max_body_bytes);
    auto server = Serve(config, "ingestion", config.ingestion.port, max_body_bytes, service_->Routes(), *probe_,
                        registry);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    return absl::OkStatus();
  }
  void Stop(milliseconds grace) override {
    server_->StopAccepting();
    // Answer every event already accepted before closing connections: their clients are waiting for the ack.
    service_->Drain(grace);
    // Events the broker has not acknowledged by now fail as the publisher goes (503: the client retries, its
    // event_id keeps the retry from counting twice); those answers still go out through the live server.
    probe_.reset();
    service_.reset();
    server_->WaitIdle(kAnswerFlush);
    server_->Stop();
  }

 private:
  std::unique_ptr<ingestion::IngestionService> service_;
  std::unique_ptr<services::ReadinessProbe> probe_;
  std::unique_ptr<http::HttpServer> server_;
};

class RunningProcessor final : public Running {
 public:
  absl::Status Start(const Config& config, metrics::Registry& registry) {
    // Two full batches ahead keep the store as busy as librdkafka's default 100,000 records, at less memory
    // (measured applying a backlog: peak RSS 110 -> 78 MiB, the same rate).
    auto source = kafka::KafkaRecordSource::Create({config.kafka.brokers, config.kafka.topic,
                                                    config.kafka.consumer_group, {},
                                                    2 * config.processor.batch_max_records});
    if (!source.ok()) return source.status();
    processor::ProcessorOptions options;
    auto dead_letters = kafka::KafkaDeadLetters::Create(config.kafka.brokers, config.kafka.dlq_topic,
                                                        config.kafka.topic, options.dead_letter_timeout);
    if (!dead_letters.ok()) return dead_letters.status();
    options.topic = config.kafka.topic;
    options.batch_max_records = config.processor.batch_max_records;
    options.batch_wait = config.processor.batch_wait;
    options.limits = EventLimitsOf(config);
    options.pending_cache_repairs = config.processor.pending_cache_repairs;
    options.stall_timeout = config.processor.stall_timeout;
    options.metrics = &registry;
    service_ = std::make_unique<processor::ProcessorService>(
        options, std::move(*source), std::move(*dead_letters),
        std::make_unique<postgres::PgEventStore>(config.database_url, &registry),
        std::make_unique<redis::RedisCountCache>(CacheOptions(config, registry)));
    registry.AddComputedGauge("clickstream_consumer_lag_records", "records not yet consumed, by partition",
                              [s = service_.get()] {
                                std::vector<std::pair<metrics::Labels, double>> series;
                                for (const auto& [partition, lag] : s->Lag()) {
                                  series.push_back({{{"partition", std::to_string(partition)}},
                                                    static_cast<double>(lag)});
                                }
                                return series;
                              });
    registry.AddComputedGauge("clickstream_processor_stalled_seconds",
                              "seconds without a batch applied while records wait (0 when none wait)",
                              [s = service_.get()] {
                                return std::vector<std::pair<metrics::Labels, double>>{{{}, s->StalledSeconds()}};
                              });
    probe_ = std::make_unique<services::ReadinessProbe>(
        "processor", [s = service_.get()] { return s->CheckReady(); }, kProbeInterval);
    auto server = Serve(config, "processor", config.processor.health_port, 1024, {}, *probe_, registry,
                        Exposure::kOperationsOnly);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    service_->Start();
    return absl::OkStatus();
  }
  void Stop(milliseconds) override {
    server_->StopAccepting();
    service_->Stop();
    server_->Stop();
  }

 private:
  std::unique_ptr<processor::ProcessorService> service_;
  std::unique_ptr<services::ReadinessProbe> probe_;
  std::unique_ptr<http::HttpServer> server_;
};

class RunningAnalytics final : public Running {
 public:
  absl::Status Start(const Config& config, metrics::Registry& registry) {
    service_ = std::make_unique<analytics::AnalyticsService>(
        analytics::AnalyticsOptions{config.analytics.workers, config.analytics.queue_depth, EventLimitsOf(config),
                                    &registry, config.analytics.max_pairs},
        std::make_unique<redis::RedisCountCache>(CacheOptions(config, registry)),
        std::make_unique<postgres::PgCountStore>(config.database_url, &registry,
                                                 config.analytics.statement_timeout));
    probe_ = std::make_unique<services::ReadinessProbe>(
        "analytics", [s = service_.get()] { return s->CheckReady(); }, kProbeInterval);
    grpc_adapter::GrpcServerTls tls;
    auto status = ReadPems({{&tls.cert_chain_pem, config.tls.cert_file, "CLICKSTREAM_TLS_CERT_FILE"},
                            {&tls.private_key_pem, config.tls.key_file, "CLICKSTREAM_TLS_KEY_FILE"},
                            {&tls.client_ca_pem, config.tls.client_ca_file, "CLICKSTREAM_TLS_CLIENT_CA_FILE"}});
    if (!status.ok()) return status;
    auto grpc =
        grpc_adapter::GrpcAnalyticsServer::Start(config.bind_address, config.analytics.grpc_port, *service_, tls);
    if (!grpc.ok()) return grpc.status();
    grpc_ = std::move(*grpc);
    auto server = Serve(config, "analytics", config.analytics.health_port, 1024, {}, *probe_, registry,
                        Exposure::kOperationsOnly);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    return absl::OkStatus();
  }
  void Stop(milliseconds grace) override {
    server_->StopAccepting();
    grpc_->Shutdown(grace);
    server_->Stop();
  }

 private:
  std::unique_ptr<analytics::AnalyticsService> service_;
  std::unique_ptr<services::ReadinessProbe> probe_;
  std::unique_ptr<grpc_adapter::GrpcAnalyticsServer> grpc_;
  std::unique_ptr<http::HttpServer> server_;
};

class RunningGateway final : public Running {
 public:
  absl::Status Start(const Config& config, metrics::Registry& registry) {
    gateway::GatewayOptions options;
    options.max_body_bytes = config.gateway.max_body_bytes;
    options.limits = EventLimitsOf(config);
    auto keys = LoadKeys("gateway", "CLICKSTREAM_QUERY_API_KEYS", config.gateway.api_keys);
    if (!keys.ok()) return keys.status();
    options.api_keys = std::move(*keys);
    options.query_deadline = config.gateway.query_deadline;
    grpc_adapter::GrpcClientTls tls;
    // The gateway's certificate doubles as its client certificate when analytics asks for one.
    auto status = ReadPems({{&tls.root_ca_pem, config.tls.analytics_ca_file, "CLICKSTREAM_ANALYTICS_TLS_CA_FILE"},
                            {&tls.cert_chain_pem, config.tls.cert_file, "CLICKSTREAM_TLS_CERT_FILE"},
                            {&tls.private_key_pem, config.tls.key_file, "CLICKSTREAM_TLS_KEY_FILE"}});
    if (!status.ok()) return status;
    options.coalescing.max_batch = config.gateway.max_batch;
    options.coalescing.max_batches_in_flight = config.gateway.batches_in_flight;
    options.coalescing.max_waiting = config.gateway.max_waiting;
    service_ = std::make_unique<gateway::GatewayService>(
        options,
        std::make_unique<grpc_adapter::GrpcCountClient>(config.gateway.analytics_addr, config.gateway.query_deadline,
                                                        tls),
        std::make_unique<common::ThreadTimer>());
    probe_ = std::make_unique<services::ReadinessProbe>(
        "gateway", [s = service_.get()] { return s->CheckReady(); }, kProbeInterval);
    auto server = Serve(config, "gateway", config.gateway.port, config.gateway.max_body_bytes, service_->Routes(),
                        *probe_, registry);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    return absl::OkStatus();
  }
  void Stop(milliseconds grace) override {
    server_->StopAccepting();
    // Look-ups in flight are answered by their deadline (at most the query deadline from now).
    server_->WaitIdle(grace);
    probe_.reset();
    service_.reset();  // waits for the calls still out to analytics, each bounded by its deadline
    server_->WaitIdle(kAnswerFlush);
    server_->Stop();
  }

 private:
  std::unique_ptr<gateway::GatewayService> service_;
  std::unique_ptr<services::ReadinessProbe> probe_;
  std::unique_ptr<http::HttpServer> server_;
};

template <typename T>
absl::Status Launch(const Config& config, metrics::Registry& registry,
                    std::vector<std::unique_ptr<Running>>& running) {
  auto service = std::make_unique<T>();
  auto status = service->Start(config, registry);
  running.push_back(std::move(service));  // kept even on failure: its destructor cleans up what did start
  return status;
}

int Run(const common::Invocation& invocation) {
  const Config& config = invocation.config;
  const auto log = common::Logger("main");
  using common::Command;
  const Command command = invocation.command;
  // One registry for the process: in `all` each service's /metrics shows every series (they carry labels).
  // Declared before `running`, so it outlives the services that record into it.
  metrics::Registry registry;
  std::vector<std::unique_ptr<Running>> running;
  absl::Status status = absl::OkStatus();
  // Start order follows the data flow backwards, so each service finds what it calls already up.
  if (status.ok() && (command == Command::kAll || command == Command::kAnalytics)) {
    status = Launch<RunningAnalytics>(config, registry, running);
  }
  if (status.ok() && (command == Command::kAll || command == Command::kProcessor)) {
    status = Launch<RunningProcessor>(config, registry, running);
  }
  if (status.ok() && (command == Command::kAll || command == Command::kGateway)) {
    status = Launch<RunningGateway>(config, registry, running);
  }
  if (status.ok() && (command == Command::kAll || command == Command::kIngestion)) {
    status = Launch<RunningIngestion>(config, registry, running);
  }
  if (!status.ok()) {
    log->error("start-up failed: {}", status.message());
    return 1;
  }
  log->info("clickstream started; stop with SIGTERM or SIGINT");

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log->info("signal {} received, draining (grace {} ms)", signal_number, config.shutdown_grace.count());
  // Stop in reverse start order: ingestion first (no new events), then the gateway, processor, analytics.
  for (auto it = running.rbegin(); it != running.rend(); ++it) (*it)->Stop(config.shutdown_grace);
  running.clear();
  log->info("clickstream stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace
}  // namespace clickstream

int main(int argc, char** argv) {
  using namespace clickstream;
  // Block the stop signals in every thread (threads inherit the mask); the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Debian builds Abseil without NDEBUG, so every absl::Mutex (gRPC takes several per call) would also update a
  // process-wide lock-order graph for deadlock detection: one more global lock and ~2% of the query path's CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const std::vector<std::string> args(argv + 1, argv + argc);
  auto invocation = common::ParseInvocation(args, common::ProcessEnvironment());
  if (!invocation.ok()) {
    std::fprintf(stderr, "clickstream: %s\n", std::string(invocation.status().message()).c_str());
    return 2;
  }
  if (invocation->help) {
    std::fputs(common::HelpText().c_str(), stdout);
    return 0;
  }
  common::ConfigureLogging(invocation->config.log_level);
  return Run(*invocation);
}
