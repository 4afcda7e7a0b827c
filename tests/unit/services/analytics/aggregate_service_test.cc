#include "services/analytics/aggregate_service.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "domain/field_error.h"

namespace clickstream::analytics {
namespace {

// Answers from what it holds; a read can be held until `release` is set, to fill the service's queue.
class FakeAggregateStore final : public ports::AggregateStore {
 public:
  absl::StatusOr<domain::PageRanking> TopPages(const domain::RankQuery& query) override {
    Hold();
    asked_on = std::this_thread::get_id();
    return domain::PageRanking{{{query.user_id + "/page", static_cast<int64_t>(query.limit), -1}}, "", freshness};
  }
  absl::StatusOr<domain::EventTypeRanking> EventTypeCounts(std::size_t limit) override {
    Hold();
    return domain::EventTypeRanking{std::vector<domain::EventTypeCount>(limit, {"click", 1}), freshness};
  }
  absl::StatusOr<domain::ClickSeries> ClicksOverTime(const domain::SeriesQuery& query) override {
    Hold();
    if (query.time_zone == "Mars/Olympus") return domain::InvalidField("time_zone", "unknown time zone");
    return domain::ClickSeries{{{query.from_us, 4}}, freshness};
  }

  void Hold() {
    ++reads;
    if (held.valid()) held.wait();
  }

