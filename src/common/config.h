// Configuration: every setting declared once in a table (config.cc) with its environment name, flag, default,
// help text and check. Precedence: flag > environment > default. The result is immutable, with a part per
// service; --help is generated from the same table.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace clickstream::common {

using Millis = std::chrono::milliseconds;

// TLS material, all PEM file paths; empty means plain text. Files are read at start-up.
struct TlsConfig {
  std::string cert_file;  // served by ingestion, the gateway and analytics' gRPC port
  std::string key_file;
  std::string client_ca_file;     // analytics: require gRPC client certificates signed by these CAs
  std::string analytics_ca_file;  // gateway: call analytics over TLS, trusting these CAs
  bool Enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct KafkaConfig {
  std::string brokers;
  std::string topic;
  std::string dlq_topic;
  std::string consumer_group;
  std::chrono::microseconds linger{};  // fractional milliseconds: librdkafka takes linger.ms as a decimal
  Millis publish_timeout{};
  std::string partitioning;  // "user_id" or "sticky"
};

struct IngestionConfig {
  uint16_t port = 0;
  std::size_t max_body_bytes = 0;
  std::size_t batch_max_body_bytes = 0;  // POST /ingest/batch
  std::size_t batch_max_events = 0;
  std::size_t max_in_flight = 0;
  std::size_t max_in_flight_bytes = 0;
  std::size_t max_field_bytes = 0;  // the longest event field accepted, at every service that checks events
  // time_stamp limits, also at every service that checks events (domain::EventLimits)
  std::chrono::seconds event_max_age{};
  std::chrono::seconds event_max_skew{};
  std::chrono::seconds event_late_after{};
  std::string api_keys;  // as configured: "", "k1,k2" or "@file"; loaded by services::LoadApiKeys
  double rate_per_key = 0;
  double burst_per_key = 0;
  std::string cors_origins;  // browsers' origins allowed to post (services/common/cors.h); "": none
  std::string tracker_path;  // where the tracker script is served; "": not served
};

struct ProcessorConfig {
  uint16_t health_port = 0;
  std::size_t consumers = 0;  // consumers of the group in this process, each applying its partitions' batches
  std::size_t batch_max_records = 0;
  Millis batch_wait{};
  Millis fetch_wait{};
  std::size_t pending_cache_repairs = 0;
  Millis stall_timeout{};
};

struct AnalyticsConfig {
  uint16_t grpc_port = 0;
  uint16_t health_port = 0;
  std::size_t workers = 0;
  std::size_t queue_depth = 0;
  std::size_t max_pairs = 0;   // per GetEventCounts call; the gateway's max_batch may not exceed it
  Millis statement_timeout{};  // every PostgreSQL read of analytics
  Millis position_wait{};      // read-your-writes: a query's longest wait for its position
  Millis position_poll{};
  std::size_t position_max_waiting = 0;
  Millis log_end_interval{};    // for lag in answers
  Millis reconcile_interval{};  // the background drift check's; 0: none
  std::size_t reconcile_sample = 0;
};

struct GatewayConfig {
  uint16_t port = 0;
  std::string analytics_addr;
  Millis query_deadline{};
  std::size_t max_body_bytes = 0;
  std::string api_keys;        // as for ingestion
  std::string admin_api_keys;  // the dead-letter routes'; "": the query keys
  std::size_t max_batch = 0;   // look-ups coalesced into one call to analytics
  std::size_t batches_in_flight = 0;
  std::size_t max_waiting = 0;
  std::string dashboard_dir;  // the built dashboard; "": the `dashboard` folder beside the executable
  std::string cors_origins;   // browsers' origins allowed to ask, as for ingestion
};

// Spans go to a Zipkin v2 endpoint (Zipkin, Jaeger's collector or an OpenTelemetry Collector's zipkin receiver).
struct TracingConfig {
  std::string zipkin_url;   // empty: no span is exported (a traceparent is still passed on)
  double sample_ratio = 0;  // of the traces started here; a continued trace follows its traceparent's flag
};

struct Config {
  std::string log_level;
  std::string bind_address;
  std::size_t http_threads = 0;
  Millis http_read_timeout{};  // every HTTP server: slow or idle clients are disconnected after it
  std::size_t http_max_header_bytes = 0;
  std::size_t http_max_headers = 0;
  std::size_t http_max_connections = 0;
  TlsConfig tls;
  Millis shutdown_grace{};
  std::string database_url;
  std::string redis_addr;
  Millis redis_timeout{};
  std::chrono::seconds cache_ttl{};
  KafkaConfig kafka;
  IngestionConfig ingestion;
  ProcessorConfig processor;
  AnalyticsConfig analytics;
  GatewayConfig gateway;
  TracingConfig tracing;
};

enum class Command { kIngestion, kProcessor, kAnalytics, kGateway, kAll };

struct Invocation {
  Command command = Command::kAll;
  Config config;
  bool help = false;  // --help was asked for: print HelpText() and exit 0
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Parses `clickstream <command> [--flag=value | --flag value]...`. Errors name the setting, the value and what
// was expected.
absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args, const EnvLookup& env);
EnvLookup ProcessEnvironment();
std::string HelpText();

// The environment name of the setting bound to `field`, a member of `config` (or of one of its parts), for
// messages: SettingName(config, &config.tls.cert_file) is "CLICKSTREAM_TLS_CERT_FILE". The name is written once,
// in the settings table.
const char* SettingName(const Config& config, const void* field);

}  // namespace clickstream::common
