// PgCountStore's reads of the aggregates (ports::AggregateStore) against a real PostgreSQL. The aggregates' upkeep
// is tested against raw rows in pg_stores_test.cc; here rows are set where a read needs them to be.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/postgres/pg_stores.h"
#include "domain/field_error.h"
#include "support/events.h"
#include "support/test_infra.h"

namespace clickstream::postgres {
namespace {

using testing_support::TestInfra;
using testing_support::UniqueId;

constexpr int64_t kHourUs = 3'600'000'000;

int64_t Utc(int year, int month, int day, int hour, int minute = 0) {
  return absl::ToUnixMicros(absl::FromCivil(absl::CivilMinute(year, month, day, hour, minute), absl::UTCTimeZone()));
}

// One click at half past each UTC hour in [first, last], in clicks_per_minute itself (no other test writes in 2019;
// a run after an earlier one finds the same rows).
void ClickEachHalfHour(pqxx::connection& connection, int64_t first_us, int64_t last_us) {
  pqxx::nontransaction tx(connection);
  tx.exec_params0(
      "INSERT INTO clicks_per_minute (minute, click_count) SELECT g, 1 FROM generate_series("
      "timestamptz 'epoch' + $1 * interval '1 microsecond', timestamptz 'epoch' + $2 * interval '1 microsecond',"
      " interval '1 hour') g ON CONFLICT (minute) DO UPDATE SET click_count = 1",
      first_us, last_us);
}

std::vector<int64_t> Starts(const domain::ClickSeries& series) {
  std::vector<int64_t> starts;
  for (const auto& point : series.points) starts.push_back(point.start_us);
  return starts;
}

int64_t Sum(const domain::ClickSeries& series) {
  int64_t sum = 0;
  for (const auto& point : series.points) sum += point.clicks;
  return sum;
}

class ClicksOverTime : public testing::Test {
 protected:
  void SetUp() override {
    ClickEachHalfHour(connection_, Utc(2019, 3, 10, 3, 30), Utc(2019, 3, 11, 6, 30));
    ClickEachHalfHour(connection_, Utc(2019, 11, 3, 4, 30), Utc(2019, 11, 4, 4, 30));
  }

