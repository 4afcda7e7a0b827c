#include "common/tracing.h"

#include <gtest/gtest.h>

#include <set>

#include "support/fakes.h"

namespace clickstream::tracing {
namespace {

using CollectingSink = testing_support::FakeSpanSink;

constexpr char kSampled[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ReadsTheW3CExample) {
  const auto context = ParseTraceparent(kSampled);
  ASSERT_TRUE(context);
  EXPECT_EQ(context->trace_high, 0x4bf92f3577b34da6u);
  EXPECT_EQ(context->trace_low, 0xa3ce929d0e0e4736u);
  EXPECT_EQ(context->span_id, 0x00f067aa0ba902b7u);
  EXPECT_TRUE(context->sampled);
  EXPECT_EQ(FormatTraceparent(*context), kSampled);
  EXPECT_EQ(TraceIdHex(*context), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(SpanIdHex(context->span_id), "00f067aa0ba902b7");
}

TEST(Traceparent, ReadsTheSampledFlagAloneAmongFlags) {
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
  EXPECT_TRUE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")->sampled);
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02")->sampled);
}

TEST(Traceparent, RefusesWhatTheRecommendationSaysToIgnore) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 has nothing after
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",    // separators
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
       }) {
    EXPECT_FALSE(ParseTraceparent(bad)) << bad;
  }
}

TEST(Traceparent, ReadsALaterVersionByItsVersion00Prefix) {
  const auto context = ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more-fields");
  ASSERT_TRUE(context);
  EXPECT_EQ(context->span_id, 0x00f067aa0ba902b7u);
}

TEST(Tracer, ContinuesASampledTraceUnderTheCallersSpan) {
  auto sink = std::make_shared<CollectingSink>();
  const Tracer tracer({"ingestion", 0}, sink);
  Span span = tracer.StartServer("POST /ingest", kSampled);
  ASSERT_TRUE(span.recording());
  const TraceContext context = span.context();
  span.Tag("http.response.status_code", "200");
  span.End();
  span.End();  // once only
  ASSERT_EQ(sink->spans.size(), 1u);
  const SpanData& data = sink->spans[0];
  EXPECT_EQ(TraceIdHex(data.context), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(data.parent_id, 0x00f067aa0ba902b7u);
  EXPECT_NE(data.context.span_id, 0x00f067aa0ba902b7u);
  EXPECT_EQ(data.context, context);
  EXPECT_EQ(data.service, "ingestion");
  EXPECT_EQ(data.kind, SpanKind::kServer);
  EXPECT_GE(data.duration_us, 1);
  EXPECT_EQ(data.tags, (std::vector<std::pair<std::string, std::string>>{{"http.response.status_code", "200"}}));
}

TEST(Tracer, AnUnsampledTraceRecordsNothingButPassesOnItsIds) {
  auto sink = std::make_shared<CollectingSink>();
  const Tracer tracer({"gateway", 1.0}, sink);  // the caller's flag wins over the ratio
  Span span = tracer.StartServer("GET /analytics/events", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  EXPECT_FALSE(span.recording());
  EXPECT_TRUE(span.context().valid());
  EXPECT_EQ(TraceIdHex(span.context()), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(span.context().sampled);
  Span child = tracer.StartChild("send clicks", SpanKind::kProducer, span.context());
  EXPECT_FALSE(child.recording());
  span.End();
  child.End();
  EXPECT_TRUE(sink->spans.empty());
}

TEST(Tracer, StartsNewTracesAtTheRatio) {
  auto sink = std::make_shared<CollectingSink>();
  const Tracer never({"ingestion", 0}, sink);
  const Tracer always({"ingestion", 1}, sink);
  const Tracer tenth({"ingestion", 0.1}, sink);
  std::set<std::string> trace_ids;
  int sampled = 0;
  for (int i = 0; i < 10000; ++i) {
    Span none = never.StartServer("x", "");
    EXPECT_FALSE(none.recording());
    EXPECT_TRUE(none.context().valid());
    trace_ids.insert(TraceIdHex(none.context()));
    EXPECT_TRUE(always.StartServer("x", "garbage").recording());
    sampled += tenth.StartServer("x", "").recording() ? 1 : 0;
  }
  EXPECT_EQ(trace_ids.size(), 10000u);  // every new trace has an id of its own
  EXPECT_GT(sampled, 800);              // 1,000 expected; 5 standard deviations either way
  EXPECT_LT(sampled, 1200);
}

TEST(Tracer, WithoutASinkRecordsNothingAndStillPassesTheTraceOn) {
  const Tracer tracer({"ingestion", 1}, nullptr);
  Span span = tracer.StartServer("POST /ingest", kSampled);
  EXPECT_FALSE(span.recording());
  EXPECT_EQ(TraceIdHex(span.context()), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(span.context().sampled);  // a downstream service that records keeps the caller's decision
}

TEST(Span, EndsWhenDestroyedAndOnlyOnceWhenMoved) {
  auto sink = std::make_shared<CollectingSink>();
  const Tracer tracer({"processor", 1}, sink);
  {
    Span first = tracer.StartServer("a", "");
    Span moved = std::move(first);
    Span assigned;
    assigned = std::move(moved);
  }
  EXPECT_EQ(sink->spans.size(), 1u);
}

TEST(StartOutgoing, CarriesOnlyASampledTraceUnderItsOwnSpanWhenRecording) {
  auto sink = std::make_shared<CollectingSink>();
  const Tracer tracer({"ingestion", 1}, sink);
  const auto sampled = *ParseTraceparent(kSampled);
  Outgoing recorded = StartOutgoing(&tracer, "send clicks", SpanKind::kProducer, sampled);
  ASSERT_TRUE(recorded.span.recording());
  EXPECT_EQ(recorded.traceparent, FormatTraceparent(recorded.span.context()));
  EXPECT_EQ(ParseTraceparent(recorded.traceparent)->trace_low, sampled.trace_low);
  // No tracer here: the caller's context goes on as it came.
  EXPECT_EQ(StartOutgoing(nullptr, "send clicks", SpanKind::kProducer, sampled).traceparent, kSampled);
  const auto unsampled = *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  Outgoing quiet = StartOutgoing(&tracer, "send clicks", SpanKind::kProducer, unsampled);
  EXPECT_FALSE(quiet.span.recording());
  EXPECT_TRUE(quiet.traceparent.empty());
  EXPECT_TRUE(StartOutgoing(&tracer, "x", SpanKind::kClient, TraceContext{}).traceparent.empty());
}

TEST(SpanUnder, RecordsWorkTimedElsewhereInTheParentsTrace) {
  auto sink = std::make_shared<CollectingSink>();
  const Tracer tracer({"processor", 0}, sink);
  const auto parent = *ParseTraceparent(kSampled);
  SpanData span = SpanUnder(parent, "apply batch", SpanKind::kConsumer, 1'000, 4'500);
  EXPECT_EQ(span.parent_id, parent.span_id);
  EXPECT_NE(span.context.span_id, parent.span_id);
  EXPECT_EQ(span.duration_us, 3'500);
  tracer.Record(span);
  SpanData unsampled = SpanUnder(*ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), "x",
                                 SpanKind::kInternal, 0, 1);
  tracer.Record(unsampled);
  ASSERT_EQ(sink->spans.size(), 1u);
  EXPECT_EQ(sink->spans[0].service, "processor");
  EXPECT_EQ(sink->spans[0].name, "apply batch");
}

}  // namespace
}  // namespace clickstream::tracing
