#include "common/metrics.h"

#include <gtest/gtest.h>

namespace clickstream::metrics {
namespace {

TEST(Metrics, RendersCountersWithHelpTypeAndEscapedLabels) {
  Registry registry;
  registry.GetCounter("x_requests_total", "requests", {{"route", "/a\"b\\c\n"}}).Inc(3);
  EXPECT_EQ(registry.Render(),
            "# HELP x_requests_total requests\n# TYPE x_requests_total counter\n"
            "x_requests_total{route=\"/a\\\"b\\\\c\\n\"} 3\n");
}

TEST(Metrics, WritesLabelsInNameOrder) {
  Registry registry;
  registry.GetCounter("r_total", "h", {{"service", "s"}, {"route", "/r"}, {"status", "200"}}).Inc();
  EXPECT_NE(registry.Render().find("r_total{route=\"/r\",service=\"s\",status=\"200\"} 1\n"), std::string::npos)
      << registry.Render();
}

TEST(Metrics, SortsFamiliesByNameWhateverTheirType) {
  Registry registry;
  registry.GetCounter("c_total", "h").Inc();
  registry.GetHistogram("a_seconds", "h", {1}).Observe(0.5);
  registry.AddComputedGauge("b_now", "h", [] { return std::vector<std::pair<Labels, double>>{{{}, 1}}; });
  const std::string text = registry.Render();
  ASSERT_NE(text.find("# TYPE c_total"), std::string::npos) << text;
  EXPECT_LT(text.find("# TYPE a_seconds"), text.find("# TYPE b_now"));
  EXPECT_LT(text.find("# TYPE b_now"), text.find("# TYPE c_total"));
}

TEST(Metrics, SameNameAndLabelsIsTheSameSeries) {
  Registry registry;
  registry.GetCounter("c_total", "h", {{"a", "1"}}).Inc();
  registry.GetCounter("c_total", "h", {{"a", "1"}}).Inc();
  registry.GetCounter("c_total", "h", {{"a", "2"}}).Inc();
  EXPECT_EQ(registry.GetCounter("c_total", "h", {{"a", "1"}}).Value(), 2u);
  EXPECT_NE(registry.Render().find("c_total{a=\"2\"} 1\n"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram& h = registry.GetHistogram("lat_seconds", "latency", {0.1, 1}, {{"op", "get"}});
  h.Observe(0.05);
  h.Observe(0.1);  // on the bound: counted in le="0.1"
  h.Observe(0.5);
  h.Observe(7);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# TYPE lat_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{op=\"get\",le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_sum{op=\"get\"} 7.65\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{op=\"get\"} 4\n"), std::string::npos);
}

TEST(Metrics, ComputedGaugesAreReadAtScrapeTime) {
  Registry registry;
  int64_t lag = 5;
  registry.AddComputedGauge("lag_records", "lag", [&] {
    return std::vector<std::pair<Labels, double>>{{{{"partition", "0"}}, static_cast<double>(lag)}};
  });
  EXPECT_NE(registry.Render().find("lag_records{partition=\"0\"} 5\n"), std::string::npos);
  lag = 2;
  EXPECT_NE(registry.Render().find("lag_records{partition=\"0\"} 2\n"), std::string::npos);
}

TEST(Metrics, ANameKeepsItsType) {
  Registry registry;
  registry.GetCounter("thing", "h");
  EXPECT_THROW(registry.GetGauge("thing", "h"), std::logic_error);
}

TEST(Metrics, AComputedGaugeSharesItsNameWithNoOtherSeries) {
  Registry registry;
  registry.GetGauge("level", "h");
  EXPECT_THROW(registry.AddComputedGauge("level", "h", [] { return std::vector<std::pair<Labels, double>>{}; }),
               std::logic_error);
}

TEST(Metrics, GivenOrOwnFallsBackToAPrivateRegistry) {
  Registry shared;
  std::unique_ptr<Registry> fallback;
  EXPECT_EQ(&GivenOrOwn(&shared, fallback), &shared);
  EXPECT_EQ(fallback, nullptr);
  Registry& own = GivenOrOwn(nullptr, fallback);
  EXPECT_EQ(&own, fallback.get());
}

}  // namespace
}  // namespace clickstream::metrics
