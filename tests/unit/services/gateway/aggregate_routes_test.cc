#include "services/gateway/aggregate_routes.h"

#include <gtest/gtest.h>

namespace clickstream::gateway {
namespace {

// Answers every call at once with what it holds, recording the questions it was asked.
class FakeAggregateClient final : public ports::AggregateClient {
 public:
  void TopPages(const domain::RankQuery& query, Deadline, Done<domain::PageRanking> done) override {
    rank_queries.push_back(query);
    done(ranking);
  }
  void EventTypeCounts(std::size_t limit, Deadline, Done<domain::EventTypeRanking> done) override {
    type_limits.push_back(limit);
    done(types);
  }
  void ClicksOverTime(const domain::SeriesQuery& query, Deadline, Done<domain::ClickSeries> done) override {
    series_queries.push_back(query);
    done(series);
  }
  std::size_t Calls() const { return rank_queries.size() + type_limits.size() + series_queries.size(); }

  std::vector<domain::RankQuery> rank_queries;
  std::vector<std::size_t> type_limits;
  std::vector<domain::SeriesQuery> series_queries;
  absl::StatusOr<domain::PageRanking> ranking = domain::PageRanking{};
  absl::StatusOr<domain::EventTypeRanking> types = domain::EventTypeRanking{};
  absl::StatusOr<domain::ClickSeries> series = domain::ClickSeries{};
};

// Nothing applied yet: every value unknown.
constexpr const char* kUnknownFreshness =
    R"("freshness":{"source":"database","position":null,"newest_event_time":null,"age_ms":null,"lag":null})";

domain::Freshness KnownFreshness() {
  domain::Freshness freshness;
  freshness.position = *domain::ParsePositionToken("0-17.1-4");
  freshness.newest_event_time_us = 1'552'194'000'000'000;
  freshness.age_ms = 12;
  freshness.lag = 3;
  return freshness;
}
constexpr const char* kKnownFreshness =
    R"("freshness":{"source":"database","position":"0-17.1-4","newest_event_time":"2019-03-10T05:00:00Z",)"
    R"("age_ms":12,"lag":3})";

class AggregateRoutesTest : public testing::Test {
 protected:
  ports::HttpResponse Call(const std::string& path, std::map<std::string, std::string> query,
                           std::vector<std::string> keys = {}, std::string presented_key = "") {
    auto routes = AggregateRoutes(client_, {std::move(keys), std::chrono::milliseconds(1000), {}});
    ports::HttpResponse answer{-1, "", "", {}};
    for (auto& route : routes) {
      if (route.path != path) continue;
      EXPECT_EQ(route.method, "GET");
      ports::HttpRequest request{"GET", route.path, std::move(query), "", "", presented_key, ""};
      route.handler(request, [&](ports::HttpResponse r) { answer = std::move(r); });
    }
    return answer;
  }

