// Freshness probes of the `fresh` workload, on their own thread beside the ingest load: probe j posts one event
// for a pair nobody else writes, and once that is acknowledged (200) polls the gateway for the pair every 2 ms
// until the count reaches 1. Freshness is the time from the acknowledgement to the first answer showing it, so it
// includes one poll's round trip and has the poll interval as its resolution.
//
// Probes use their own connections (a pool to --url and one to --gateway, grown as probes overlap), so a probe
// never waits behind the load's queue: it measures the pipeline, not the client.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connection.h"
#include "event_loop.h"
#include "histogram.h"
#include "options.h"
#include "run_control.h"

namespace clickstream::loadgen {

constexpr Nanos kProbePollInterval = 2 * kNanosPerMilli;
constexpr Nanos kProbeTimeout = 10 * kNanosPerSecond;  // from the acknowledgement to count >= 1

struct ProbeResults {
  LatencyHistogram freshness;    // microseconds, probes scheduled within the measured window
  uint64_t probes = 0;           // scheduled within the measured window
  uint64_t failed = 0;           // of those: ingest not answered 200, or not visible within kProbeTimeout
  std::vector<int> post_status;  // every probe j launched: the status its ingest got (0: none), for --verify
};

class ProbeRunner final : public ExchangeObserver {
 public:
  ProbeRunner(const Options& options, RunControl& control);

  // The thread's body: launch probes at --probe-rate until the window ends, then let the last ones finish.
  void Run();

  const ProbeResults& results() const { return results_; }  // after Run()

  void OnResponse(Connection& connection, const HttpResponse& response, Nanos now) override;
  void OnFailure(Connection& connection, Nanos now) override;

 private:
  enum class Phase { kPosting, kWaiting, kPolling, kDone };
  struct Probe {
    Phase phase = Phase::kPosting;
    bool measured = false;
    Nanos acked_at = 0;
    Nanos next_poll = 0;
    std::string post;  // the ingest request, then freed
    std::string poll;  // the count query
  };
  struct Pooled {
    std::unique_ptr<Connection> connection;
    bool to_gateway = false;
    uint64_t probe = 0;  // the probe whose exchange is in flight
  };

  void Launch(uint64_t j, Nanos scheduled, Nanos now);
  void Poll(uint64_t j, Nanos now);
  void PollDue(Nanos now);
  void Finish(uint64_t j, bool fresh, Nanos now);
  uint32_t Acquire(bool to_gateway);
  void Release(uint32_t tag);
  Nanos NextWake(Nanos now, Nanos next_launch) const;

  const Options& options_;
  RunControl& control_;
  RunWindow window_;
  EventLoop loop_;
  std::vector<Pooled> pool_;  // destroyed before loop_ (declared after it)
  std::vector<uint32_t> free_ingest_;
  std::vector<uint32_t> free_gateway_;
  std::vector<Probe> probes_;     // index j
  std::vector<uint64_t> active_;  // probes not yet done
  ProbeResults results_;
};

}  // namespace clickstream::loadgen