  pqxx::connection connection_{TestInfra().database_url};
  PgCountStore store_{TestInfra().database_url, "clicks"};
};

// New York's 10 March 2019 has 23 hours (clocks went from 2:00 to 3:00): its day bucket holds 23 hourly clicks and
// its hours are 23 buckets an hour apart; the days around it start at their local midnights.
TEST_F(ClicksOverTime, ADayThatLosesAnHourHas23HoursInItsZone) {
  auto days =
      store_.ClicksOverTime({Utc(2019, 3, 9, 5), Utc(2019, 3, 12, 4), domain::Bucket::kDay, "America/New_York"});
  ASSERT_TRUE(days.ok()) << days.status();
  EXPECT_EQ(Starts(*days), (std::vector<int64_t>{Utc(2019, 3, 9, 5), Utc(2019, 3, 10, 5), Utc(2019, 3, 11, 4)}));
  ASSERT_EQ(days->points.size(), 3u);
  EXPECT_EQ(days->points[0].clicks, 2);  // 22:30 and 23:30 on the 9th, local
  EXPECT_EQ(days->points[1].clicks, 23);
  EXPECT_EQ(days->points[2].clicks, 3);

  auto hours =
      store_.ClicksOverTime({Utc(2019, 3, 10, 5), Utc(2019, 3, 11, 4), domain::Bucket::kHour, "America/New_York"});
  ASSERT_TRUE(hours.ok()) << hours.status();
  ASSERT_EQ(hours->points.size(), 23u);
  for (std::size_t i = 0; i < hours->points.size(); ++i) {
    EXPECT_EQ(hours->points[i].start_us, Utc(2019, 3, 10, 5) + static_cast<int64_t>(i) * kHourUs) << i;
    EXPECT_EQ(hours->points[i].clicks, 1) << i;
  }
}

// 3 November 2019 has 25 hours there (1:00 to 2:00 came twice): 25 clicks, 25 hour buckets, the repeated local
// hour two buckets of its own.
TEST_F(ClicksOverTime, ADayThatGainsAnHourHas25HoursInItsZone) {
  auto days =
      store_.ClicksOverTime({Utc(2019, 11, 3, 4), Utc(2019, 11, 4, 5), domain::Bucket::kDay, "America/New_York"});
  ASSERT_TRUE(days.ok()) << days.status();
  ASSERT_EQ(days->points.size(), 1u);
  EXPECT_EQ(days->points[0].start_us, Utc(2019, 11, 3, 4));
  EXPECT_EQ(days->points[0].clicks, 25);

  auto hours =
      store_.ClicksOverTime({Utc(2019, 11, 3, 4), Utc(2019, 11, 4, 5), domain::Bucket::kHour, "America/New_York"});
  ASSERT_TRUE(hours.ok()) << hours.status();
  ASSERT_EQ(hours->points.size(), 25u);
  for (std::size_t i = 0; i < hours->points.size(); ++i) {
    EXPECT_EQ(hours->points[i].start_us, Utc(2019, 11, 3, 4) + static_cast<int64_t>(i) * kHourUs) << i;
  }
  EXPECT_EQ(Sum(*hours), 25);
}

// Kathmandu is 5:45 ahead of UTC: its hours start at a quarter past UTC's. A bucket the range cuts counts only the
// minutes inside, and a bucket without clicks is answered with 0.
TEST_F(ClicksOverTime, HoursStartAtTheZonesOwnHoursAndEmptyBucketsAreZero) {
  auto hours =
      store_.ClicksOverTime({Utc(2019, 3, 10, 3), Utc(2019, 3, 10, 6), domain::Bucket::kHour, "Asia/Kathmandu"});
  ASSERT_TRUE(hours.ok()) << hours.status();
  EXPECT_EQ(Starts(*hours), (std::vector<int64_t>{Utc(2019, 3, 10, 2, 15), Utc(2019, 3, 10, 3, 15),
                                                  Utc(2019, 3, 10, 4, 15), Utc(2019, 3, 10, 5, 15)}));
  ASSERT_EQ(hours->points.size(), 4u);
  EXPECT_EQ(hours->points[0].clicks, 0);  // 3:00 to 3:15 UTC
  EXPECT_EQ(hours->points[1].clicks, 1);
  EXPECT_EQ(hours->points[3].clicks, 1);  // 5:15 to 6:00: 5:30 is inside

  auto minutes = store_.ClicksOverTime(
      {Utc(2019, 3, 10, 3, 29), Utc(2019, 3, 10, 3, 32), domain::Bucket::kMinute, "Asia/Kathmandu"});
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  EXPECT_EQ(Starts(*minutes),
            (std::vector<int64_t>{Utc(2019, 3, 10, 3, 29), Utc(2019, 3, 10, 3, 30), Utc(2019, 3, 10, 3, 31)}));
  EXPECT_EQ(Sum(*minutes), 1);
}

TEST_F(ClicksOverTime, AZoneTheDatabaseDoesNotKnowIsRefusedNamingTheField) {
  auto series =
      store_.ClicksOverTime({Utc(2019, 3, 10, 3), Utc(2019, 3, 10, 6), domain::Bucket::kHour, "Mars/Olympus"});
  ASSERT_TRUE(absl::IsInvalidArgument(series.status())) << series.status();
  EXPECT_EQ(domain::FieldOf(series.status()), "time_zone");
  // The connection that read it still serves the next read.
  EXPECT_TRUE(store_.ClicksOverTime({Utc(2019, 3, 10, 3), Utc(2019, 3, 10, 6), domain::Bucket::kHour, "UTC"}).ok());
}

std::vector<domain::RankedPage> AllPages(PgCountStore& store, domain::RankQuery query, int max_pages = 10) {
  std::vector<domain::RankedPage> all;
  for (int i = 0; i < max_pages; ++i) {
    auto page = store.TopPages(query);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    all.insert(all.end(), page->pages.begin(), page->pages.end());
    if (page->next.empty()) break;
    query.after = page->next;
  }
  return all;
}

// A user's pages, most clicks first, through pages of two: every page once, ties in a stable order.
TEST(PgTopPages, AUsersPagesComeMostClickedFirstPagedByCursor) {
  PgEventStore events(TestInfra().database_url);
  PgCountStore store(TestInfra().database_url, "clicks");
  const std::string user = UniqueId("u");
  std::vector<domain::ClickEvent> batch;
  const std::vector<std::pair<std::string, int>> clicks = {{"/b", 2}, {"/a", 3}, {"/d", 1}, {"/c", 2}, {"/e", 2}};
  for (const auto& [page, n] : clicks) {
    for (int i = 0; i < n; ++i) batch.push_back(testing_support::MakeEvent(UniqueId("evt"), user, page));
  }
  batch.push_back(testing_support::MakeEvent(UniqueId("evt"), UniqueId("other"), "/a"));  // not this user's
  ASSERT_TRUE(events.ApplyBatch("clicks", batch, {}).ok());

  const auto pages = AllPages(store, {user, 2, ""});
  ASSERT_EQ(pages.size(), 5u);
  EXPECT_EQ(pages[0].page_url, "/a");
  EXPECT_EQ(pages[0].clicks, 3);
  EXPECT_EQ(pages[4].page_url, "/d");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    seen.insert(pages[i].page_url);
    EXPECT_EQ(pages[i].users, -1);
    if (i > 0) {
      EXPECT_LE(pages[i].clicks, pages[i - 1].clicks);
    }
  }
  EXPECT_EQ(seen.size(), 5u);
  // The same question twice, the same order.
  const auto again = AllPages(store, {user, 2, ""});
  ASSERT_EQ(again.size(), 5u);
  for (std::size_t i = 0; i < pages.size(); ++i) EXPECT_EQ(again[i].page_url, pages[i].page_url);

