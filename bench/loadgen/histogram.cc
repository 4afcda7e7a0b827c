// Log-linear bucket arithmetic of LatencyHistogram (see histogram.h for the layout).
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace clickstream::loadgen {
namespace {

constexpr int kLinearBits = 8;                                 // values below 2^8 us: one bucket each
constexpr uint64_t kLinearCount = uint64_t{1} << kLinearBits;  // 256
constexpr uint64_t kHalfCount = kLinearCount / 2;              // buckets per power of two above the linear part
constexpr int kTopBit = 25;                                    // highest power of two tracked: values < 2^26 us
constexpr uint64_t kMaxTrackable = (uint64_t{1} << (kTopBit + 1)) - 1;
constexpr std::size_t kBucketCount = kLinearCount + (kTopBit + 1 - kLinearBits) * kHalfCount;

std::size_t BucketOf(uint64_t value) {
  if (value < kLinearCount) return static_cast<std::size_t>(value);
  const int top_bit = 63 - __builtin_clzll(value);  // >= kLinearBits
  const int shift = top_bit - (kLinearBits - 1);    // value >> shift lands in [kHalfCount, kLinearCount)
  return kLinearCount + static_cast<std::size_t>(top_bit - kLinearBits) * kHalfCount +
         static_cast<std::size_t>((value >> shift) - kHalfCount);
}

uint64_t HighestValueIn(std::size_t bucket) {
  if (bucket < kLinearCount) return bucket;
  const uint64_t range = (bucket - kLinearCount) / kHalfCount;  // 0 for [256, 512), 1 for [512, 1024), ...
  const uint64_t sub = (bucket - kLinearCount) % kHalfCount + kHalfCount;
  return ((sub + 1) << (range + 1)) - 1;
}

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBucketCount, 0) {}

void LatencyHistogram::Record(uint64_t micros) {
  max_ = std::max(max_, micros);
  ++buckets_[BucketOf(std::min(micros, kMaxTrackable))];
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(percentile / 100.0 * static_cast<double>(count_));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    // The top bucket also holds the clamped values beyond the range: its highest value is the maximum.
    if (seen >= rank) return i + 1 == kBucketCount ? max_ : std::min(HighestValueIn(i), max_);
  }
  return max_;
}

}  // namespace clickstream::loadgen
