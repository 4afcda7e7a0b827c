// One I/O thread of the main load: its share of the connections, its share of the request sequence, and its own
// statistics (merged by main after the run, so the hot path takes no locks).
//
// Thread t of T sends the global requests t, t+T, t+2T, ...; in open loop request g is due at start + g/rate, so
// the threads together keep one exact schedule. A free connection takes the next due request (no pipelining);
// latency counts from the scheduled instant, so time spent queued in the client counts too (no coordinated
// omission). In closed loop a connection sends its next request as soon as its answer arrived.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "answer_json.h"
#include "connection.h"
#include "event_loop.h"
#include "histogram.h"
#include "options.h"
#include "requests.h"
#include "run_control.h"

namespace clickstream::loadgen {

// Answers within the measured window.
struct WindowStats {
  uint64_t requests = 0;
  uint64_t ok = 0;                   // 2xx
  uint64_t late = 0;                 // open loop: due while every connection was busy (window's schedule)
  uint64_t events_acknowledged = 0;  // events answered 200 (batch: accepted results)
  std::vector<uint64_t> by_status = std::vector<uint64_t>(1000, 0);  // [0]: no answer (error, timeout)
  LatencyHistogram latency;

  void Merge(const WindowStats& other);
};

// Per pair over the whole run (warm-up and drain included): what --verify expects to find.
struct PairTally {
  std::vector<uint32_t> acknowledged;  // answered 200 / accepted
  std::vector<uint32_t> uncertain;     // no answer or 5xx: the service may or may not have stored them
  uint64_t events_sent_end = 0;        // 1 + the highest event index sent (pairs below it were used)

  void Merge(const PairTally& other);
};

// Progress for the once-a-second line, copied out under a lock a few times a second.
struct LiveSnapshot {
  Nanos taken_at = 0;
  uint64_t completed = 0;  // all answers and failures since start, warm-up included
  uint64_t ok = 0;
  uint64_t errors = 0;
  uint64_t late = 0;
  uint64_t in_flight = 0;
  uint64_t queued = 0;  // open loop: due but not yet sent
  bool finished = false;
  LatencyHistogram latency;  // measured window so far
};

class LoadWorker final : public ExchangeObserver {
 public:
  LoadWorker(const Options& options, int index, int connections, RunControl& control);

  // The thread's body: connect, wait for the start, run the schedule, drain.
  void Run();

  // After Run() returned:
  const WindowStats& stats() const { return stats_; }
  const PairTally& tally() const { return tally_; }
  uint64_t queued_at_end() const { return queued_at_end_; }
  // When this thread stopped sending: the window's end, Ctrl-C, or the last answer once the requests ran out.
  Nanos finished_at() const { return finished_at_; }

  // Any thread.
  LiveSnapshot Snapshot() const;

  void OnResponse(Connection& connection, const HttpResponse& response, Nanos now) override;
  void OnFailure(Connection& connection, Nanos now) override;

 private:
  struct Slot {
    uint64_t request = 0;    // global request index in flight
    Nanos latency_base = 0;  // scheduled instant (open loop) or send instant (closed loop)
  };

  void PreConnect();
  void StopSending(Nanos now);
  void Housekeeping(Nanos now);
  bool Finished(Nanos now) const;
  void Dispatch(Nanos now);
  void Send(uint32_t slot, uint64_t local, Nanos now);
  void Complete(uint32_t slot, int status, std::string_view body, Nanos now);
  void TallyEvents(uint64_t request, int status, std::string_view body, bool measured);
  void MakeFree(uint32_t slot, Nanos now);
  void ReviveRested(Nanos now);
  void CheckTimeouts(Nanos now);
  void Publish(bool finished);
  Nanos NextWake(Nanos now) const;

  bool open_loop() const { return interval_ns_ > 0; }
  uint64_t GlobalIndex(uint64_t local) const { return static_cast<uint64_t>(index_) + local * threads_; }
  Nanos ScheduledAt(uint64_t local) const;
  uint64_t DueCount(Nanos now) const;  // local requests due at `now`

  const Options& options_;
  const int index_;
  const uint64_t threads_;
  const double interval_ns_;  // open loop: 1e9 / rate; 0 in closed loop
  RunControl& control_;
  RunWindow window_;

  EventLoop loop_;
  RequestRenderer renderer_;
  uint64_t limit_;                                        // local requests available (query --distinct runs out)
  std::vector<std::unique_ptr<Connection>> connections_;  // destroyed before loop_ (declared after it)
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;                       // idle connections, used LIFO (warm caches)
  std::vector<std::pair<Nanos, uint32_t>> resting_;  // after a failure: reconnect no earlier than .first

  uint64_t next_ = 0;         // next local request to send
  uint64_t late_before_ = 0;  // open loop: local requests below this were due while no connection was free
  uint64_t in_flight_ = 0;
  bool sending_ = true;        // until the window ends (or Ctrl-C); then only answers are awaited
  Nanos housekeeping_at_ = 0;  // next timeout check
  Nanos published_at_ = 0;     // last progress snapshot

  WindowStats stats_;
  PairTally tally_;
  BatchAnswer batch_answer_;  // reused between batch answers
  uint64_t completed_ = 0, ok_ = 0, errors_ = 0, late_ = 0;
  uint64_t queued_at_end_ = 0;
  Nanos finished_at_ = 0;
  bool warned_unattributed_ = false;

  mutable std::mutex snapshot_mutex_;
  LiveSnapshot snapshot_;  // guarded by snapshot_mutex_
};

}  // namespace clickstream::loadgen
