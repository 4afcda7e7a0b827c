// Latency histogram for the load generator: HDR-style log-linear buckets over whole microseconds.
//
// Hand-written because Debian 12 packages no HdrHistogram library (neither C nor C++). The layout is
// HdrHistogram's: values below 256 us get one bucket each; every power-of-two range above that is split into 128
// equal buckets, so a recorded value is known to within 1/128 (< 0.8%) of itself. The range is 0 .. 2^26-1 us
// (about 67 s); larger values are clamped into the top bucket (the exact maximum is kept separately).
//
// Recording is a handful of integer operations and no allocation; each thread records into its own histogram and
// the histograms are merged after the run (no locks, no atomics).
#pragma once

#include <cstdint>
#include <vector>

namespace clickstream::loadgen {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t micros);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  // The highest value equivalent to the one at `percentile` (0 < percentile <= 100), capped at the exact maximum;
  // 0 when nothing was recorded. "Highest equivalent" is HdrHistogram's convention: a percentile is never reported
  // lower than any value it stands for.
  uint64_t ValueAtPercentile(double percentile) const;

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace clickstream::loadgen
