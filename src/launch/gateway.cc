// Gateway: the gRPC clients of analytics, the service (with its coalescer and deadline timer), the dead-letter and
// aggregate routes, and its HTTP server.
#include <filesystem>
#include <system_error>

#include "adapters/grpc/grpc_count_client.h"
#include "common/log.h"
#include "common/thread_timer.h"
#include "launch/launch.h"
#include "launch/shared.h"
#include "services/common/api_documents.h"
#include "services/common/cors.h"
#include "services/common/static_files.h"
#include "services/gateway/aggregate_routes.h"
#include "services/gateway/dead_letter_routes.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/query_handler.h"

namespace clickstream::launch {
namespace {

// The parts the routes call: the look-ups' service, and the dead-letter and aggregate calls' clients.
struct GatewayParts {
  std::shared_ptr<gateway::GatewayService> service;
  std::shared_ptr<grpc_adapter::GrpcCountClient> dead_letters;
  std::shared_ptr<grpc_adapter::GrpcCountClient> aggregates;
};

// An operator's dead-letter call: a replay publishes every letter it selects and waits for each acknowledgement.
constexpr std::chrono::milliseconds kDeadLetterDeadline{60000};
// A question beyond one counter reads many rows (a ranking, a series): longer than a look-up may take, and bounded
// in analytics by the database's statement timeout anyway.
constexpr std::chrono::milliseconds kAggregateDeadline{10000};

absl::StatusOr<gateway::GatewayOptions> GatewayOptionsFrom(const common::Config& config) {
  gateway::GatewayOptions options;
  options.max_body_bytes = config.gateway.max_body_bytes;
  options.limits = EventLimitsOf(config);
  options.query_deadline = config.gateway.query_deadline;
  options.coalescing.max_batch = config.gateway.max_batch;
  options.coalescing.max_batches_in_flight = config.gateway.batches_in_flight;
  options.coalescing.max_waiting = config.gateway.max_waiting;
  auto keys = LoadKeys("gateway", config, config.gateway.api_keys);
  if (!keys.ok()) return keys.status();
  options.api_keys = std::move(*keys);
  return options;
}

// The dashboard's routes: from the folder the setting names (which must hold a built dashboard), or else from the
// `dashboard` folder beside the executable, where the build writes it; without one, a gateway serves no dashboard
// (a build without Node.js, as the container image's) and says so once.
absl::StatusOr<std::vector<ports::HttpRoute>> DashboardRoutes(const common::Config& config) {
  std::string folder = config.gateway.dashboard_dir;
  if (folder.empty()) {
    std::error_code error;
    const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
    const auto beside = executable.parent_path() / "dashboard";
    if (error || !std::filesystem::exists(beside / "index.html", error)) {
      common::Logger("main")->warn(
          "gateway: no dashboard served: none built beside the executable at {} "
          "(set --dashboard-dir to serve one)",
          beside.string());
      return std::vector<ports::HttpRoute>{};
    }
    folder = beside.string();
  }
  auto files = services::LoadSite(folder);
  if (!files.ok()) return absl::InvalidArgumentError("--dashboard-dir: " + std::string(files.status().message()));
  common::Logger("main")->info("gateway: dashboard of {} files from {} at /dashboard/", files->size(), folder);
  return services::SiteRoutes("/dashboard", *std::move(files));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunningService>> StartGateway(const common::Config& config, metrics::Registry& registry,
                                                             std::shared_ptr<tracing::SpanSink> spans) {
  auto options = GatewayOptionsFrom(config);
  if (!options.ok()) return options.status();
  grpc_adapter::GrpcClientTls tls;
  // The gateway's certificate doubles as its client certificate when analytics asks for one.
  auto status = ReadPems(config, {{&tls.root_ca_pem, config.tls.analytics_ca_file},
                                  {&tls.cert_chain_pem, config.tls.cert_file},
                                  {&tls.private_key_pem, config.tls.key_file}});
  if (!status.ok()) return status;
  auto running = std::make_unique<RunningService>();
  running->tracer = TracerFor(config, "gateway", std::move(spans));
  // Destroying the service waits for the calls still out to analytics, each bounded by its deadline.
  auto service = std::make_shared<gateway::GatewayService>(
      *options,
      std::make_unique<grpc_adapter::GrpcCountClient>(config.gateway.analytics_addr, config.gateway.query_deadline, tls,
                                                      running->tracer.get()),
      std::make_unique<common::ThreadTimer>());
  // The dead-letter calls go on a channel of their own: an operator's replay never queues behind look-ups.
  auto dead_letters =
      std::make_shared<grpc_adapter::GrpcCountClient>(config.gateway.analytics_addr, kDeadLetterDeadline, tls);
  // A replay writes to the event log: it may take keys of its own, not those handed out to read counts.
  auto admin_keys = config.gateway.admin_api_keys.empty() ? absl::StatusOr<std::vector<std::string>>(options->api_keys)
                                                          : LoadKeys("gateway", config, config.gateway.admin_api_keys);
  if (!admin_keys.ok()) return admin_keys.status();
  auto cors = services::ParseCorsOrigins("--query-cors-origins", config.gateway.cors_origins);
  if (!cors.ok()) return cors.status();
  auto routes = gateway::QueryRoutes(*service);
  // The aggregate calls too, so that a dashboard's questions never queue behind look-ups nor delay them.
  auto aggregates = std::make_shared<grpc_adapter::GrpcCountClient>(config.gateway.analytics_addr, kAggregateDeadline,
                                                                    tls, running->tracer.get());
  for (auto& route : gateway::AggregateRoutes(*aggregates, {options->api_keys, kAggregateDeadline, options->limits})) {
    routes.push_back(std::move(route));
  }
  // Pages elsewhere may ask the questions, but not replay dead letters; the dashboard is served from here.
  routes = services::WithCors(std::move(routes), *cors);
  for (auto& route : gateway::DeadLetterRoutes(*dead_letters, {*std::move(admin_keys), kDeadLetterDeadline})) {
    routes.push_back(std::move(route));
  }
  routes.push_back(services::FileRoute(
      "/openapi.json", {"openapi.json", "application/json", std::string(services::GatewayApiDocument())}));
  auto dashboard = DashboardRoutes(config);
  if (!dashboard.ok()) return dashboard.status();
  for (auto& route : *dashboard) routes.push_back(std::move(route));
  running->parts = std::make_shared<GatewayParts>(GatewayParts{service, dead_letters, aggregates});
  running->probe = std::make_unique<services::ReadinessProbe>(
      "gateway", [s = service.get()] { return s->CheckReady(); }, kProbeInterval);
  auto server = Serve(config, "gateway", config.gateway.port, config.gateway.max_body_bytes, std::move(routes),
                      *running->probe, registry, Exposure::kPublic, running->tracer.get());
  if (!server.ok()) return server.status();
  running->server = std::move(*server);
  // Look-ups in flight are answered by their deadline (at most the query deadline from now).
  running->drain = [server = running->server.get()](std::chrono::milliseconds grace) { server->WaitIdle(grace); };
  return running;
}

}  // namespace clickstream::launch
