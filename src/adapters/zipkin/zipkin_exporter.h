// Tracing backend adapter: sends finished spans to Zipkin's v2 JSON API (POST /api/v2/spans), which Jaeger's
// collector and the OpenTelemetry Collector's zipkin receiver accept too. Spans wait in a bounded queue and go in
// batches from a thread of the exporter's own: a request never waits for the backend, and a backend that is down,
// slow or refusing costs dropped spans (counted), never a failed or slower request.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "common/tracing.h"

namespace clickstream::zipkin {

struct ZipkinOptions {
  std::string endpoint;                           // e.g. http://127.0.0.1:9411/api/v2/spans
  std::size_t queue_capacity = 10000;             // spans; beyond it new ones are dropped
  std::size_t batch_max = 500;                    // spans per POST
  std::chrono::milliseconds flush_interval{500};  // longest a span waits for its batch
  std::chrono::milliseconds timeout{2000};        // per POST, connecting included
  metrics::Registry* metrics = nullptr;  // exported and dropped spans go here when set; must outlive the exporter
};

class ZipkinExporter final : public tracing::SpanSink {
 public:
  // Fails if the endpoint is not an http:// or https:// URL.
  static absl::StatusOr<std::shared_ptr<ZipkinExporter>> Create(ZipkinOptions options);
  // Sends what is queued (each POST bounded by the timeout), then stops.
  ~ZipkinExporter() override;

  void Export(tracing::SpanData span) override;

  // Zipkin's v2 JSON for `spans`: a JSON array of span objects.
  static std::string EncodeJson(const std::vector<tracing::SpanData>& spans);

 private:
  explicit ZipkinExporter(ZipkinOptions options);
  metrics::Registry& Registry();  // the options' registry, or one of its own
  metrics::Counter& Dropped(const char* reason);
  void Run();
  bool Post(const std::string& body);

  const ZipkinOptions options_;
  std::unique_ptr<metrics::Registry> own_metrics_;
  metrics::Counter& exported_;
  metrics::Counter& dropped_full_;
  metrics::Counter& dropped_failed_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<tracing::SpanData> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: started after everything it uses
};

}  // namespace clickstream::zipkin