  EXPECT_TRUE(AllPages(store, {UniqueId("nobody"), 2, ""}).empty());
}

// Across users the ranking reads page_totals; the rows set here outrank anything another test writes.
TEST(PgTopPages, PagesAcrossUsersComeWithTheirDistinctUsersAndACursorThatCannotBeForged) {
  PgCountStore store(TestInfra().database_url, "clicks");
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  const std::string prefix = UniqueId("/top");
  const int64_t base = 4'000'000'000'000'000'000 + absl::ToUnixMicros(absl::Now()) % 1'000'000'000'000;
  for (int i = 0; i < 3; ++i) {
    tx.exec_params0("INSERT INTO page_totals (page_url, click_count, users) VALUES ($1, $2, $3)",
                    prefix + std::to_string(i), base - i, 10 + i);
  }
  auto first = store.TopPages({"", 2, ""});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->pages.size(), 2u);
  EXPECT_EQ(first->pages[0].page_url, prefix + "0");
  EXPECT_EQ(first->pages[0].clicks, base);
  EXPECT_EQ(first->pages[0].users, 10);
  EXPECT_EQ(first->pages[1].page_url, prefix + "1");
  ASSERT_FALSE(first->next.empty());
  auto second = store.TopPages({"", 2, first->next});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_FALSE(second->pages.empty());
  EXPECT_EQ(second->pages[0].page_url, prefix + "2");
  EXPECT_EQ(second->pages[0].users, 12);

  for (const char* forged : {"x", "5.zz", "-1.00", "12", "3.0123"}) {
    auto refused = store.TopPages({"", 2, forged});
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << forged;
    EXPECT_EQ(domain::FieldOf(refused.status()), "after") << forged;
  }
  tx.exec_params0("DELETE FROM page_totals WHERE page_url LIKE $1 || '%'", prefix);
}

TEST(PgEventTypeCounts, MostClickedTypesComeFirst) {
  PgCountStore store(TestInfra().database_url, "clicks");
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  const std::string prefix = UniqueId("type");
  const int64_t base = 4'000'000'000'000'000'000 + absl::ToUnixMicros(absl::Now()) % 1'000'000'000'000;
  tx.exec_params0("INSERT INTO event_type_totals (event_type, click_count) VALUES ($1, $2), ($3, $4)", prefix + "b",
                  base - 1, prefix + "a", base);
  auto types = store.EventTypeCounts(2);
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_EQ(types->event_types.size(), 2u);
  EXPECT_EQ(types->event_types[0].event_type, prefix + "a");
  EXPECT_EQ(types->event_types[0].clicks, base);
  EXPECT_EQ(types->event_types[1].event_type, prefix + "b");
  tx.exec_params0("DELETE FROM event_type_totals WHERE event_type LIKE $1 || '%'", prefix);
}

