// Parsing and checking of clickstream-loadgen's command line (see options.h).
#include "options.h"

#include <charconv>
#include <cmath>
#include <random>

namespace clickstream::loadgen {
namespace {

constexpr std::string_view kUsage =
    R"(usage: clickstream-loadgen <workload> [options]

HTTP/1.1 keep-alive load generator for the clickstream services (and an nginx ceiling).
Prints one JSON result object on stdout and a progress line per second on stderr.

workloads:
  ingest   POST {url}/ingest, one click event per request (application/json)
  batch    POST {url}/ingest/batch, --batch-size events per request as NDJSON (application/x-ndjson)
  query    GET {url}/analytics/events?user_id=..&page_url=.. over the pair set
  static   GET {url}{--path}, for the nginx ceiling
  fresh    ingest at --rate like `ingest`, plus freshness probes against --gateway

options:
  --url URL            base URL, http only, host an IPv4 address or localhost
                       (default: ingest/batch/fresh http://127.0.0.1:8080, query = --gateway; static: required)
  --gateway URL        gateway base for `fresh` and --verify (default http://127.0.0.1:8081)
  --path PATH          static: path to fetch (default /)
  --connections N      keep-alive connections (default 64)
  --threads N          I/O threads, connections split among them (default 1)
  --rate N|max         open loop at N requests/s, or closed loop as fast as answers come (default max)
  --duration S         measured seconds (default 10; fractions allowed)
  --warmup S           seconds of load before measuring starts (default 0)
  --batch-size N       batch: events per request (default 500)
  --pairs N            distinct (user_id, page_url) pairs used (default 1000)
  --distinct           query: request k uses pair k, once each; the run ends when the pairs run out
  --run-id ID          prefix of generated ids, [A-Za-z0-9._-]{1,64} (default: 8 random hex digits)
  --api-key KEY        sent as X-API-Key
  --verify             ingest/batch/fresh: afterwards query every pair used through --gateway until its count
                       equals the events acknowledged for it; reports counts_exact
  --verify-timeout S   how long --verify waits for the counts (default 30)
  --probe-rate N       fresh: freshness probes per second (default 20)
  --json PATH          also write the result JSON to PATH
  --help               this text

Pair k is user_id "<run-id>-u<k>", page_url "/bench/<run-id>/p<k%97>"; event i uses pair i % pairs and has
event_id "<run-id>-e<i>". Open-loop latency counts from the scheduled send time (no coordinated omission).
Exit status: 0 when the run completed (the JSON carries the verdict, e.g. counts_exact), 1 on a system error
(epoll, sockets), 2 on bad arguments.
)";

bool ParseDouble(std::string_view text, double& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

bool ParseUnsigned(std::string_view text, uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ValidRunId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string RandomRunId() {
  std::random_device device;
  char text[9];
  static constexpr char kHex[] = "0123456789abcdef";
  uint32_t bits = device();
  for (int i = 0; i < 8; ++i, bits >>= 4) text[i] = kHex[bits & 0xf];
  text[8] = '\0';
  return text;
}

bool ParseWorkload(std::string_view name, Workload& out) {
  if (name == "ingest")
    out = Workload::kIngest;
  else if (name == "batch")
    out = Workload::kBatch;
  else if (name == "query")
    out = Workload::kQuery;
  else if (name == "static")
    out = Workload::kStatic;
  else if (name == "fresh")
    out = Workload::kFresh;
  else
    return false;
  return true;
}

// Reads one option's value; returns an error message or "".
class OptionReader {
 public:
  OptionReader(Options& options, std::string& url, std::string& gateway, std::string& seen)
      : o_(options), url_(url), gateway_(gateway), seen_(seen) {}

  std::string Apply(std::string_view name, std::string_view value) {
    seen_ += std::string(name) + " ";
    if (name == "--url") {
      url_ = value;
      return "";
    }
    if (name == "--gateway") {
      gateway_ = value;
      return "";
    }
    if (name == "--path") {
      if (value.empty() || value.front() != '/') return "--path must start with /";
      o_.path = value;
      return "";
    }
    if (name == "--connections") return Count(name, value, 1, 100000, o_.connections);
    if (name == "--threads") return Count(name, value, 1, 256, o_.threads);
    if (name == "--batch-size") return Count(name, value, 1, 100000, o_.batch_size);
    if (name == "--rate") {
      if (value == "max") {
        o_.rate = 0;
        return "";
      }
      if (!ParseDouble(value, o_.rate) || o_.rate <= 0 || o_.rate > 1e8) {
        return "--rate must be max or a number of requests per second > 0, got '" + std::string(value) + "'";
      }
      return "";
    }
    if (name == "--duration") return Seconds(name, value, false, o_.duration_s);
    if (name == "--warmup") return Seconds(name, value, true, o_.warmup_s);
    if (name == "--verify-timeout") return Seconds(name, value, false, o_.verify_timeout_s);
    if (name == "--probe-rate") {
      if (!ParseDouble(value, o_.probe_rate) || o_.probe_rate <= 0 || o_.probe_rate > 10000) {
        return "--probe-rate must be a number of probes per second in (0, 10000], got '" + std::string(value) + "'";
      }
      return "";
    }
    if (name == "--pairs") {
      // query pre-renders one request per pair and thread; ten million is already about 1.5 GB of them.
      if (!ParseUnsigned(value, o_.pairs) || o_.pairs < 1 || o_.pairs > 10'000'000) {
        return "--pairs must be an integer in [1, 10000000], got '" + std::string(value) + "'";
      }
      return "";
    }
    if (name == "--run-id") {
      if (!ValidRunId(value)) {
        return "--run-id must be 1-64 characters of [A-Za-z0-9._-], got '" + std::string(value) + "'";
      }
      o_.run_id = value;
      return "";
    }
    if (name == "--api-key") {
      o_.api_key = value;
      return "";
    }
    if (name == "--json") {
      o_.json_path = value;
      return "";
    }
    return "unknown option " + std::string(name) + " (see --help)";
  }

 private:
  static std::string Count(std::string_view name, std::string_view value, int min, int max, int& out) {
    uint64_t parsed = 0;
    if (!ParseUnsigned(value, parsed) || parsed < static_cast<uint64_t>(min) || parsed > static_cast<uint64_t>(max)) {
      return std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
             "], got '" + std::string(value) + "'";
    }
    out = static_cast<int>(parsed);
    return "";
  }

  static std::string Seconds(std::string_view name, std::string_view value, bool zero_ok, double& out) {
    if (!ParseDouble(value, out) || out < 0 || (!zero_ok && out == 0) || out > 1e6) {
      return std::string(name) + " must be a number of seconds " + (zero_ok ? ">= 0" : "> 0") + ", got '" +
             std::string(value) + "'";
    }
    return "";
  }

  Options& o_;
  std::string& url_;
  std::string& gateway_;
  std::string& seen_;
};

// Options that only make sense for some workloads are refused elsewhere, so a typo'd run never silently differs
// from what was asked.
std::string CheckFit(const Options& o, const std::string& seen) {
  const auto given = [&](std::string_view name) { return seen.find(std::string(name) + " ") != std::string::npos; };
  const auto only = [&](std::string_view name, bool fits, std::string_view where) -> std::string {
    return given(name) && !fits ? std::string(name) + " applies only to " + std::string(where) : "";
  };
  for (const std::string& error : {
           only("--path", o.workload == Workload::kStatic, "static"),
           only("--batch-size", o.workload == Workload::kBatch, "batch"),
           only("--distinct", o.workload == Workload::kQuery, "query"),
           only("--probe-rate", o.workload == Workload::kFresh, "fresh"),
           only("--verify", WritesEvents(o.workload), "ingest, batch and fresh"),
           only("--verify-timeout", WritesEvents(o.workload), "ingest, batch and fresh"),
           only("--pairs", o.workload != Workload::kStatic, "ingest, batch, query and fresh"),
           only("--run-id", o.workload != Workload::kStatic, "ingest, batch, query and fresh"),
       }) {
    if (!error.empty()) return error;
  }
  if (o.threads > o.connections) return "--threads must not exceed --connections";
  return "";
}

}  // namespace

std::string_view Usage() { return kUsage; }

ParsedCommandLine ParseCommandLine(int argc, char** argv) {
  ParsedCommandLine parsed;
  Options& o = parsed.options;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      parsed.help = true;
      return parsed;
    }
  }
  if (argc < 2 || argv[1][0] == '-') {
    parsed.error = "missing workload: one of ingest, batch, query, static, fresh (see --help)";
    return parsed;
  }
  if (!ParseWorkload(argv[1], o.workload)) {
    parsed.error = "unknown workload '" + std::string(argv[1]) + "': expected ingest, batch, query, static or fresh";
    return parsed;
  }
  o.workload_name = argv[1];

  std::string url;
  std::string gateway = "http://127.0.0.1:8081";
  std::string seen;
  OptionReader reader(o, url, gateway, seen);
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--distinct" || arg == "--verify") {
      seen += std::string(arg) + " ";
      (arg == "--distinct" ? o.distinct : o.verify) = true;
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      parsed.error = "unexpected argument '" + std::string(arg) + "' (see --help)";
      return parsed;
    }
    std::string_view name = arg;
    std::string_view value;
    if (const std::size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      parsed.error = std::string(arg) + " needs a value (see --help)";
      return parsed;
    }
    if (std::string error = reader.Apply(name, value); !error.empty()) {
      parsed.error = std::move(error);
      return parsed;
    }
  }
  if (std::string error = CheckFit(o, seen); !error.empty()) {
    parsed.error = std::move(error);
    return parsed;
  }

  if (url.empty()) {
    if (o.workload == Workload::kStatic) {
      parsed.error = "static needs --url (the server to load, e.g. http://127.0.0.1:80)";
      return parsed;
    }
    url = o.workload == Workload::kQuery ? gateway : "http://127.0.0.1:8080";
  }
  if (std::string error = ParseEndpoint(url, o.target); !error.empty()) {
    parsed.error = "--url '" + url + "' " + error;
    return parsed;
  }
  if (std::string error = ParseEndpoint(gateway, o.gateway); !error.empty()) {
    parsed.error = "--gateway '" + gateway + "' " + error;
    return parsed;
  }
  if (o.run_id.empty()) o.run_id = RandomRunId();
  return parsed;
}

}  // namespace clickstream::loadgen
