// clickstream-loadgen: HTTP/1.1 keep-alive load generator for the clickstream services and an nginx ceiling.
// Composition only: parse the command line, start the I/O threads (and the probe thread for `fresh`), print
// progress once a second, merge the threads' statistics, verify counts when asked, print the result JSON.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "count_verifier.h"
#include "load_worker.h"
#include "options.h"
#include "probe_runner.h"
#include "report.h"
#include "requests.h"
#include "run_control.h"

namespace clickstream::loadgen {
namespace {

// The one global: a signal handler can reach nothing else. Ctrl-C ends the run early with its results so far;
// a second Ctrl-C (say, during a long --verify) ends the program.
std::atomic<bool>* g_stop_flag = nullptr;

void OnSignal(int signal_number) {
  if (g_stop_flag != nullptr) g_stop_flag->store(true);
  signal(signal_number, SIG_DFL);
}

void InstallSignalHandlers(RunControl& control) {
  g_stop_flag = &control.stop;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // sends use MSG_NOSIGNAL; this covers anything else
}

// Threads get equal shares of the connections; the first ones take the remainder.
int ConnectionsOf(const Options& options, int thread) {
  return options.connections / options.threads + (thread < options.connections % options.threads ? 1 : 0);
}

// Prints a progress line once a second until every worker finished. On a terminal the line is rewritten in place.
// Snapshots are a few hundred milliseconds old at most, so the rate is taken between each worker's own snapshots.
void ReportProgress(const Options& options, const std::vector<std::unique_ptr<LoadWorker>>& workers, Nanos start) {
  const bool tty = isatty(STDERR_FILENO) == 1;
  const Nanos measure_from = start + SecondsToNanos(options.warmup_s);
  std::vector<std::pair<Nanos, uint64_t>> previous(workers.size(), {start, 0});  // (taken_at, completed)
  for (int tick = 1;; ++tick) {
    const Nanos next = start + tick * kNanosPerSecond;
    bool finished = false;
    while (!finished && NowNanos() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      finished = std::all_of(workers.begin(), workers.end(), [](const auto& w) { return w->Snapshot().finished; });
    }
    if (finished) break;
    Progress progress;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      const LiveSnapshot snapshot = workers[i]->Snapshot();
      const Nanos interval = snapshot.taken_at - previous[i].first;
      if (interval > 0) {
        progress.requests_per_s +=
            static_cast<double>(snapshot.completed - previous[i].second) * 1e9 / static_cast<double>(interval);
        previous[i] = {snapshot.taken_at, snapshot.completed};
      }
      progress.totals.completed += snapshot.completed;
      progress.totals.ok += snapshot.ok;
      progress.totals.errors += snapshot.errors;
      progress.totals.late += snapshot.late;
      progress.totals.in_flight += snapshot.in_flight;
      progress.totals.queued += snapshot.queued;
      progress.totals.latency.Merge(snapshot.latency);
    }
    const Nanos now = NowNanos();
    progress.elapsed_s = static_cast<double>(now - start) / 1e9;
    progress.warming_up = now < measure_from;
    const std::string line = ProgressLine(progress, options.rate > 0);
    std::fprintf(stderr, tty ? "\r%s\033[K" : "%s\n", line.c_str());
  }
  if (tty) std::fputc('\n', stderr);
}

// Everything --verify checks: the load's pairs up to the highest event sent, and every probe's own pair.
std::vector<VerifyItem> VerifyItems(const Options& options, const PairTally& tally, const ProbeResults* probes) {
  std::vector<VerifyItem> items;
  const uint64_t used = std::min<uint64_t>(options.pairs, tally.events_sent_end);
  for (uint64_t k = 0; k < used; ++k) {
    items.push_back({LoadPair(options.run_id, k), tally.acknowledged[k], tally.uncertain[k]});
  }
  if (probes != nullptr) {
    for (std::size_t j = 0; j < probes->post_status.size(); ++j) {
      const int status = probes->post_status[j];
      items.push_back({ProbePair(options.run_id, j), Acknowledged(status) ? 1u : 0u, MaybeStored(status) ? 1u : 0u});
    }
  }
  return items;
}

// Waits until every thread has connected (each bounds its own wait), then sets one start instant for all.
Nanos StartTogether(RunControl& control, int threads) {
  while (control.ready.load() < threads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const Nanos start = NowNanos() + kNanosPerMilli;
  control.start.store(start, std::memory_order_release);
  return start;
}

void PrintHeader(const Options& options) {
  char rate[32] = "max";
  if (options.rate > 0) std::snprintf(rate, sizeof rate, "%g/s", options.rate);
  std::fprintf(stderr, "clickstream-loadgen: %s %s, %d connections on %d threads, rate %s, run id %s\n",
               options.workload_name.c_str(), options.target.url.c_str(), options.connections, options.threads, rate,
               options.run_id.c_str());
}

// Merges the threads' window statistics and per-pair tallies; the window is shorter than --duration when every
// thread stopped early (query --distinct ran out of pairs, Ctrl-C).
RunResult MergeResults(const Options& options, const std::vector<std::unique_ptr<LoadWorker>>& workers, Nanos start,
                       PairTally& tally) {
  RunResult result;
  Nanos stopped = 0;
  for (const auto& worker : workers) {
    result.stats.Merge(worker->stats());
    tally.Merge(worker->tally());
    result.queued_at_end += worker->queued_at_end();
    stopped = std::max(stopped, worker->finished_at());
  }
  const Nanos measure_from = start + SecondsToNanos(options.warmup_s);
  result.duration_s = std::max<double>(0, static_cast<double>(stopped - measure_from) / 1e9);
  for (const uint32_t uncertain : tally.uncertain) result.events_uncertain += uncertain;
  return result;
}

void PrintResult(const Options& options, const RunResult& result) {
  const std::string json = ResultJson(options, result);
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
  if (options.json_path.empty()) return;
  std::ofstream file(options.json_path);
  file << json << '\n';
  if (!file) std::fprintf(stderr, "clickstream-loadgen: could not write %s\n", options.json_path.c_str());
}

int Run(const Options& options) {
  RunControl control;
  InstallSignalHandlers(control);

  std::vector<std::unique_ptr<LoadWorker>> workers;
  for (int t = 0; t < options.threads; ++t) {
    workers.push_back(std::make_unique<LoadWorker>(options, t, ConnectionsOf(options, t), control));
  }
  std::unique_ptr<ProbeRunner> probe_runner;
  if (options.workload == Workload::kFresh) probe_runner = std::make_unique<ProbeRunner>(options, control);

  std::vector<std::thread> threads;
  for (auto& worker : workers) threads.emplace_back([&worker] { worker->Run(); });
  if (probe_runner) threads.emplace_back([&probe_runner] { probe_runner->Run(); });
  const Nanos start = StartTogether(control, static_cast<int>(threads.size()));
  PrintHeader(options);
  ReportProgress(options, workers, start);
  for (auto& thread : threads) thread.join();

  PairTally tally;
  RunResult result = MergeResults(options, workers, start, tally);
  if (probe_runner) result.probes = &probe_runner->results();
  if (options.verify) {
    std::fprintf(stderr, "verify: checking counts through %s\n", options.gateway.url.c_str());
    result.verify = VerifyCounts(options, VerifyItems(options, tally, result.probes));
    for (const std::string& example : result.verify->examples) {
      std::fprintf(stderr, "verify: wrong: %s\n", example.c_str());
    }
  }
  // The verdict is in the JSON (counts_exact); a run that measured something exits 0 so that a harness reading
  // the JSON records a wrong count instead of losing the whole result.
  PrintResult(options, result);
  return 0;
}

}  // namespace
}  // namespace clickstream::loadgen

int main(int argc, char** argv) {
  using namespace clickstream::loadgen;
  const ParsedCommandLine parsed = ParseCommandLine(argc, argv);
  if (parsed.help) {
    std::fwrite(Usage().data(), 1, Usage().size(), stdout);
    return 0;
  }
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "clickstream-loadgen: %s\n", parsed.error.c_str());
    return 2;
  }
  return Run(parsed.options);
}
