#include "common/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>

namespace clickstream::metrics {
namespace {

// prometheus-cpp keeps labels in a std::map, so they are written in name order whatever order they were given in.
prometheus::Labels ToPrometheus(const Labels& labels) { return {labels.begin(), labels.end()}; }

// The gauges read at scrape time. prometheus-cpp 1.0.1's Registry takes no Collectable of ours (only its pull
// library's Exposer does), so Render collects this one beside the registry.
class ComputedGauges : public prometheus::Collectable {
 public:
  using Read = std::function<std::vector<std::pair<Labels, double>>()>;

  void Add(std::string_view name, std::string_view help, Read read) {
    std::lock_guard lock(mutex_);
    auto family = families_.find(name);
    if (family == families_.end()) family = families_.emplace(std::string(name), Family{std::string(help), {}}).first;
    family->second.reads.push_back(std::move(read));
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard lock(mutex_);
    std::vector<prometheus::MetricFamily> families;
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) {
      prometheus::MetricFamily& collected = families.emplace_back();
      collected.name = name;
      collected.help = family.help;
      collected.type = prometheus::MetricType::Gauge;
      for (const auto& read : family.reads) {
        for (const auto& [labels, value] : read()) {
          prometheus::ClientMetric& metric = collected.metric.emplace_back();
          for (const auto& [label, label_value] : ToPrometheus(labels)) metric.label.push_back({label, label_value});
          metric.gauge.value = value;
        }
      }
    }
    return families;
  }

 private:
  struct Family {
    std::string help;
    std::vector<Read> reads;  // several readers of one family write their series one after the other
  };
  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

// prometheus-cpp's family of `name` and our handles on its series. Family::Add builds a new metric before it
// looks for the labels (and drops it when they exist), so a repeated Get* is answered from `handles` instead.
template <typename Handle, typename Metric>
struct FamilyHandles {
  prometheus::Family<Metric>* family;
  std::map<Labels, std::unique_ptr<Handle>> handles;
};

template <typename Handle, typename Metric>
using Families = std::map<std::string, FamilyHandles<Handle, Metric>, std::less<>>;

}  // namespace

void Counter::Inc(uint64_t n) { counter_->Increment(static_cast<double>(n)); }
uint64_t Counter::Value() const { return static_cast<uint64_t>(counter_->Value()); }

void Gauge::Set(int64_t value) { gauge_->Set(static_cast<double>(value)); }
void Gauge::Add(int64_t delta) { gauge_->Increment(static_cast<double>(delta)); }
int64_t Gauge::Value() const { return static_cast<int64_t>(gauge_->Value()); }

void Histogram::Observe(double value) { histogram_->Observe(value); }

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> SizeBuckets() { return {1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000, 100000}; }

struct Registry::State {
  // Each family name with its type ("counter", "gauge", "histogram" or "computed gauge"): one name, one family
  // in the exposition, whichever map holds it.
  void Claim(std::string_view name, std::string_view type) {
    auto claimed = types.find(name);
    if (claimed == types.end()) {
      types.emplace(std::string(name), type);
    } else if (claimed->second != type) {
      throw std::logic_error("metric " + std::string(name) + " registered twice, as " + std::string(claimed->second) +
                             " and as " + std::string(type));
    }
  }

  // The handle on `name{labels}`, creating the family with `builder` and the series with `add` on first use.
  template <typename Handle, typename Metric, typename Builder, typename Add>
  Handle& Find(Families<Handle, Metric>& families, std::string_view type, Builder builder, std::string_view name,
               std::string_view help, const Labels& labels, Add add) {
    std::lock_guard lock(mutex);
    auto family = families.find(name);
    if (family == families.end()) {
      Claim(name, type);
      auto& created = builder.Name(std::string(name)).Help(std::string(help)).Register(registry);
      family = families.emplace(std::string(name), FamilyHandles<Handle, Metric>{&created, {}}).first;
    }
    auto& handle = family->second.handles[labels];
    if (!handle) handle = std::make_unique<Handle>(add(*family->second.family, ToPrometheus(labels)));
    return *handle;
  }

  std::mutex mutex;  // over the maps below; prometheus-cpp locks its own registry and families
  std::map<std::string, std::string_view, std::less<>> types;
  prometheus::Registry registry;  // the handles point into it
  Families<Counter, prometheus::Counter> counters;
  Families<Gauge, prometheus::Gauge> gauges;
  Families<Histogram, prometheus::Histogram> histograms;
  ComputedGauges computed;
};

Registry::Registry() : state_(std::make_unique<State>()) {}
Registry::~Registry() = default;

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  return state_->Find(
      state_->counters, "counter", prometheus::BuildCounter(), name, help, labels,
      [](auto& family, const prometheus::Labels& series) -> auto& { return family.Add(series); });
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  return state_->Find(
      state_->gauges, "gauge", prometheus::BuildGauge(), name, help, labels,
      [](auto& family, const prometheus::Labels& series) -> auto& { return family.Add(series); });
}

Histogram& Registry::GetHistogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                                  const Labels& labels) {
  return state_->Find(
      state_->histograms, "histogram", prometheus::BuildHistogram(), name, help,
      labels, [&bounds](auto& family, const prometheus::Labels& series) -> auto& {
        return family.Add(series, bounds);
      });
}

void Registry::AddComputedGauge(std::string_view name, std::string_view help,
                                std::function<std::vector<std::pair<Labels, double>>()> read) {
  {
    std::lock_guard lock(state_->mutex);
    state_->Claim(name, "computed gauge");
  }
  state_->computed.Add(name, help, std::move(read));
}

std::string Registry::Render() const {
  std::vector<prometheus::MetricFamily> families;
  const std::array<const prometheus::Collectable*, 2> sources = {&state_->registry, &state_->computed};
  for (const prometheus::Collectable* source : sources) {
    auto collected = source->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  // prometheus-cpp collects counters, then gauges, then histograms, each in registration order.
  std::sort(families.begin(), families.end(),
            [](const prometheus::MetricFamily& a, const prometheus::MetricFamily& b) { return a.name < b.name; });
  return prometheus::TextSerializer().Serialize(families);
}

Registry& GivenOrOwn(Registry* given, std::unique_ptr<Registry>& fallback) {
  if (given != nullptr) return *given;
  if (!fallback) fallback = std::make_unique<Registry>();
  return *fallback;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace clickstream::metrics
