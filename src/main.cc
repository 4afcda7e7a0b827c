// clickstream: composition only. Configuration -> the services the command names (src/launch/ composes each) ->
// run until SIGTERM/SIGINT -> stop them in the reverse order.
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cli/dead_letters.h"
#include "cli/post.h"
#include "cli/query.h"
#include "cli/reconcile.h"
#include "cli/tail.h"
#include "cli/top.h"
#include "cli/verify.h"
#include "common/config.h"
#include "common/log.h"
#include "launch/launch.h"

namespace clickstream {
namespace {

using common::Command;
using LaunchFn = absl::StatusOr<std::unique_ptr<launch::RunningService>> (*)(const common::Config&, metrics::Registry&,
                                                                             std::shared_ptr<tracing::SpanSink>);

// Start order follows the data flow backwards, so each service finds what it calls already up; stop order is the
// reverse: ingestion first (no new events), then the gateway, the processor, analytics.
constexpr struct {
  Command command;
  const char* name;
  LaunchFn start;
} kServices[] = {{Command::kAnalytics, "analytics", launch::StartAnalytics},
                 {Command::kProcessor, "processor", launch::StartProcessor},
                 {Command::kGateway, "gateway", launch::StartGateway},
                 {Command::kIngestion, "ingestion", launch::StartIngestion}};

void WaitForStopSignal(const common::Config& config) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  common::Logger("main")->info("signal {} received, draining (grace {} ms)", signal_number,
                               config.shutdown_grace.count());
}

int Run(const common::Invocation& invocation) {
  const common::Config& config = invocation.config;
  const auto log = common::Logger("main");
  // One registry for the process: in `all` each service's /metrics shows every series (they carry labels).
  // Declared before `running`, so it outlives the services that record into it.
  metrics::Registry registry;
  // Shared by the services' tracers, which keep it alive; exports what is queued when the last one goes.
  auto spans = launch::SpanSinkFor(config, registry);
  if (!spans.ok()) {
    log->error("start-up failed: {}", spans.status().message());
    return 1;
  }
  std::vector<std::unique_ptr<launch::RunningService>> running;
  for (const auto& service : kServices) {
    if (invocation.command != Command::kAll && invocation.command != service.command) continue;
    auto started = service.start(config, registry, *spans);
    if (!started.ok()) {
      log->error("start-up failed: {}: {}", service.name, started.status().message());
      for (auto it = running.rbegin(); it != running.rend(); ++it) (*it)->Stop(config.shutdown_grace);
      return 1;
    }
    running.push_back(std::move(*started));
  }
  log->info("clickstream started; stop with SIGTERM or SIGINT");
  WaitForStopSignal(config);
  for (auto it = running.rbegin(); it != running.rend(); ++it) (*it)->Stop(config.shutdown_grace);
  running.clear();
  // The exporter sends what is still queued (or gives up on a failing backend) while logging still works.
  spans->reset();
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
  // Commands that check a running stack take options of their own, not the services' settings.
  if (!args.empty() && args[0] == "verify") return cli::RunVerify({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "reconcile") return cli::RunReconcile({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "dead-letters") return cli::RunDeadLetters({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "top") return cli::RunTop({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "query") return cli::RunQuery({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "post") return cli::RunPost({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "tail") return cli::RunTail({args.begin() + 1, args.end()});
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
