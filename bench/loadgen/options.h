// Command line of clickstream-loadgen: the workload, where to send it and how hard. Parsing checks every value
// and every option's fit with the workload, so a run never starts with a setting it would silently ignore.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "endpoint.h"

namespace clickstream::loadgen {

enum class Workload { kIngest, kBatch, kQuery, kStatic, kFresh };

struct Options {
  Workload workload = Workload::kIngest;
  std::string workload_name;
  Endpoint target;         // --url
  Endpoint gateway;        // --gateway: probes and --verify
  std::string path = "/";  // static only
  int connections = 64;
  int threads = 1;
  double rate = 0;  // requests/s; 0 is "max" (closed loop)
  double duration_s = 10;
  double warmup_s = 0;
  int batch_size = 500;
  uint64_t pairs = 1000;
  bool distinct = false;
  std::string run_id;  // random when not given
  std::string api_key;
  bool verify = false;
  double verify_timeout_s = 30;
  double probe_rate = 20;
  std::string json_path;
};

struct ParsedCommandLine {
  Options options;
  bool help = false;  // --help: print Usage() and exit 0
  std::string error;  // not empty: print it and exit 2
};

ParsedCommandLine ParseCommandLine(int argc, char** argv);

std::string_view Usage();

// ingest, batch and fresh post events (and can be verified); query and static only read.
inline bool WritesEvents(Workload workload) {
  return workload == Workload::kIngest || workload == Workload::kBatch || workload == Workload::kFresh;
}

}  // namespace clickstream::loadgen
