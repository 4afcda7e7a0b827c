// Metrics in the Prometheus text exposition format (version 0.0.4). Debian ships no Prometheus client library for
// C++, so this is a small one of our own: counters, gauges, histograms with fixed buckets, and gauges computed at
// scrape time. Series are created once (a map look-up under a lock) and updated lock-free; hot paths keep the
// reference they got. One Registry is created by main and passed to whatever records metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clickstream::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void Add(int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // Cumulative counts per bucket (the last is +Inf), the sum and the count, as exposed.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const;

  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<uint64_t> sum_micros_{0};               // the sum in millionths, so it can be atomic
};

// Buckets for latencies in seconds, 0.1 ms .. 10 s.
std::vector<double> LatencyBuckets();
// Buckets for sizes (records per batch), 1 .. 100,000.
std::vector<double> SizeBuckets();

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series `name{labels}`, created on first use; the same name must keep its type and help.
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                          const Labels& labels = {});
  // A gauge family computed at each scrape: `read` returns its series (labels and value). Called under the
  // registry's lock from the scraping thread; it must be quick and must not touch the registry.
  void AddComputedGauge(std::string_view name, std::string_view help,
                        std::function<std::vector<std::pair<Labels, double>>()> read);

  // Every family in the text exposition format, families sorted by name.
  std::string Render() const;

 private:
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

// `given`, or else a private registry created in `fallback`: lets tests build a component without metrics.
Registry& GivenOrOwn(Registry* given, std::unique_ptr<Registry>& fallback);

// Seconds since `start`, for Observe.
double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace clickstream::metrics
