#include "common/config.h"

#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>

#include "absl/strings/str_cat.h"
#include "spdlog/common.h"

namespace clickstream::common {
namespace {

enum class Kind {
  kText,
  kOptionalText,
  kPort,
  kCount,
  kCountOrZero,
  kMillis,
  kFractionalMillis,
  kSeconds,
  kLevel,
  kRatio,
  kPartitioning,
};

// Reads a value its Kind has checked into a field of the field's own type.
void Read(std::string_view value, std::string& field) { field = std::string(value); }
void Read(std::string_view value, std::size_t& field) {
  std::from_chars(value.data(), value.data() + value.size(), field);
}
void Read(std::string_view value, uint16_t& field) {
  std::from_chars(value.data(), value.data() + value.size(), field);
}
void Read(std::string_view value, double& field) { std::from_chars(value.data(), value.data() + value.size(), field); }
template <typename Rep, typename Period>
void Read(std::string_view value, std::chrono::duration<Rep, Period>& field) {
  Rep count = 0;
  std::from_chars(value.data(), value.data() + value.size(), count);
  field = std::chrono::duration<Rep, Period>(count);
}
std::optional<std::chrono::microseconds> FractionalMillis(std::string_view value);
// Fractional milliseconds ("0.5") are the one setting kept in microseconds.
void Read(std::string_view value, std::chrono::microseconds& field) { field = *FractionalMillis(value); }

// Where a setting's value goes: a member of Config, or a member of one of its parts. Each row of the table names
// its field once, so no setting name is spelled again to build the Config, and the field finds its name back
// (SettingName) for messages.
struct Binding {
  void (*read)(Config&, std::string_view);  // stores a value its Kind has checked
  const void* (*address)(const Config&);    // the field, to find a setting by its field
};
template <auto Member>
constexpr Binding kAt = {[](Config& config, std::string_view value) { Read(value, config.*Member); },
                         [](const Config& config) -> const void* { return &(config.*Member); }};
template <auto Part, auto Member>
constexpr Binding kIn = {[](Config& config, std::string_view value) { Read(value, (config.*Part).*Member); },
                         [](const Config& config) -> const void* { return &((config.*Part).*Member); }};

struct Setting {
  const char* env;
  const char* flag;  // without the leading "--"
  const char* default_value;
  Kind kind;
  const char* help;
  const Binding* field;
};

// The table: the one declaration of every setting. The specification's names stay (DATABASE_URL, KAFKA_BROKER,
// KAFKA_TOPIC, REDIS_ADDR, PORT); ours are CLICKSTREAM_*.
constexpr Setting kSettings[] = {
    {"CLICKSTREAM_LOG_LEVEL", "log-level", "info", Kind::kLevel, "trace, debug, info, warn, error or off",
     &kAt<&Config::log_level>},
    {"CLICKSTREAM_BIND_ADDR", "bind-address", "0.0.0.0", Kind::kText, "address every server listens on",
     &kAt<&Config::bind_address>},
    {"CLICKSTREAM_HTTP_THREADS", "http-threads", "1", Kind::kCount, "I/O threads per HTTP server",
     &kAt<&Config::http_threads>},
    {"CLICKSTREAM_HTTP_READ_TIMEOUT_MS", "http-read-timeout-ms", "10000", Kind::kMillis,
     "longest a client may take to send a whole request, or keep a connection idle; then it is closed",
     &kAt<&Config::http_read_timeout>},
    {"CLICKSTREAM_HTTP_MAX_HEADER_BYTES", "http-max-header-bytes", "16384", Kind::kCount,
     "largest total of a request's header names and values; larger answers 431, four times larger closes",
     &kAt<&Config::http_max_header_bytes>},
    {"CLICKSTREAM_HTTP_MAX_HEADERS", "http-max-headers", "100", Kind::kCount,
     "most header fields in a request; more answers 431, four times more closes the connection",
     &kAt<&Config::http_max_headers>},
    {"CLICKSTREAM_TLS_CERT_FILE", "tls-cert-file", "", Kind::kOptionalText,
     "PEM certificate chain: when set with the key, ingestion and the gateway serve HTTPS and analytics serves gRPC "
     "over TLS (the health-only ports of the processor and analytics stay plain HTTP); the gateway also presents it "
     "to analytics when analytics asks for a client certificate",
     &kIn<&Config::tls, &TlsConfig::cert_file>},
    {"CLICKSTREAM_TLS_KEY_FILE", "tls-key-file", "", Kind::kOptionalText, "PEM private key of --tls-cert-file",
     &kIn<&Config::tls, &TlsConfig::key_file>},
    {"CLICKSTREAM_TLS_CLIENT_CA_FILE", "tls-client-ca-file", "", Kind::kOptionalText,
     "PEM CA certificates: when set, analytics accepts only gRPC clients with a certificate they signed (mutual TLS)",
     &kIn<&Config::tls, &TlsConfig::client_ca_file>},
    {"CLICKSTREAM_ANALYTICS_TLS_CA_FILE", "analytics-tls-ca-file", "", Kind::kOptionalText,
     "PEM CA certificates: when set, the gateway calls analytics over TLS and trusts only certificates they signed",
     &kIn<&Config::tls, &TlsConfig::analytics_ca_file>},
    {"CLICKSTREAM_SHUTDOWN_GRACE_MS", "shutdown-grace-ms", "10000", Kind::kMillis,
     "time to drain in-flight work on SIGTERM", &kAt<&Config::shutdown_grace>},
    {"DATABASE_URL", "database-url", "postgresql://clickstream@127.0.0.1:5432/clickstream", Kind::kText,
     "PostgreSQL connection URI", &kAt<&Config::database_url>},
    {"REDIS_ADDR", "redis-addr", "127.0.0.1:6379", Kind::kText, "Redis host:port", &kAt<&Config::redis_addr>},
    {"CLICKSTREAM_REDIS_TIMEOUT_MS", "redis-timeout-ms", "200", Kind::kMillis,
     "connect and command timeout for Redis; beyond it queries fall back to PostgreSQL", &kAt<&Config::redis_timeout>},
    {"CLICKSTREAM_CACHE_TTL_S", "cache-ttl-s", "86400", Kind::kSeconds,
     "safety-net expiry of cached counts (they are kept exact without it)", &kAt<&Config::cache_ttl>},
    {"KAFKA_BROKER", "kafka-broker", "127.0.0.1:9092", Kind::kText, "Kafka bootstrap servers, comma-separated",
     &kIn<&Config::kafka, &KafkaConfig::brokers>},
    {"KAFKA_TOPIC", "kafka-topic", "clicks", Kind::kText, "topic of click events",
     &kIn<&Config::kafka, &KafkaConfig::topic>},
    {"CLICKSTREAM_DLQ_TOPIC", "dlq-topic", "clicks.dlq", Kind::kText, "dead-letter topic for invalid records",
     &kIn<&Config::kafka, &KafkaConfig::dlq_topic>},
    {"CLICKSTREAM_CONSUMER_GROUP", "consumer-group", "click-processor-group", Kind::kText,
     "Kafka consumer group of the processor", &kIn<&Config::kafka, &KafkaConfig::consumer_group>},
    // Half a millisecond is a trade measured on two cores with 4 partitions: librdkafka sends a produce request per
    // partition per linger, and its broker thread cost 14-16 us of CPU per event at 0.5 ms against 9 at 1 ms (5 at
    // 2 ms); yet at 1 ms every acknowledgement waits longer, and ingestion alone acknowledged a fifth fewer events
    // from 64 connections. Busy machines with many partitions may prefer 1-2 ms.
    {"CLICKSTREAM_LINGER_MS", "linger-ms", "0.5", Kind::kFractionalMillis,
     "producer batching delay in ms, to 0.001; 0 sends as soon as the connection allows (records still batch while "
     "earlier ones are in flight)",
     &kIn<&Config::kafka, &KafkaConfig::linger>},
    // Measured on 2 cores with 4 partitions and the pipeline live (bench W1, see the README): by user_id 22.1-22.4k
    // acknowledged events/s at p99 14-15 ms; sticky 23.7-26.2k at p99 6.4-7.5 ms, the broker spending half the CPU
    // per event. The default keeps the design's per-user order.
    {"CLICKSTREAM_PARTITIONING", "partitioning", "user_id", Kind::kPartitioning,
     "how ingestion spreads records over the topic's partitions: user_id (the record's key: per-user order, and each "
     "counter updated by one processor) or sticky (no key, one partition at a time: fewer, larger produce requests; "
     "for a single processor)",
     &kIn<&Config::kafka, &KafkaConfig::partitioning>},
    {"CLICKSTREAM_PUBLISH_TIMEOUT_MS", "publish-timeout-ms", "5000", Kind::kMillis,
     "how long ingestion waits for the broker's acknowledgement before answering 503",
     &kIn<&Config::kafka, &KafkaConfig::publish_timeout>},
    {"CLICKSTREAM_INGESTION_PORT", "ingestion-port", "8080", Kind::kPort,
     "HTTP port of ingestion (PORT when running ingestion alone)", &kIn<&Config::ingestion, &IngestionConfig::port>},
    {"CLICKSTREAM_INGESTION_MAX_BODY_BYTES", "ingestion-max-body-bytes", "65536", Kind::kCount,
     "largest POST /ingest body; larger answers 413", &kIn<&Config::ingestion, &IngestionConfig::max_body_bytes>},
    {"CLICKSTREAM_INGEST_BATCH_MAX_BODY_BYTES", "ingest-batch-max-body-bytes", "4194304", Kind::kCount,
     "largest POST /ingest/batch body (a JSON array, or NDJSON: one event per line); larger answers 413",
     &kIn<&Config::ingestion, &IngestionConfig::batch_max_body_bytes>},
    {"CLICKSTREAM_INGEST_BATCH_MAX_EVENTS", "ingest-batch-max-events", "1000", Kind::kCount,
     "most events in one POST /ingest/batch; more answers 413 and publishes none (at most --max-in-flight)",
     &kIn<&Config::ingestion, &IngestionConfig::batch_max_events>},
    {"CLICKSTREAM_MAX_IN_FLIGHT", "max-in-flight", "20000", Kind::kCount,
     "events awaiting the broker's acknowledgement; beyond it ingestion answers 503",
     &kIn<&Config::ingestion, &IngestionConfig::max_in_flight>},
    {"CLICKSTREAM_MAX_IN_FLIGHT_BYTES", "max-in-flight-bytes", "67108864", Kind::kCount,
     "bytes ingestion holds for requests awaiting the broker (bodies and event copies); beyond it 503",
     &kIn<&Config::ingestion, &IngestionConfig::max_in_flight_bytes>},
    {"CLICKSTREAM_HTTP_MAX_CONNECTIONS", "http-max-connections", "1024", Kind::kCount,
     "open connections per HTTP server; beyond it new ones wait in the kernel's backlog",
     &kAt<&Config::http_max_connections>},
    {"CLICKSTREAM_MAX_FIELD_BYTES", "max-field-bytes", "2048", Kind::kCount,
     "longest accepted event field, at most 2048 (event_id is a B-tree key)",
     &kIn<&Config::ingestion, &IngestionConfig::max_field_bytes>},
    // Both judged against the instant ingestion accepted the event: its clock when it posts, the record's broker
    // time (which ingestion set to that instant) when the processor applies it, however late.
    {"CLICKSTREAM_EVENT_MAX_AGE_S", "event-max-age-s", "316224000", Kind::kSeconds,
     "oldest accepted time_stamp, in seconds before the instant ingestion accepts the event (default 10 years)",
     &kIn<&Config::ingestion, &IngestionConfig::event_max_age>},
    {"CLICKSTREAM_EVENT_MAX_SKEW_S", "event-max-skew-s", "86400", Kind::kSeconds,
     "furthest accepted time_stamp ahead of that instant, in seconds (a sender's clock running fast)",
     &kIn<&Config::ingestion, &IngestionConfig::event_max_skew>},
    {"CLICKSTREAM_EVENT_LATE_AFTER_S", "event-late-after-s", "300", Kind::kSeconds,
     "an accepted time_stamp older than this is counted all the same, and counted as late in "
     "clickstream_processor_late_events_total",
     &kIn<&Config::ingestion, &IngestionConfig::event_late_after>},
    {"CLICKSTREAM_INGEST_API_KEYS", "ingest-api-keys", "", Kind::kOptionalText,
     "API keys POST /ingest accepts (X-API-Key or Authorization: Bearer): k1,k2 or @file with one per line; "
     "empty: no key needed",
     &kIn<&Config::ingestion, &IngestionConfig::api_keys>},
    {"CLICKSTREAM_INGEST_RATE_PER_KEY", "ingest-rate-per-key", "0", Kind::kCountOrZero,
     "events a second each ingest API key may post, beyond it 429; 0: unlimited",
     &kIn<&Config::ingestion, &IngestionConfig::rate_per_key>},
    {"CLICKSTREAM_INGEST_BURST_PER_KEY", "ingest-burst-per-key", "0", Kind::kCountOrZero,
     "events a key may post at once above its rate; 0: one second's worth",
     &kIn<&Config::ingestion, &IngestionConfig::burst_per_key>},
    {"CLICKSTREAM_INGEST_CORS_ORIGINS", "ingest-cors-origins", "", Kind::kOptionalText,
     "web origins whose pages may post events from the browser (CORS): https://shop.example,http://localhost:3000 or "
     "*; a browser request from any other origin is refused 403. Empty: no cross-origin answers",
     &kIn<&Config::ingestion, &IngestionConfig::cors_origins>},
    {"CLICKSTREAM_TRACKER_PATH", "tracker-path", "/tracker.js", Kind::kOptionalText,
     "path where ingestion serves the tracker script for web pages (rename it freely); empty: not served",
     &kIn<&Config::ingestion, &IngestionConfig::tracker_path>},
    {"CLICKSTREAM_QUERY_API_KEYS", "query-api-keys", "", Kind::kOptionalText,
     "API keys GET /analytics/events accepts, as for ingestion; empty: no key needed",
     &kIn<&Config::gateway, &GatewayConfig::api_keys>},
    {"CLICKSTREAM_QUERY_CORS_ORIGINS", "query-cors-origins", "", Kind::kOptionalText,
     "web origins whose pages may ask the gateway's query routes from the browser (CORS), as for ingestion",
     &kIn<&Config::gateway, &GatewayConfig::cors_origins>},
    {"CLICKSTREAM_ADMIN_API_KEYS", "admin-api-keys", "", Kind::kOptionalText,
     "API keys the gateway's dead-letter routes (list, replay) accept, as for ingestion; empty: the query keys",
     &kIn<&Config::gateway, &GatewayConfig::admin_api_keys>},
    {"CLICKSTREAM_PROCESSOR_PORT", "processor-port", "8082", Kind::kPort,
     "HTTP port of the processor's health endpoints (PORT when running the processor alone)",
     &kIn<&Config::processor, &ProcessorConfig::health_port>},
    {"CLICKSTREAM_PROCESSOR_CONSUMERS", "processor-consumers", "2", Kind::kCount,
     "consumers of the group the processor runs, each with its own PostgreSQL connection, so that the batches of "
     "different partitions are applied at once; more than the topic's partitions leaves some idle",
     &kIn<&Config::processor, &ProcessorConfig::consumers>},
    {"CLICKSTREAM_BATCH_MAX_RECORDS", "batch-max-records", "20000", Kind::kCount,
     "most records the processor applies in one transaction",
     &kIn<&Config::processor, &ProcessorConfig::batch_max_records>},
    {"CLICKSTREAM_BATCH_WAIT_MS", "batch-wait-ms", "100", Kind::kMillis,
     "how long the processor waits for a first record before polling again",
     &kIn<&Config::processor, &ProcessorConfig::batch_wait>},
    {"CLICKSTREAM_PROCESSOR_FETCH_WAIT_MS", "processor-fetch-wait-ms", "10", Kind::kMillis,
     "how long the broker may hold the processor's fetch to gather records: while records trickle in, fewer "
     "and larger fetches (less broker CPU, larger transactions) for at most this much freshness",
     &kIn<&Config::processor, &ProcessorConfig::fetch_wait>},
    {"CLICKSTREAM_PENDING_CACHE_REPAIRS", "pending-cache-repairs", "100000", Kind::kCount,
     "counts remembered for Redis while it is unreachable; beyond it the cache is invalidated on return",
     &kIn<&Config::processor, &ProcessorConfig::pending_cache_repairs>},
    {"CLICKSTREAM_PROCESSOR_STALL_TIMEOUT_MS", "processor-stall-timeout-ms", "60000", Kind::kMillis,
     "the processor reports not ready when records have waited this long without a batch being applied",
     &kIn<&Config::processor, &ProcessorConfig::stall_timeout>},
    {"CLICKSTREAM_ANALYTICS_PORT", "analytics-port", "50051", Kind::kPort,
     "gRPC port of analytics (PORT when running analytics alone)",
     &kIn<&Config::analytics, &AnalyticsConfig::grpc_port>},
    {"CLICKSTREAM_ANALYTICS_HEALTH_PORT", "analytics-health-port", "8083", Kind::kPort,
     "HTTP port of the analytics health endpoints", &kIn<&Config::analytics, &AnalyticsConfig::health_port>},
    {"CLICKSTREAM_ANALYTICS_WORKERS", "analytics-workers", "4", Kind::kCount,
     "threads doing Redis and PostgreSQL look-ups", &kIn<&Config::analytics, &AnalyticsConfig::workers>},
    {"CLICKSTREAM_ANALYTICS_QUEUE_DEPTH", "analytics-queue-depth", "1024", Kind::kCount,
     "look-ups waiting for a worker; beyond it analytics answers RESOURCE_EXHAUSTED",
     &kIn<&Config::analytics, &AnalyticsConfig::queue_depth>},
    {"CLICKSTREAM_ANALYTICS_MAX_PAIRS", "analytics-max-pairs", "1000", Kind::kCount,
     "most pairs in one GetEventCounts call; more fails the call with INVALID_ARGUMENT. The gateway refuses to start "
     "with --gateway-max-batch above it, so set both alike where the services run apart",
     &kIn<&Config::analytics, &AnalyticsConfig::max_pairs>},
    {"CLICKSTREAM_DB_STATEMENT_TIMEOUT_MS", "db-statement-timeout-ms", "2000", Kind::kMillis,
     "longest one PostgreSQL read of analytics may run (statement_timeout); beyond it the look-ups in it answer "
     "DEADLINE_EXCEEDED (504 through the gateway)",
     &kIn<&Config::analytics, &AnalyticsConfig::statement_timeout>},
    {"CLICKSTREAM_POSITION_WAIT_MS", "position-wait-ms", "2000", Kind::kMillis,
     "longest a query passing a position from ingestion (read-your-writes) waits for the processor to apply it; "
     "beyond it 503 with the position applied so far. Keep it below the gateway's query deadline",
     &kIn<&Config::analytics, &AnalyticsConfig::position_wait>},
    {"CLICKSTREAM_POSITION_POLL_MS", "position-poll-ms", "5", Kind::kMillis,
     "how often analytics reads the applied position while queries wait for one",
     &kIn<&Config::analytics, &AnalyticsConfig::position_poll>},
    {"CLICKSTREAM_LOG_END_INTERVAL_MS", "log-end-interval-ms", "500", Kind::kMillis,
     "how often analytics reads the end of every partition of the topic, for the lag its answers report",
     &kIn<&Config::analytics, &AnalyticsConfig::log_end_interval>},
    {"CLICKSTREAM_POSITION_MAX_WAITING", "position-max-waiting", "10000", Kind::kCount,
     "queries waiting for a position at once; beyond it analytics answers RESOURCE_EXHAUSTED (503 through the gateway)",
     &kIn<&Config::analytics, &AnalyticsConfig::position_max_waiting>},
    {"CLICKSTREAM_RECONCILE_INTERVAL_MS", "reconcile-interval-ms", "60000", Kind::kCountOrZero,
     "how often analytics compares a random sample of counters with their raw rows, logging and counting any "
     "drift (clickstream_reconcile_drift_pairs_total); 0: never",
     &kIn<&Config::analytics, &AnalyticsConfig::reconcile_interval>},
    {"CLICKSTREAM_RECONCILE_SAMPLE", "reconcile-sample", "100", Kind::kCount,
     "counters each background drift check compares (one index look-up each)",
     &kIn<&Config::analytics, &AnalyticsConfig::reconcile_sample>},
    {"CLICKSTREAM_GATEWAY_PORT", "gateway-port", "8081", Kind::kPort,
     "HTTP port of the gateway (PORT when running the gateway alone)", &kIn<&Config::gateway, &GatewayConfig::port>},
    {"CLICKSTREAM_ANALYTICS_ADDR", "analytics-addr", "127.0.0.1:50051", Kind::kText, "gRPC address the gateway calls",
     &kIn<&Config::gateway, &GatewayConfig::analytics_addr>},
    {"CLICKSTREAM_QUERY_DEADLINE_MS", "query-deadline-ms", "5000", Kind::kMillis,
     "deadline of the gateway's gRPC call, retries included; beyond it 504",
     &kIn<&Config::gateway, &GatewayConfig::query_deadline>},
    {"CLICKSTREAM_GATEWAY_MAX_BATCH", "gateway-max-batch", "256", Kind::kCount,
     "most look-ups the gateway coalesces into one GetEventCounts call to analytics (1: no coalescing)",
     &kIn<&Config::gateway, &GatewayConfig::max_batch>},
    {"CLICKSTREAM_GATEWAY_BATCHES_IN_FLIGHT", "gateway-batches-in-flight", "1", Kind::kCount,
     "batched calls to analytics the gateway keeps out at once; look-ups beyond them wait for the next batch",
     &kIn<&Config::gateway, &GatewayConfig::batches_in_flight>},
    {"CLICKSTREAM_DASHBOARD_DIR", "dashboard-dir", "", Kind::kOptionalText,
     "folder of the built dashboard the gateway serves at /dashboard/ (web/dashboard); empty: the `dashboard` folder "
     "beside the executable, where the build puts it, and no dashboard when there is none",
     &kIn<&Config::gateway, &GatewayConfig::dashboard_dir>},
    {"CLICKSTREAM_GATEWAY_MAX_WAITING", "gateway-max-waiting", "10000", Kind::kCount,
     "look-ups waiting for a batch; beyond it the gateway answers 503",
     &kIn<&Config::gateway, &GatewayConfig::max_waiting>},
    {"CLICKSTREAM_GATEWAY_MAX_BODY_BYTES", "gateway-max-body-bytes", "16384", Kind::kCount,
     "largest GET /analytics/events JSON body", &kIn<&Config::gateway, &GatewayConfig::max_body_bytes>},
    {"CLICKSTREAM_TRACING_ZIPKIN_URL", "tracing-zipkin-url", "", Kind::kOptionalText,
     "Zipkin v2 spans endpoint, e.g. http://127.0.0.1:9411/api/v2/spans (Jaeger's collector and an OpenTelemetry "
     "Collector's zipkin receiver take the same); spans go in batches off the request path and are dropped, never "
     "waited for, when it is down. Empty: none exported (a traceparent is still passed on)",
     &kIn<&Config::tracing, &TracingConfig::zipkin_url>},
    {"CLICKSTREAM_TRACING_SAMPLE_RATIO", "tracing-sample-ratio", "0.01", Kind::kRatio,
     "share of the traces started here that are recorded, from 0 to 1; a request with a traceparent header is "
     "recorded when its sampled flag says so",
     &kIn<&Config::tracing, &TracingConfig::sample_ratio>},
};

const std::map<std::string_view, Command> kCommands = {{"ingestion", Command::kIngestion},
                                                       {"processor", Command::kProcessor},
                                                       {"analytics", Command::kAnalytics},
                                                       {"gateway", Command::kGateway},
                                                       {"all", Command::kAll}};

// The field of the setting PORT stands for when one service runs alone, as each container of the specification
// does; nullptr for `all`.
const void* PortFieldOf(const Config& config, Command command) {
  switch (command) {
    case Command::kIngestion: return &config.ingestion.port;
    case Command::kProcessor: return &config.processor.health_port;
    case Command::kAnalytics: return &config.analytics.grpc_port;
    case Command::kGateway: return &config.gateway.port;
    case Command::kAll: return nullptr;
  }
  return nullptr;
}

const Setting* FindByFlag(std::string_view flag) {
  for (const Setting& s : kSettings) {
    if (flag == s.flag) return &s;
  }
  return nullptr;
}

absl::Status BadValue(const Setting& s, std::string_view value, std::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat("setting ", s.env, " (--", s.flag, ") has value '", std::string(value),
                                                 "': expected ", std::string(expected)));
}

absl::StatusOr<uint64_t> ParseUnsigned(const Setting& s, std::string_view value, uint64_t min, uint64_t max,
                                       std::string_view expected) {
  uint64_t number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size() || number < min || number > max) {
    return BadValue(s, value, expected);
  }
  return number;
}

