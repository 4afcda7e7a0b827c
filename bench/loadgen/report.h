// What a run reports: the result JSON object (stdout and --json) and the once-a-second progress line (stderr).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "count_verifier.h"
#include "load_worker.h"
#include "options.h"
#include "probe_runner.h"

namespace clickstream::loadgen {

struct RunResult {
  double duration_s = 0;  // the measured window (shorter when query --distinct ran out of pairs or on Ctrl-C)
  WindowStats stats;
  uint64_t queued_at_end = 0;            // open loop: due but never sent when the window closed
  uint64_t events_uncertain = 0;         // events without an answer or with a 5xx (whole run)
  const ProbeResults* probes = nullptr;  // fresh only
  std::optional<VerifyReport> verify;    // --verify only
};

// One JSON object, keys in a fixed order:
// {"workload", "rate", "connections", "threads", "duration_s", "requests", "ok", "errors", "errors_by_status",
//  "late", "events_acknowledged", "requests_per_s", "events_per_s", "latency_ms", "freshness_ms",
//  "freshness_resolution_ms", "probes", "probes_failed", "counts_exact", "pairs_checked", "pairs_wrong",
//  "run_id", "pairs", "batch_size", "warmup_s", "queued_at_end", "events_uncertain"}
// Figures count answers that arrived within the measured window; pairs_checked counts the load's pairs and, for
// `fresh`, each probe's own pair. Not applicable is null.
std::string ResultJson(const Options& options, const RunResult& result);

// The progress line's text (without line ending).
struct Progress {
  double elapsed_s = 0;
  bool warming_up = false;
  double requests_per_s = 0;  // over the last interval
  LiveSnapshot totals;
};
std::string ProgressLine(const Progress& progress, bool open_loop);

}  // namespace clickstream::loadgen