// The store that serves aggregates times its reads under a label of its own, not the look-ups' get_count.
TEST(PgEventTypeCounts, AStoreForAggregatesTimesItsReadsUnderItsOwnOperation) {
  metrics::Registry registry;
  PgCountStore store(TestInfra().database_url, "clicks", &registry, std::chrono::milliseconds(2000), "aggregates");
  ASSERT_TRUE(store.EventTypeCounts(1).ok());
  ASSERT_TRUE(store.TopPages({"", 1, ""}).ok());
  const std::string text = registry.Render();
  EXPECT_NE(text.find(R"(clickstream_db_duration_seconds_count{operation="aggregates"} 2)"), std::string::npos) << text;
  EXPECT_EQ(text.find(R"(operation="get_count")"), std::string::npos) << text;
}

// Each answer says how far its numbers reach: the applied position and newest event time the batches recorded.
TEST(PgAggregateFreshness, EachAnswerComesWithTheAppliedPositionAndNewestEventTimeOfItsSnapshot) {
  const std::string topic = UniqueId("topic");
  PgEventStore events(TestInfra().database_url);
  PgCountStore store(TestInfra().database_url, topic);
  auto before = store.EventTypeCounts(1);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE(before->freshness.position.empty());
  EXPECT_EQ(before->freshness.age_ms, -1);

  const std::string user = UniqueId("u");
  ASSERT_TRUE(events
                  .ApplyBatch(topic,
                              {testing_support::MakeEvent(UniqueId("evt"), user, "/p", 1'700'000'000'000'001),
                               testing_support::MakeEvent(UniqueId("evt"), user, "/p", 1'700'000'000'765'432)},
                              {{0, 9}, {3, 2}})
                  .ok());
  auto ranking = store.TopPages({user, 5, ""});
  auto types = store.EventTypeCounts(1);
  auto series = store.ClicksOverTime({Utc(2023, 11, 14, 22), Utc(2023, 11, 14, 23), domain::Bucket::kHour, "UTC"});
  ASSERT_TRUE(ranking.ok()) << ranking.status();
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_TRUE(series.ok()) << series.status();
  for (const domain::Freshness* freshness : {&ranking->freshness, &types->freshness, &series->freshness}) {
    EXPECT_EQ(freshness->source, domain::CountSource::kDatabase);
    EXPECT_EQ(freshness->position, (domain::Position{{0, 9}, {3, 2}}));
    EXPECT_EQ(freshness->newest_event_time_us, 1'700'000'000'765'432);
    EXPECT_GE(freshness->age_ms, 0);
    EXPECT_LT(freshness->age_ms, 10'000);
    EXPECT_EQ(freshness->lag, -1);  // the service's to fill
  }
}

// The position is read in the ranking's own snapshot: while batches commit one click and one offset at a time, every
// answer's clicks equal its position. Read in two snapshots, a batch committed between them shows as a position
// ahead of the clicks.
TEST(PgAggregateFreshness, TheRankingAndItsPositionAreReadInOneSnapshotWhileBatchesCommit) {
  const std::string topic = UniqueId("topic");
  const std::string user = UniqueId("u");
  PgCountStore store(TestInfra().database_url, topic);
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    PgEventStore events(TestInfra().database_url);
    for (int64_t offset = 1; offset <= 300; ++offset) {
      auto applied = events.ApplyBatch(topic, {testing_support::MakeEvent(UniqueId("evt"), user, "/p")}, {{0, offset}});
      if (!applied.ok()) {
        ADD_FAILURE() << applied.status();
        break;
      }
    }
    writing = false;
  });
  int compared = 0;
  std::vector<std::string> differing;
  while (writing && differing.empty()) {
    auto ranking = store.TopPages({user, 1, ""});
    if (!ranking.ok()) {
      differing.push_back(std::string(ranking.status().message()));
    } else if (!ranking->pages.empty()) {
      const int64_t position = ranking->freshness.position.empty() ? -1 : ranking->freshness.position[0].next_offset;
      if (ranking->pages[0].clicks != position) {
        differing.push_back(std::to_string(ranking->pages[0].clicks) + " clicks at position " +
                            domain::PositionToken(ranking->freshness.position));
      }
      ++compared;
    }
  }
  writer.join();
  EXPECT_TRUE(differing.empty()) << differing.front() << " (after " << compared << " answers)";
  EXPECT_GT(compared, 20);
}

}  // namespace
}  // namespace clickstream::postgres