// Milliseconds with up to three decimals ("0.5") as microseconds, from 0 to an hour; nullopt when malformed.
std::optional<std::chrono::microseconds> FractionalMillis(std::string_view value) {
  const std::size_t dot = value.find('.');
  const std::string_view whole = value.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : value.substr(dot + 1);
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 3)) return std::nullopt;
  uint64_t millis = 0, thousandths = 0;
  auto [end, error] = std::from_chars(whole.data(), whole.data() + whole.size(), millis);
  if (whole.empty() || error != std::errc() || end != whole.data() + whole.size() || millis > 3'600'000) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < 3; ++i) {
    const char digit = i < fraction.size() ? fraction[i] : '0';
    if (digit < '0' || digit > '9') return std::nullopt;
    thousandths = thousandths * 10 + static_cast<uint64_t>(digit - '0');
  }
  return std::chrono::microseconds(millis * 1000 + thousandths);
}

absl::Status Check(const Setting& s, std::string_view value) {
  switch (s.kind) {
    case Kind::kText:
      if (value.empty()) return BadValue(s, value, "a non-empty value");
      return absl::OkStatus();
    case Kind::kPort: return ParseUnsigned(s, value, 0, 65535, "a TCP port 0-65535").status();
    case Kind::kCount: return ParseUnsigned(s, value, 1, 1u << 30, "a whole number from 1").status();
    case Kind::kCountOrZero: return ParseUnsigned(s, value, 0, 1u << 30, "a whole number from 0").status();
    case Kind::kOptionalText: return absl::OkStatus();
    case Kind::kFractionalMillis:
      if (FractionalMillis(value)) return absl::OkStatus();
      return BadValue(s, value, "milliseconds from 0 to 3600000 with at most 3 decimals, e.g. 0.5");
    case Kind::kMillis:
    case Kind::kSeconds: return ParseUnsigned(s, value, 1, 1u << 30, "a positive whole number").status();
    case Kind::kRatio: {
      double ratio = -1;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), ratio);
      if (value.empty() || error != std::errc() || end != value.data() + value.size() || !(ratio >= 0 && ratio <= 1)) {
        return BadValue(s, value, "a number from 0 to 1, e.g. 0.01");
      }
      return absl::OkStatus();
    }
    case Kind::kPartitioning:
      if (value != "user_id" && value != "sticky") return BadValue(s, value, "user_id or sticky");
      return absl::OkStatus();
    case Kind::kLevel:
      if (spdlog::level::from_str(std::string(value)) == spdlog::level::off && value != "off") {
        return BadValue(s, value, "one of trace, debug, info, warn, error, critical, off");
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

// What the table cannot say: one setting's default that depends on another.
void Derive(Config& config) {
  if (config.ingestion.burst_per_key == 0) config.ingestion.burst_per_key = config.ingestion.rate_per_key;
}

// A PostgreSQL B-tree entry holds at most about 2.7 kB, and click_events is keyed on event_id: a longer field
// would be acknowledged and then refused by the database, which loses an acknowledged event.
constexpr std::size_t kMaxFieldBytesLimit = 2048;

absl::Status CheckLimits(const Config& config) {
  if (config.ingestion.max_field_bytes > kMaxFieldBytesLimit) {
    return absl::InvalidArgumentError(
        "setting " + std::string(SettingName(config, &config.ingestion.max_field_bytes)) + ": " +
        std::to_string(config.ingestion.max_field_bytes) + " is too large: at most " +
        std::to_string(kMaxFieldBytesLimit) +
        " (event_id is a database index key, and an index entry holds at most about 2.7 kB)");
  }
  return absl::OkStatus();
}

// Settings that only make sense together.
absl::Status CheckTls(const Config& config, Command command) {
  const TlsConfig& tls = config.tls;
  const auto cert = SettingName(config, &tls.cert_file);
  const auto key = SettingName(config, &tls.key_file);
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("settings ", cert, " and ", key, " must be set together (or neither)"));
  }
  if (!tls.client_ca_file.empty() && !tls.Enabled()) {
    return absl::InvalidArgumentError(absl::StrCat("setting ", SettingName(config, &tls.client_ca_file), " needs ",
                                                   cert, " and ", key,
                                                   ": client certificates are only asked for over TLS"));
  }
  if (command == Command::kAll && tls.Enabled() && tls.analytics_ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("with ", cert, " set, `all` serves analytics' gRPC over TLS: set ",
                                                   SettingName(config, &tls.analytics_ca_file),
                                                   " (the CA that signed the certificate) so the gateway can call it"));
  }
  return absl::OkStatus();
}

