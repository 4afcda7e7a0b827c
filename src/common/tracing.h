// Distributed tracing: W3C Trace Context in and out (the `traceparent` header, a Kafka record header, gRPC
// metadata), spans timed here and handed to a SpanSink (adapters/zipkin exports them in batches, off the request
// path). Written by hand: Debian 12 packages no C++ tracing library (opentelemetry-cpp is not in bookworm), and
// what the services need is small: ids, a sampler and a span record.
//
// Sampling is decided once, where a trace starts (at the configured ratio), and travels with it in the flags of
// `traceparent`; a service continuing a trace follows the flag. A span that is not sampled records nothing, but
// still gets ids, so the context it passes on stays well-formed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clickstream::tracing {

struct TraceContext {
  uint64_t trace_high = 0;  // the 128-bit trace id
  uint64_t trace_low = 0;
  uint64_t span_id = 0;
  bool sampled = false;

  bool valid() const { return (trace_high | trace_low) != 0 && span_id != 0; }
  friend bool operator==(const TraceContext&, const TraceContext&) = default;
};

// "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>". Nullopt when malformed or when an id is all zeros (W3C:
// then the receiver starts a new trace). A future version's longer header is read by its version-00 prefix.
std::optional<TraceContext> ParseTraceparent(std::string_view header);
std::string FormatTraceparent(const TraceContext& context);
std::string TraceIdHex(const TraceContext& context);  // 32 lowercase hex digits
std::string SpanIdHex(uint64_t span_id);              // 16 lowercase hex digits

enum class SpanKind { kInternal, kServer, kClient, kProducer, kConsumer };

// A finished span, as a sink receives it.
struct SpanData {
  std::string service;  // the service that timed it: ingestion, processor, analytics, gateway
  TraceContext context;
  uint64_t parent_id = 0;  // 0: the root of its trace
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_us = 0;  // wall clock, microseconds since the epoch
  int64_t duration_us = 0;
  std::vector<std::pair<std::string, std::string>> tags;  // an "error" tag marks a failed span
};

// Where finished spans go. Export must return at once, whatever the backend does (queue, or drop when full).
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void Export(SpanData span) = 0;
};

// A span being timed; ends (and is exported, when sampled) on End() or when destroyed. Movable, not copyable.
class Span {
 public:
  Span() = default;
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { End(); }

  const TraceContext& context() const { return data_.context; }
  bool recording() const { return sink_ != nullptr; }
  void Tag(std::string_view key, std::string_view value);
  // For names that cost something to build: build them only when recording().
  void SetName(std::string name) { data_.name = std::move(name); }
  void SetError(std::string_view message) { Tag("error", message); }
  void End();

 private:
  friend class Tracer;
  std::shared_ptr<SpanSink> sink_;  // null: not recording
  SpanData data_;
};

struct TracerOptions {
  std::string service;
  double sample_ratio = 0;  // of the traces started here, from 0 to 1
};

// One per service. Thread-safe.
class Tracer {
 public:
  // `sink` null: tracing is off; spans still carry ids (so a traceparent passes through) but record nothing.
  Tracer(TracerOptions options, std::shared_ptr<SpanSink> sink);

  // The span of a request received: continues the trace of `traceparent` when it is valid (its flag decides
  // sampling), else starts a new trace, sampled at the ratio.
  Span StartServer(std::string_view name, std::string_view traceparent) const;
  // A span under `parent`, which may have come from another process.
  Span StartChild(std::string_view name, SpanKind kind, const TraceContext& parent) const;
  // Exports a span timed elsewhere (work done once for several traces, recorded in each, see SpanUnder); dropped
  // unless `span.context.sampled`.
  void Record(SpanData span) const;

  bool enabled() const { return sink_ != nullptr; }
  const std::string& service() const { return options_.service; }

 private:
  Span Start(std::string_view name, SpanKind kind, TraceContext context, uint64_t parent_id) const;

  const TracerOptions options_;
  const std::shared_ptr<SpanSink> sink_;
};

// A message or call leaving this process under `parent`: its span (recording when `tracer` is set and the trace
// sampled) and the traceparent it carries on. Only a sampled trace is carried on, under the span when it records:
// downstream would record nothing of an unsampled one, so `traceparent` is then empty.
struct Outgoing {
  Span span;
  std::string traceparent;
};
Outgoing StartOutgoing(const Tracer* tracer, std::string_view name, SpanKind kind, const TraceContext& parent);

// A span under `parent` with a new id, from `start_us` to `end_us`, for Tracer::Record.
SpanData SpanUnder(const TraceContext& parent, std::string_view name, SpanKind kind, int64_t start_us, int64_t end_us);

// Microseconds since the epoch, the clock spans are stamped with.
int64_t WallMicros();

}  // namespace clickstream::tracing
