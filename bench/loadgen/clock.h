// Time for the load generator: one monotonic clock in integer nanoseconds for schedules, deadlines and latencies,
// so every timestamp compares with every other without conversions.
#pragma once

#include <time.h>

#include <cstdint>

namespace clickstream::loadgen {

using Nanos = int64_t;

constexpr Nanos kNanosPerMicro = 1'000;
constexpr Nanos kNanosPerMilli = 1'000'000;
constexpr Nanos kNanosPerSecond = 1'000'000'000;

// CLOCK_MONOTONIC through the vDSO: about 20 ns, cheap enough to read once per response.
inline Nanos NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

inline Nanos SecondsToNanos(double seconds) { return static_cast<Nanos>(seconds * 1e9); }

inline double NanosToMillis(Nanos nanos) { return static_cast<double>(nanos) / 1e6; }

}  // namespace clickstream::loadgen