  FakeAggregateClient client_;
};

TEST_F(AggregateRoutesTest, TopPagesAcrossUsersComeWithTheirUsersAndTheNextPage) {
  client_.ranking = domain::PageRanking{{{"/a \"quoted\"", 12, 5}, {"/b", 7, 7}}, "7.00ff", KnownFreshness()};
  auto answer = Call("/analytics/top-pages", {{"limit", "2"}, {"after", "12.00aa"}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body, std::string(R"({"user_id":null,"pages":[{"page_url":"/a \"quoted\"","clicks":12,"users":5},)"
                                     R"({"page_url":"/b","clicks":7,"users":7}],"next":"7.00ff",)") +
                             kKnownFreshness + "}");
  ASSERT_EQ(client_.rank_queries.size(), 1u);
  EXPECT_EQ(client_.rank_queries[0].user_id, "");
  EXPECT_EQ(client_.rank_queries[0].limit, 2u);
  EXPECT_EQ(client_.rank_queries[0].after, "12.00aa");
}

TEST_F(AggregateRoutesTest, AUsersTopPagesHaveNoUsersFieldAndTheLastPageNoNext) {
  client_.ranking = domain::PageRanking{{{"/home", 3, -1}}, "", {}};
  auto answer = Call("/analytics/top-pages", {{"user_id", "ü-42"}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body, std::string(R"({"user_id":"ü-42","pages":[{"page_url":"/home","clicks":3}],"next":null,)") +
                             kUnknownFreshness + "}");
  EXPECT_EQ(client_.rank_queries.at(0).limit, 10u);  // the default
}

TEST_F(AggregateRoutesTest, EventTypesComeMostClickedFirst) {
  client_.types = domain::EventTypeRanking{{{"click", 40}, {"view", 2}}, KnownFreshness()};
  auto answer = Call("/analytics/event-types", {{"limit", "1000"}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body,
            std::string(R"({"event_types":[{"event_type":"click","clicks":40},{"event_type":"view","clicks":2}],)") +
                kKnownFreshness + "}");
  EXPECT_EQ(client_.type_limits, (std::vector<std::size_t>{1000}));
}

TEST_F(AggregateRoutesTest, ClicksOverTimeAnswersEveryBucketWithItsStartAndTheTotal) {
  client_.series = domain::ClickSeries{{{1'552'194'000'000'000, 3}, {1'552'197'600'000'000, 0}}, KnownFreshness()};
  auto answer = Call("/analytics/clicks-over-time", {{"from", "2019-03-10T05:00:00Z"},
                                                     {"to", "2019-03-10T07:00:00Z"},
                                                     {"bucket", "hour"},
                                                     {"time_zone", "America/New_York"}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body, std::string(R"({"bucket":"hour","time_zone":"America/New_York","points":[)"
                                     R"({"start":"2019-03-10T05:00:00Z","clicks":3},)"
                                     R"({"start":"2019-03-10T06:00:00Z","clicks":0}],"total":3,)") +
                             kKnownFreshness + "}");
  ASSERT_EQ(client_.series_queries.size(), 1u);
  EXPECT_EQ(client_.series_queries[0].from_us, 1'552'194'000'000'000);
  EXPECT_EQ(client_.series_queries[0].to_us, 1'552'201'200'000'000);
  EXPECT_EQ(client_.series_queries[0].bucket, domain::Bucket::kHour);
}

TEST_F(AggregateRoutesTest, WithoutARangeTheLastDayInUtcHoursIsAsked) {
  const auto before = std::chrono::system_clock::now();
  EXPECT_EQ(Call("/analytics/clicks-over-time", {}).status, 200);
  ASSERT_EQ(client_.series_queries.size(), 1u);
  const auto& query = client_.series_queries[0];
  EXPECT_EQ(query.to_us - query.from_us, 24LL * 3600 * 1'000'000);
  EXPECT_GE(query.to_us, std::chrono::duration_cast<std::chrono::microseconds>(before.time_since_epoch()).count());
  EXPECT_EQ(query.bucket, domain::Bucket::kHour);
  EXPECT_EQ(query.time_zone, "UTC");
  // Only a start: the day after it.
  EXPECT_EQ(Call("/analytics/clicks-over-time", {{"from", "2019-03-10T00:00:00Z"}}).status, 200);
  EXPECT_EQ(client_.series_queries[1].to_us, 1'552'262'400'000'000);
}

TEST_F(AggregateRoutesTest, BadParametersAre400NamingTheFieldAndNeverReachAnalytics) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"/analytics/top-pages", "limit", "0"},
      {"/analytics/top-pages", "limit", "1001"},
      {"/analytics/top-pages", "limit", "ten"},
      {"/analytics/top-pages", "user_id", ""},
      {"/analytics/top-pages", "user_id", "\xff\xfe"},
      {"/analytics/top-pages", "user_id", std::string(2049, 'u')},
      {"/analytics/top-pages", "page", "/a"},
      {"/analytics/event-types", "limit", "-3"},
      {"/analytics/event-types", "user_id", "u"},
      {"/analytics/clicks-over-time", "from", "yesterday"},
      {"/analytics/clicks-over-time", "to", "2019-02-30T00:00:00Z"},
      {"/analytics/clicks-over-time", "bucket", "week"},
      {"/analytics/clicks-over-time", "time_zone", ""},
      {"/analytics/clicks-over-time", "tz", "UTC"}};
  for (const auto& [path, name, value] : cases) {
    auto answer = Call(path, {{name, value}});
    EXPECT_EQ(answer.status, 400) << path << " " << name << "=" << value;
    EXPECT_NE(answer.body.find("\"field\":\"" + name + "\""), std::string::npos) << answer.body;
  }
  // A range the wrong way round, or of too many buckets, is the `to` end's fault.
  for (const auto& range : std::vector<std::map<std::string, std::string>>{
           {{"from", "2019-03-10T00:00:00Z"}, {"to", "2019-03-09T00:00:00Z"}},
           {{"from", "2019-03-10T00:00:00Z"}, {"to", "2019-03-20T00:00:00Z"}, {"bucket", "minute"}}}) {
    auto answer = Call("/analytics/clicks-over-time", range);
    EXPECT_EQ(answer.status, 400) << answer.body;
    EXPECT_NE(answer.body.find("\"field\":\"to\""), std::string::npos) << answer.body;
  }
  EXPECT_EQ(client_.Calls(), 0u) << "nothing refused reached analytics";
}

// What only analytics can judge (a cursor it never gave, a zone the database does not know) comes back without
// its field over gRPC: the gateway names it, the one value of the question it could not check.
TEST_F(AggregateRoutesTest, AnalyticsRefusalsNameTheValueOnlyAnalyticsCouldJudge) {
  client_.ranking = absl::InvalidArgumentError("after must be the next of an earlier answer");
  auto answer = Call("/analytics/top-pages", {{"after", "forged"}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(answer.body.find("\"field\":\"after\""), std::string::npos) << answer.body;
  client_.series = absl::InvalidArgumentError("unknown time zone \"Mars/Olympus\"");
  answer = Call("/analytics/clicks-over-time", {{"time_zone", "Mars/Olympus"}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(answer.body.find("\"field\":\"time_zone\""), std::string::npos) << answer.body;
  client_.types = absl::UnavailableError("analytics down");
  EXPECT_EQ(Call("/analytics/event-types", {}).status, 503);
}

TEST_F(AggregateRoutesTest, TheQueryKeysApply) {
  EXPECT_EQ(Call("/analytics/top-pages", {}, {"query-key"}).status, 401);
  EXPECT_EQ(Call("/analytics/event-types", {}, {"query-key"}, "wrong").status, 401);
  EXPECT_EQ(Call("/analytics/clicks-over-time", {}, {"query-key"}, "query-key").status, 200);
  EXPECT_EQ(client_.Calls(), 1u);
}

}  // namespace
}  // namespace clickstream::gateway
