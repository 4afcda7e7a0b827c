#include "launch/shared.h"

#include "adapters/zipkin/zipkin_exporter.h"
#include "common/files.h"
#include "common/log.h"
#include "services/common/access.h"
#include "services/common/http_answers.h"

namespace clickstream::launch {

using common::Config;

absl::StatusOr<std::unique_ptr<http::HttpServer>> Serve(const Config& config, const std::string& name, uint16_t port,
                                                        std::size_t max_body_bytes,
                                                        std::vector<ports::HttpRoute> routes,
                                                        const services::ReadinessProbe& probe,
                                                        metrics::Registry& registry, Exposure exposure,
                                                        const tracing::Tracer* tracer) {
  for (auto& route : services::OperationsRoutes(probe, registry)) routes.push_back(std::move(route));
  http::HttpServerOptions options;
  options.name = name;
  options.address = config.bind_address;
  options.port = port;
  options.threads = config.http_threads;
  options.read_timeout = config.http_read_timeout;
  options.max_header_bytes = config.http_max_header_bytes;
  options.max_headers = config.http_max_headers;
  options.max_connections = config.http_max_connections;
  options.max_body_bytes = max_body_bytes;
  options.metrics = &registry;
  options.tracer = tracer;
  if (exposure == Exposure::kPublic && config.tls.Enabled()) {
    auto status = ReadPems(config, {{&options.tls_cert_chain_pem, config.tls.cert_file},
                                    {&options.tls_private_key_pem, config.tls.key_file}});
    if (!status.ok()) return status;
  }
  return http::HttpServer::Start(options, std::move(routes));
}

std::shared_ptr<const tracing::Tracer> TracerFor(const Config& config, const char* service,
                                                 std::shared_ptr<tracing::SpanSink> spans) {
  return std::make_shared<const tracing::Tracer>(tracing::TracerOptions{service, config.tracing.sample_ratio},
                                                 std::move(spans));
}

absl::StatusOr<std::shared_ptr<tracing::SpanSink>> SpanSinkFor(const Config& config, metrics::Registry& registry) {
  if (config.tracing.zipkin_url.empty()) return nullptr;
  zipkin::ZipkinOptions options;
  options.endpoint = config.tracing.zipkin_url;
  options.metrics = &registry;
  auto exporter = zipkin::ZipkinExporter::Create(options);
  if (!exporter.ok()) {
    return absl::InvalidArgumentError(std::string(common::SettingName(config, &config.tracing.zipkin_url)) + ": " +
                                      std::string(exporter.status().message()));
  }
  common::Logger("main")->info("tracing: spans to {}, {} of new traces sampled", options.endpoint,
                               config.tracing.sample_ratio);
  return std::shared_ptr<tracing::SpanSink>(std::move(*exporter));
}

absl::Status ReadPems(const Config& config, std::initializer_list<PemFile> files) {
  for (const PemFile& file : files) {
    file.text->clear();
    if (file.path.empty()) continue;
    const std::string setting(common::SettingName(config, &file.path));
    auto text = common::ReadWholeFile(file.path, setting.c_str());
    if (!text.ok()) return text.status();
    if (text->find("-----BEGIN ") == std::string::npos) {
      return absl::InvalidArgumentError(setting + ": " + file.path + " holds no PEM block");
    }
    *file.text = std::move(*text);
  }
  return absl::OkStatus();
}

redis::RedisOptions CacheOptions(const Config& config, metrics::Registry& registry) {
  redis::RedisOptions options;
  options.address = config.redis_addr;
  options.timeout = config.redis_timeout;
  options.ttl = config.cache_ttl;
  options.metrics = &registry;
  return options;
}

absl::StatusOr<std::vector<std::string>> LoadKeys(const char* service, const Config& config,
                                                  const std::string& keys_setting) {
  const std::string setting(common::SettingName(config, &keys_setting));
  auto keys = services::LoadApiKeys(keys_setting);
  if (!keys.ok()) return absl::InvalidArgumentError(setting + ": " + std::string(keys.status().message()));
  if (keys->empty()) {
    common::Logger("main")->info("{}: no API key required ({} is empty)", service, setting);
  } else {
    common::Logger("main")->info("{}: API key required, {} key(s) configured", service, keys->size());
  }
  return keys;
}

domain::EventLimits EventLimitsOf(const Config& config) {
  domain::EventLimits limits;
  limits.max_field_bytes = config.ingestion.max_field_bytes;
  limits.max_age = config.ingestion.event_max_age;
  limits.max_skew = config.ingestion.event_max_skew;
  limits.late_after = config.ingestion.event_late_after;
  return limits;
}

}  // namespace clickstream::launch