  std::atomic<int> reads{0};
  std::thread::id asked_on;
  domain::Freshness freshness;  // what every answer says of its snapshot
  std::shared_future<void> held;
};

template <typename T>
absl::StatusOr<T> Wait(const std::function<void(AggregateService::Done<T>)>& ask) {
  std::promise<absl::StatusOr<T>> answer;
  ask([&](absl::StatusOr<T> result) { answer.set_value(std::move(result)); });
  return answer.get_future().get();
}

TEST(AggregateServiceTest, AnswersEachQuestionFromTheStoreOffTheCallersThread) {
  auto store = std::make_unique<FakeAggregateStore>();
  auto* fake = store.get();
  AggregateService service(std::move(store));
  auto ranking = Wait<domain::PageRanking>([&](auto done) { service.TopPages({"u", 3, ""}, done); });
  ASSERT_TRUE(ranking.ok()) << ranking.status();
  EXPECT_EQ(ranking->pages.at(0).page_url, "u/page");
  EXPECT_EQ(ranking->pages.at(0).clicks, 3);
  EXPECT_NE(fake->asked_on, std::this_thread::get_id());
  auto types = Wait<domain::EventTypeRanking>([&](auto done) { service.EventTypeCounts(2, done); });
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(types->event_types.size(), 2u);
  auto series = Wait<domain::ClickSeries>([&](auto done) {
    service.ClicksOverTime({60'000'000, 120'000'000, domain::Bucket::kMinute, "UTC"}, done);
  });
  ASSERT_TRUE(series.ok());
  EXPECT_EQ(series->points.at(0).start_us, 60'000'000);
  auto unknown = Wait<domain::ClickSeries>([&](auto done) {
    service.ClicksOverTime({60'000'000, 120'000'000, domain::Bucket::kMinute, "Mars/Olympus"}, done);
  });
  EXPECT_EQ(domain::FieldOf(unknown.status()), "time_zone");
}

domain::Position PositionOf(const std::string& token) {
  auto position = domain::ParsePositionToken(token);
  EXPECT_TRUE(position.ok()) << position.status();
  return position.value_or(domain::Position{});
}

TEST(AggregateServiceTest, EachAnswerKeepsItsSnapshotsFreshnessWithItsLagBehindTheLogsLatestEnd) {
  auto store = std::make_unique<FakeAggregateStore>();
  store->freshness.position = PositionOf("0-120.1-75.3-9");
  store->freshness.newest_event_time_us = 1'700'000'000'123'456;
  store->freshness.age_ms = 42;
  auto end = std::make_shared<const domain::Position>(PositionOf("0-125.1-75.2-4.3-9"));
  std::shared_ptr<const domain::Position> known_end;  // unknown until set
  AggregateService service(std::move(store), [&] { return known_end; });

  auto check = [](const domain::Freshness& freshness, int64_t lag) {
    EXPECT_EQ(domain::PositionToken(freshness.position), "0-120.1-75.3-9");
    EXPECT_EQ(freshness.source, domain::CountSource::kDatabase);
    EXPECT_EQ(freshness.newest_event_time_us, 1'700'000'000'123'456);
    EXPECT_EQ(freshness.age_ms, 42);
    EXPECT_EQ(freshness.lag, lag);
  };
  auto unknown = Wait<domain::PageRanking>([&](auto done) { service.TopPages({"", 3, ""}, done); });
  ASSERT_TRUE(unknown.ok());
  check(unknown->freshness, -1);

  known_end = end;  // partition 0 is 5 records behind, 2 holds 4 not applied yet
  auto ranking = Wait<domain::PageRanking>([&](auto done) { service.TopPages({"u", 3, ""}, done); });
  ASSERT_TRUE(ranking.ok());
  check(ranking->freshness, domain::RecordsBetween(PositionOf("0-120.1-75.3-9"), *end));
  EXPECT_EQ(ranking->freshness.lag, 9);
  auto types = Wait<domain::EventTypeRanking>([&](auto done) { service.EventTypeCounts(2, done); });
  ASSERT_TRUE(types.ok());
  check(types->freshness, 9);
  auto series = Wait<domain::ClickSeries>([&](auto done) {
    service.ClicksOverTime({60'000'000, 120'000'000, domain::Bucket::kMinute, "UTC"}, done);
  });
  ASSERT_TRUE(series.ok());
  check(series->freshness, 9);
}

TEST(AggregateServiceTest, InvalidQuestionsAreRefusedInlineNamingTheFieldWithoutAStoreRead) {
  auto store = std::make_unique<FakeAggregateStore>();
  auto* fake = store.get();
  AggregateService service(std::move(store));
  std::vector<absl::Status> refusals;
  service.TopPages({"", 0, ""}, [&](auto answer) { refusals.push_back(answer.status()); });
  service.EventTypeCounts(domain::kMaxRankLimit + 1, [&](auto answer) { refusals.push_back(answer.status()); });
  service.ClicksOverTime({5, 5, domain::Bucket::kHour, "UTC"},
                         [&](auto answer) { refusals.push_back(answer.status()); });
  ASSERT_EQ(refusals.size(), 3u);  // all answered before the calls returned
  EXPECT_EQ(domain::FieldOf(refusals[0]), "limit");
  EXPECT_EQ(domain::FieldOf(refusals[1]), "limit");
  EXPECT_EQ(domain::FieldOf(refusals[2]), "to");
  EXPECT_EQ(fake->reads, 0);
}

TEST(AggregateServiceTest, BeyondItsQueueAQuestionIsResourceExhaustedAndTheQueuedOnesAreStillAnswered) {
  auto store = std::make_unique<FakeAggregateStore>();
  auto* fake = store.get();
  std::promise<void> release;
  fake->held = release.get_future().share();
  std::atomic<int> answered{0};
  std::vector<absl::Status> busy;
  {
    AggregateService service(std::move(store), nullptr, 2);
    auto count = [&](auto answer) {
      if (answer.ok()) {
        ++answered;
      } else {
        busy.push_back(answer.status());
      }
    };
    service.EventTypeCounts(1, count);  // taken by the thread, held
    while (fake->reads == 0) std::this_thread::yield();
    service.EventTypeCounts(1, count);  // queued
    service.EventTypeCounts(1, count);  // queued
    service.EventTypeCounts(1, count);  // one too many
    ASSERT_EQ(busy.size(), 1u);
    EXPECT_TRUE(absl::IsResourceExhausted(busy[0])) << busy[0];
    release.set_value();
  }  // the destructor answers what was queued
  EXPECT_EQ(answered, 3);
}

}  // namespace
}  // namespace clickstream::analytics
