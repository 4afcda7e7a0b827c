// Result JSON and progress line (see report.h).
#include "report.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace clickstream::loadgen {
namespace {

void AppendFormat(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));

void AppendFormat(std::string& out, const char* format, ...) {
  char buffer[256];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  if (n > 0) out.append(buffer, static_cast<std::size_t>(std::min<int>(n, sizeof buffer - 1)));
}

double Millis(uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

void AppendPercentiles(std::string& out, const LatencyHistogram& histogram, bool with_p90) {
  AppendFormat(out, "{\"p50\": %.3f, ", Millis(histogram.ValueAtPercentile(50)));
  if (with_p90) AppendFormat(out, "\"p90\": %.3f, ", Millis(histogram.ValueAtPercentile(90)));
  AppendFormat(out, "\"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f}", Millis(histogram.ValueAtPercentile(99)),
               Millis(histogram.ValueAtPercentile(99.9)), Millis(histogram.max()));
}

// Run ids are [A-Za-z0-9._-] (options.cc), so they need no escaping.
void AppendKey(std::string& out, const char* key) { AppendFormat(out, ", \"%s\": ", key); }

}  // namespace

std::string ResultJson(const Options& options, const RunResult& result) {
  const WindowStats& s = result.stats;
  const double seconds = result.duration_s > 0 ? result.duration_s : 1;  // avoid 0/0 on an empty window
  const bool writes = WritesEvents(options.workload);
  std::string out;
  out.reserve(1024);
  AppendFormat(out, "{\"workload\": \"%s\"", options.workload_name.c_str());
  AppendKey(out, "rate");
  if (options.rate > 0)
    AppendFormat(out, "%g", options.rate);
  else
    out += "\"max\"";
  AppendFormat(out, ", \"connections\": %d, \"threads\": %d, \"duration_s\": %.3f", options.connections,
               options.threads, result.duration_s);
  AppendFormat(out, ", \"requests\": %llu, \"ok\": %llu, \"errors\": %llu", static_cast<unsigned long long>(s.requests),
               static_cast<unsigned long long>(s.ok), static_cast<unsigned long long>(s.requests - s.ok));
  AppendKey(out, "errors_by_status");
  out += "{";
  bool first = true;
  for (std::size_t status = 0; status < s.by_status.size(); ++status) {
    if (s.by_status[status] == 0 || (status >= 200 && status < 300)) continue;
    AppendFormat(out, "%s\"%zu\": %llu", first ? "" : ", ", status,
                 static_cast<unsigned long long>(s.by_status[status]));
    first = false;
  }
  out += "}";
  AppendFormat(out, ", \"late\": %llu, \"events_acknowledged\": %llu", static_cast<unsigned long long>(s.late),
               static_cast<unsigned long long>(writes ? s.events_acknowledged : 0));
  const uint64_t events = writes ? s.events_acknowledged : s.ok;
  AppendFormat(out, ", \"requests_per_s\": %.1f, \"events_per_s\": %.1f", static_cast<double>(s.requests) / seconds,
               static_cast<double>(events) / seconds);
  AppendKey(out, "latency_ms");
  AppendPercentiles(out, s.latency, true);

  AppendKey(out, "freshness_ms");
  if (result.probes) {
    if (result.probes->freshness.count() > 0)
      AppendPercentiles(out, result.probes->freshness, false);
    else
      out += "null";  // no probe became visible: there is no freshness to report
    AppendFormat(out, ", \"freshness_resolution_ms\": %.0f", NanosToMillis(kProbePollInterval));
    AppendFormat(out, ", \"probes\": %llu, \"probes_failed\": %llu",
                 static_cast<unsigned long long>(result.probes->probes),
                 static_cast<unsigned long long>(result.probes->failed));
  } else {
    out += "null, \"freshness_resolution_ms\": null, \"probes\": null, \"probes_failed\": null";
  }

  if (result.verify) {
    AppendFormat(out, ", \"counts_exact\": %s, \"pairs_checked\": %llu, \"pairs_wrong\": %llu",
                 result.verify->wrong == 0 ? "true" : "false", static_cast<unsigned long long>(result.verify->checked),
                 static_cast<unsigned long long>(result.verify->wrong));
  } else {
    out += ", \"counts_exact\": null, \"pairs_checked\": null, \"pairs_wrong\": null";
  }

  if (options.workload == Workload::kStatic) {
    out += ", \"run_id\": null, \"pairs\": null";
  } else {
    AppendFormat(out, ", \"run_id\": \"%s\", \"pairs\": %llu", options.run_id.c_str(),
                 static_cast<unsigned long long>(options.pairs));
  }
  AppendKey(out, "batch_size");
  if (options.workload == Workload::kBatch)
    AppendFormat(out, "%d", options.batch_size);
  else
    out += "null";
  AppendFormat(out, ", \"warmup_s\": %.3f, \"queued_at_end\": %llu", options.warmup_s,
               static_cast<unsigned long long>(result.queued_at_end));
  AppendKey(out, "events_uncertain");
  if (writes)
    AppendFormat(out, "%llu", static_cast<unsigned long long>(result.events_uncertain));
  else
    out += "null";
  out += "}";
  return out;
}

std::string ProgressLine(const Progress& progress, bool open_loop) {
  const LiveSnapshot& t = progress.totals;
  std::string line;
  AppendFormat(line, "%s%6.1fs %9.0f req/s  ok %llu  errors %llu  p99 ", progress.warming_up ? "warmup " : "",
               progress.elapsed_s, progress.requests_per_s, static_cast<unsigned long long>(t.ok),
               static_cast<unsigned long long>(t.errors));
  if (t.latency.count() > 0)
    AppendFormat(line, "%.3f ms", Millis(t.latency.ValueAtPercentile(99)));
  else
    line += "-";
  AppendFormat(line, "  in-flight %llu", static_cast<unsigned long long>(t.in_flight));
  if (open_loop) {
    AppendFormat(line, "  queued %llu  late %llu", static_cast<unsigned long long>(t.queued),
                 static_cast<unsigned long long>(t.late));
  }
  return line;
}

}  // namespace clickstream::loadgen
