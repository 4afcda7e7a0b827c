// Metrics in the Prometheus text exposition format (version 0.0.4), kept by prometheus-cpp's core library
// (Debian's prometheus-cpp-dev 1.0.1): its registry holds the series and its TextSerializer writes what our own
// HTTP servers answer on /metrics (prometheus-cpp's pull library and civetweb are not used). This small facade
// keeps prometheus-cpp's headers out of the files that record metrics. Series are created once (a look-up under a
// lock); hot paths keep the handle they got. One Registry is created by main and passed to whatever records metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace clickstream::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Handles on one series each, valid as long as the Registry that returned them.
class Counter {
 public:
  explicit Counter(prometheus::Counter& counter) : counter_(&counter) {}
  void Inc(uint64_t n = 1);
  uint64_t Value() const;

 private:
  prometheus::Counter* counter_;
};

class Gauge {
 public:
  explicit Gauge(prometheus::Gauge& gauge) : gauge_(&gauge) {}
  void Set(int64_t value);
  void Add(int64_t delta);
  int64_t Value() const;

 private:
  prometheus::Gauge* gauge_;
};

class Histogram {
 public:
  explicit Histogram(prometheus::Histogram& histogram) : histogram_(&histogram) {}
  void Observe(double value);

 private:
  prometheus::Histogram* histogram_;
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

  // The series `name{labels}`, created on first use; the same name must keep its type (std::logic_error
  // otherwise), and its first help text stays.
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                          const Labels& labels = {});
  // A gauge family computed at each scrape: `read` returns its series (labels and value). Called under a lock
  // from the scraping thread; it must be quick and must not touch the registry. Its name is its own: no
  // GetGauge series share it.
  void AddComputedGauge(std::string_view name, std::string_view help,
                        std::function<std::vector<std::pair<Labels, double>>()> read);

  // Every family in the text exposition format, families sorted by name, labels within a series by name.
  std::string Render() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// `given`, or else a private registry created in `fallback`: lets tests build a component without metrics.
Registry& GivenOrOwn(Registry* given, std::unique_ptr<Registry>& fallback);

// Seconds since `start`, for Observe.
double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace clickstream::metrics
