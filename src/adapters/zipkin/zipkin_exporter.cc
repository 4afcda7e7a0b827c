#include "adapters/zipkin/zipkin_exporter.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/match.h"
#include "common/json_text.h"
#include "common/log.h"

namespace clickstream::zipkin {
namespace {

const char* KindName(tracing::SpanKind kind) {
  switch (kind) {
    case tracing::SpanKind::kServer: return "SERVER";
    case tracing::SpanKind::kClient: return "CLIENT";
    case tracing::SpanKind::kProducer: return "PRODUCER";
    case tracing::SpanKind::kConsumer: return "CONSUMER";
    case tracing::SpanKind::kInternal: return nullptr;
  }
  return nullptr;
}

void AppendSpan(std::string& out, const tracing::SpanData& span) {
  out += R"({"traceId":")" + tracing::TraceIdHex(span.context) + R"(","id":")" +
         tracing::SpanIdHex(span.context.span_id) + '"';
  if (span.parent_id != 0) out += R"(,"parentId":")" + tracing::SpanIdHex(span.parent_id) + '"';
  out += R"(,"name":)";
  common::AppendJsonString(out, span.name);
  if (const char* kind = KindName(span.kind)) out += std::string(R"(,"kind":")") + kind + '"';
  out += R"(,"timestamp":)" + std::to_string(span.start_us) + R"(,"duration":)" + std::to_string(span.duration_us);
  out += R"(,"localEndpoint":{"serviceName":)";
  common::AppendJsonString(out, span.service);
  out += '}';
  if (!span.tags.empty()) {
    out += R"(,"tags":{)";
    for (std::size_t i = 0; i < span.tags.size(); ++i) {
      if (i > 0) out += ',';
      common::AppendJsonString(out, span.tags[i].first);
      out += ':';
      common::AppendJsonString(out, span.tags[i].second);
    }
    out += '}';
  }
  out += '}';
}

// libcurl's global state, set up once for the process before any handle exists.
void InitCurlOnce() {
  static const bool initialized = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)initialized;
}

}  // namespace

std::string ZipkinExporter::EncodeJson(const std::vector<tracing::SpanData>& spans) {
  std::string out = "[";
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out += ',';
    AppendSpan(out, spans[i]);
  }
  out += ']';
  return out;
}

absl::StatusOr<std::shared_ptr<ZipkinExporter>> ZipkinExporter::Create(ZipkinOptions options) {
  if (!absl::StartsWith(options.endpoint, "http://") && !absl::StartsWith(options.endpoint, "https://")) {
    return absl::InvalidArgumentError("tracing endpoint '" + options.endpoint +
                                      "' is not an http:// or https:// URL (Zipkin's is "
                                      "http://<host>:9411/api/v2/spans)");
  }
  InitCurlOnce();
  return std::shared_ptr<ZipkinExporter>(new ZipkinExporter(std::move(options)));
}

ZipkinExporter::ZipkinExporter(ZipkinOptions options)
    : options_(std::move(options)),
      exported_(
          Registry().GetCounter("clickstream_tracing_spans_exported_total", "spans the tracing backend accepted")),
      dropped_full_(Dropped("queue_full")),
      dropped_failed_(Dropped("export_failed")),
      thread_([this] { Run(); }) {}

metrics::Registry& ZipkinExporter::Registry() { return metrics::GivenOrOwn(options_.metrics, own_metrics_); }

metrics::Counter& ZipkinExporter::Dropped(const char* reason) {
  return Registry().GetCounter("clickstream_tracing_spans_dropped_total",
                               "spans not exported, by reason: the queue was full or the backend failed",
                               {{"reason", reason}});
}

ZipkinExporter::~ZipkinExporter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ZipkinExporter::Export(tracing::SpanData span) {
  bool full_batch = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_capacity) {
      dropped_full_.Inc();
      return;
    }
    queue_.push_back(std::move(span));
    full_batch = queue_.size() >= options_.batch_max;
  }
  if (full_batch) wake_.notify_one();
}

void ZipkinExporter::Run() {
  std::unique_lock lock(mutex_);
  bool failing = false;
  while (true) {
    wake_.wait_for(lock, options_.flush_interval, [this] { return stopping_ || queue_.size() >= options_.batch_max; });
    // Stopping: what is queued is sent, unless the backend just failed; then waiting a timeout per batch would
    // only hold the shutdown up.
    if (stopping_ && failing) {
      dropped_failed_.Inc(queue_.size());
      queue_.clear();
    }
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    std::vector<tracing::SpanData> batch;
    const std::size_t take = std::min(queue_.size(), options_.batch_max);
    batch.reserve(take);
    for (std::size_t i = 0; i < take; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    failing = !Post(EncodeJson(batch));
    (failing ? dropped_failed_ : exported_).Inc(batch.size());
    lock.lock();
  }
}

bool ZipkinExporter::Post(const std::string& body) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return false;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl.get(), CURLOPT_URL, options_.endpoint.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts in a threaded process
  const CURLcode code = curl_easy_perform(curl.get());
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (code == CURLE_OK && status >= 200 && status < 300) return true;
  // A backend that stays down would log this every flush; once per minute is enough to be seen.
  static std::atomic<int64_t> last_logged_us{0};
  const int64_t now = tracing::WallMicros();
  if (now - last_logged_us.load() > 60'000'000) {
    last_logged_us.store(now);
    common::Logger("tracing")->warn("spans not exported to {}: {}", options_.endpoint,
                                    code != CURLE_OK ? curl_easy_strerror(code) : "HTTP " + std::to_string(status));
  }
  return false;
}

}  // namespace clickstream::zipkin