// A gateway batch beyond analytics' limit would fail every look-up in it: refuse the pair of settings at start-up
// rather than clamp one silently.
absl::Status CheckBatchLimit(const Config& config) {
  if (config.gateway.max_batch <= config.analytics.max_pairs) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("setting ", SettingName(config, &config.gateway.max_batch), " has value '", config.gateway.max_batch,
                   "': expected at most ", SettingName(config, &config.analytics.max_pairs), " (",
                   config.analytics.max_pairs, "), the most pairs analytics accepts in one call"));
}

}  // namespace

absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args, const EnvLookup& env) {
  Invocation invocation;
  std::map<std::string, std::string> flags;  // by environment name
  std::span<const std::string> rest(args);
  if (!rest.empty() && !rest.front().starts_with("-")) {
    auto command = kCommands.find(rest.front());
    if (command == kCommands.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown command '", rest.front(),
                                                     "': expected ingestion, processor, analytics, gateway or all"));
    }
    invocation.command = command->second;
    rest = rest.subspan(1);
  }
  for (std::size_t i = 0; i < rest.size(); ++i) {
    std::string_view arg = rest[i];
    if (arg == "--help" || arg == "-h") {
      invocation.help = true;
      return invocation;
    }
    if (!arg.starts_with("--"))
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", std::string(arg), "'"));
    arg.remove_prefix(2);
    std::string value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    } else if (i + 1 < rest.size()) {
      value = rest[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", std::string(arg), " needs a value"));
    }
    const Setting* setting = FindByFlag(arg);
    if (setting == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", std::string(arg), " (see --help)"));
    }
    flags[setting->env] = std::move(value);
  }

  const void* port_field = PortFieldOf(invocation.config, invocation.command);
  for (const Setting& s : kSettings) {
    std::optional<std::string> value;
    if (auto flag = flags.find(s.env); flag != flags.end()) value = flag->second;
    if (!value) value = env(s.env);
    if (!value && port_field != nullptr && s.field->address(invocation.config) == port_field) value = env("PORT");
    if (!value) value = s.default_value;
    if (auto status = Check(s, *value); !status.ok()) return status;
    s.field->read(invocation.config, *value);
  }
  Derive(invocation.config);
  if (auto status = CheckTls(invocation.config, invocation.command); !status.ok()) return status;
  if (auto status = CheckLimits(invocation.config); !status.ok()) return status;
  if (auto status = CheckBatchLimit(invocation.config); !status.ok()) return status;
  return invocation;
}

