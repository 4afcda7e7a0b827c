#include "common/metrics.h"

#include "absl/strings/str_cat.h"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace clickstream::metrics {
namespace {

// Label values escape backslash, double quote and newline (the exposition format's rule).
void AppendLabels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  auto append = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    for (char c : value) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  };
  for (const auto& [name, value] : labels) append(name, value);
  if (!extra_name.empty()) append(extra_name, extra_value);
  out += '}';
}

std::string FormatNumber(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{}", value);
}

}  // namespace

struct Registry::Family {
  std::string help;
  std::string type;
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Gauge>> gauges;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
  std::vector<std::function<std::vector<std::pair<Labels, double>>()>> computed;
};

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::max(0.0, value) * 1e6), std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = total;
  }
  return counts;
}

double Histogram::Sum() const { return static_cast<double>(sum_micros_.load()) / 1e6; }

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> SizeBuckets() { return {1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000, 100000}; }

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, const char* type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->help = std::string(help);
    family->type = type;
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  if (it->second->type != type) throw std::logic_error("metric " + std::string(name) + " registered twice");
  return *it->second;
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyFor(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyFor(name, help, "gauge").gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                                  const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyFor(name, help, "histogram").histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void Registry::AddComputedGauge(std::string_view name, std::string_view help,
                                std::function<std::vector<std::pair<Labels, double>>()> read) {
  std::lock_guard lock(mutex_);
  FamilyFor(name, help, "gauge").computed.push_back(std::move(read));
}

std::string Registry::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    absl::StrAppend(&out, "# HELP ", name, " ", family->help, "\n# TYPE ", name, " ", family->type, "\n");
    for (const auto& [labels, counter] : family->counters) {
      out += name;
      AppendLabels(out, labels);
      out += " " + std::to_string(counter->Value()) + "\n";
    }
    for (const auto& [labels, gauge] : family->gauges) {
      out += name;
      AppendLabels(out, labels);
      out += " " + std::to_string(gauge->Value()) + "\n";
    }
    for (const auto& read : family->computed) {
      for (const auto& [labels, value] : read()) {
        out += name;
        AppendLabels(out, labels);
        out += " " + FormatNumber(value) + "\n";
      }
    }
    for (const auto& [labels, histogram] : family->histograms) {
      const auto counts = histogram->CumulativeCounts();
      for (std::size_t i = 0; i < counts.size(); ++i) {
        const double bound = i < histogram->bounds().size() ? histogram->bounds()[i] : INFINITY;
        out += name + "_bucket";
        AppendLabels(out, labels, "le", FormatNumber(bound));
        out += " " + std::to_string(counts[i]) + "\n";
      }
      out += name + "_sum";
      AppendLabels(out, labels);
      out += " " + FormatNumber(histogram->Sum()) + "\n";
      out += name + "_count";
      AppendLabels(out, labels);
      out += " " + std::to_string(counts.back()) + "\n";
    }
  }
  return out;
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
