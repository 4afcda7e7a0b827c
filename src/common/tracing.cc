#include "common/tracing.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace clickstream::tracing {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Ids and sampling draws: a generator per thread, seeded once from the system's entropy.
uint64_t RandomWord() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  return generator();
}

uint64_t NonZeroRandom() {
  uint64_t word = 0;
  while (word == 0) word = RandomWord();
  return word;
}

bool Draw(double ratio) {
  if (ratio <= 0) return false;
  if (ratio >= 1) return true;
  return static_cast<double>(RandomWord() >> 11) * 0x1.0p-53 < ratio;
}

// Lowercase hex only: W3C forbids uppercase in version 00.
std::optional<uint64_t> ParseHex(std::string_view text) {
  uint64_t value = 0;
  for (const char c : text) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    value = value << 4 | static_cast<uint64_t>(digit);
  }
  return value;
}

void AppendHex(std::string& out, uint64_t value, int digits) {
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xf];
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  constexpr std::size_t kLength = 55;
  if (header.size() < kLength || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  const auto version = ParseHex(header.substr(0, 2));
  if (!version || *version == 0xff) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may append fields after another '-'.
  if (header.size() != kLength && (*version == 0 || header[kLength] != '-')) return std::nullopt;
  const auto high = ParseHex(header.substr(3, 16));
  const auto low = ParseHex(header.substr(19, 16));
  const auto span = ParseHex(header.substr(36, 16));
  const auto flags = ParseHex(header.substr(53, 2));
  if (!high || !low || !span || !flags) return std::nullopt;
  TraceContext context{*high, *low, *span, (*flags & 1) != 0};
  if (!context.valid()) return std::nullopt;
  return context;
}

std::string FormatTraceparent(const TraceContext& context) {
  std::string out = "00-";
  out.reserve(55);
  AppendHex(out, context.trace_high, 16);
  AppendHex(out, context.trace_low, 16);
  out += '-';
  AppendHex(out, context.span_id, 16);
  out += context.sampled ? "-01" : "-00";
  return out;
}

std::string TraceIdHex(const TraceContext& context) {
  std::string out;
  AppendHex(out, context.trace_high, 16);
  AppendHex(out, context.trace_low, 16);
  return out;
}

std::string SpanIdHex(uint64_t span_id) {
  std::string out;
  AppendHex(out, span_id, 16);
  return out;
}

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Span::Span(Span&& other) noexcept : sink_(std::move(other.sink_)), data_(std::move(other.data_)) {
  other.sink_ = nullptr;
}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    End();
    sink_ = std::move(other.sink_);
    data_ = std::move(other.data_);
    other.sink_ = nullptr;
  }
  return *this;
}

void Span::Tag(std::string_view key, std::string_view value) {
  if (sink_) data_.tags.emplace_back(key, value);
}

void Span::End() {
  if (!sink_) return;
  data_.duration_us = std::max<int64_t>(1, WallMicros() - data_.start_us);  // Zipkin drops a duration of 0
  std::shared_ptr<SpanSink> sink = std::move(sink_);
  sink_ = nullptr;
  sink->Export(std::move(data_));
}

Tracer::Tracer(TracerOptions options, std::shared_ptr<SpanSink> sink)
    : options_(std::move(options)), sink_(std::move(sink)) {}

Span Tracer::StartServer(std::string_view name, std::string_view traceparent) const {
  if (auto incoming = ParseTraceparent(traceparent)) {
    return Start(name, SpanKind::kServer, {incoming->trace_high, incoming->trace_low, 0, incoming->sampled},
                 incoming->span_id);
  }
  return Start(name, SpanKind::kServer, {NonZeroRandom(), NonZeroRandom(), 0, Draw(options_.sample_ratio)}, 0);
}

Span Tracer::StartChild(std::string_view name, SpanKind kind, const TraceContext& parent) const {
  return Start(name, kind, {parent.trace_high, parent.trace_low, 0, parent.sampled}, parent.span_id);
}

Span Tracer::Start(std::string_view name, SpanKind kind, TraceContext context, uint64_t parent_id) const {
  Span span;
  context.span_id = NonZeroRandom();
  span.data_.context = context;
  if (!sink_ || !context.sampled) return span;
  span.sink_ = sink_;
  span.data_.service = options_.service;
  span.data_.parent_id = parent_id;
  span.data_.name = std::string(name);
  span.data_.kind = kind;
  span.data_.start_us = WallMicros();
  return span;
}

Outgoing StartOutgoing(const Tracer* tracer, std::string_view name, SpanKind kind, const TraceContext& parent) {
  Outgoing outgoing;
  if (!parent.valid() || !parent.sampled) return outgoing;
  if (tracer != nullptr) outgoing.span = tracer->StartChild(name, kind, parent);
  outgoing.traceparent = FormatTraceparent(outgoing.span.recording() ? outgoing.span.context() : parent);
  return outgoing;
}

SpanData SpanUnder(const TraceContext& parent, std::string_view name, SpanKind kind, int64_t start_us, int64_t end_us) {
  SpanData span;
  span.context = {parent.trace_high, parent.trace_low, NonZeroRandom(), parent.sampled};
  span.parent_id = parent.span_id;
  span.name = std::string(name);
  span.kind = kind;
  span.start_us = start_us;
  span.duration_us = std::max<int64_t>(1, end_us - start_us);
  return span;
}

void Tracer::Record(SpanData span) const {
  if (!sink_ || !span.context.sampled) return;
  span.service = options_.service;
  sink_->Export(std::move(span));
}

}  // namespace clickstream::tracing