const char* SettingName(const Config& config, const void* field) {
  for (const Setting& s : kSettings) {
    if (s.field->address(config) == field) return s.env;
  }
  return "(an unnamed setting)";
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string HelpText() {
  std::string text =
      "Usage: clickstream <command> [--flag=value]...\n\n"
      "Commands:\n"
      "  ingestion   POST /ingest -> Kafka\n"
      "  processor   Kafka -> PostgreSQL and Redis\n"
      "  analytics   gRPC GetEventCount over Redis and PostgreSQL\n"
      "  gateway     GET /analytics/events -> analytics over gRPC\n"
      "  all         the four services in one process (default)\n"
      "  verify      check a running stack counts exactly (options of its own: clickstream verify --help)\n"
      "  reconcile   check counters against their raw events (clickstream reconcile --help)\n"
      "  dead-letters  list and replay the records the processor could not count (clickstream dead-letters --help)\n"
      "  query       one pair's count and how fresh it is (clickstream query --help)\n"
      "  top         pages or event types by clicks (clickstream top --help)\n\n"
      "Settings (flag > environment > default); PORT sets the port of the one service run alone:\n";
  for (const Setting& s : kSettings) {
    absl::StrAppend(&text, "  --", s.flag, " (", s.env, ", default ", s.default_value, ")\n      ", s.help, "\n");
  }
  return text;
}

}  // namespace clickstream::common
