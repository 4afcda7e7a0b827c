// What the threads of one run share: a start line (every thread connects first, then all start on the same
// instant, so open-loop schedules interleave exactly), the measured window derived from it, and a stop flag for
// Ctrl-C. Written by main, read by the workers; nothing else crosses threads during a run except progress
// snapshots (LoadWorker::Snapshot).
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "clock.h"
#include "options.h"

namespace clickstream::loadgen {

// Every request's deadline (connection errors and timeouts count with status 0).
constexpr Nanos kRequestTimeout = 5 * kNanosPerSecond;

struct RunControl {
  std::atomic<int> ready{0};      // threads that finished connecting
  std::atomic<Nanos> start{0};    // 0 until main sets the common start instant
  std::atomic<bool> stop{false};  // Ctrl-C: stop sending, finish as if the duration were over
};

struct RunWindow {
  Nanos start = 0;         // load begins (warm-up included)
  Nanos measure_from = 0;  // start + warm-up
  Nanos end = 0;           // measure_from + duration: no new requests from here on

  bool Measures(Nanos t) const { return t >= measure_from && t < end; }
};

// Blocks until main publishes the start instant and it arrives; returns the run's window.
inline RunWindow AwaitStart(RunControl& control, const Options& options) {
  Nanos start;
  while ((start = control.start.load(std::memory_order_acquire)) == 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  while (NowNanos() < start) std::this_thread::sleep_for(std::chrono::microseconds(50));
  RunWindow window;
  window.start = start;
  window.measure_from = start + SecondsToNanos(options.warmup_s);
  window.end = window.measure_from + SecondsToNanos(options.duration_s);
  return window;
}

}  // namespace clickstream::loadgen
