#include "domain/batch.h"

#include <gtest/gtest.h>

#include <chrono>

#include "support/events.h"

namespace clickstream::domain {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000;

Record MakeRecord(int32_t partition, int64_t offset, const std::string& event_id, const std::string& user = "u") {
  return testing_support::EventRecord(partition, offset, testing_support::MakeEvent(event_id, user, "/p", kNow));
}

TEST(PrepareBatch, DropsDuplicateEventIdsKeepingTheFirst) {
  auto batch =
      PrepareBatch({MakeRecord(0, 1, "a", "first"), MakeRecord(0, 2, "b"), MakeRecord(1, 7, "a", "second")}, {}, kNow);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].event_id, "a");
  EXPECT_EQ(batch.events[0].user_id, "first");
  EXPECT_EQ(batch.events[1].event_id, "b");
}

TEST(PrepareBatch, RoutesInvalidRecordsToPoisonWithReason) {
  Record bad{2, 5, "k", "{not json"};
  auto batch = PrepareBatch({MakeRecord(0, 1, "a"), bad}, {}, kNow);
  ASSERT_EQ(batch.poison.size(), 1u);
  EXPECT_EQ(batch.poison[0].record.offset, 5);
  EXPECT_FALSE(batch.poison[0].reason.empty());
  EXPECT_EQ(batch.events.size(), 1u);
}

TEST(PrepareBatch, NextOffsetsCoverEveryPartitionIncludingPoison) {
  Record bad{2, 9, "k", "[]"};
  auto batch = PrepareBatch({MakeRecord(0, 4, "a"), MakeRecord(1, 10, "b"), MakeRecord(0, 3, "c"), bad}, {}, kNow);
  const std::vector<PartitionOffset> expected = {{0, 5}, {1, 11}, {2, 10}};
  EXPECT_EQ(batch.next_offsets, expected);
}

TEST(PrepareBatch, SurvivesManyRecordsWithoutInvalidatingIds) {
  std::vector<Record> records;
  for (int i = 0; i < 5000; ++i) records.push_back(MakeRecord(0, i, "id-with-a-long-name-" + std::to_string(i % 1000)));
  auto batch = PrepareBatch(records, {}, kNow);
  EXPECT_EQ(batch.events.size(), 1000u);
}

// An event ingestion accepted `age` before its own clock said `broker_ms`, as a record it stamped with that time.
Record Stamped(const std::string& event_id, int64_t broker_ms, std::chrono::microseconds offset_from_broker) {
  Record record = testing_support::EventRecord(
      0, 0, testing_support::MakeEvent(event_id, "u", "/p", broker_ms * 1000 + offset_from_broker.count()));
  record.timestamp_ms = broker_ms;
  return record;
}

TEST(PrepareBatch, JudgesTimeStampAgainstTheRecordsBrokerTimeNotTheProcessorsClock) {
  const EventLimits limits;
  const int64_t broker_ms = kNow / 1000;
  const auto second = std::chrono::microseconds(1'000'000);
  // Accepted by ingestion one second inside each limit, then applied much later (a backlog after an outage) or
  // by a processor whose clock runs behind: both must still count.
  const Record near_age_limit = Stamped("old", broker_ms, -limits.max_age + second);
  const Record near_future_limit = Stamped("early", broker_ms, limits.max_skew - second);
  const int64_t two_days_later = kNow + 48LL * 3600 * 1'000'000;
  const int64_t clock_behind = kNow - 2LL * 3600 * 1'000'000;
  for (const int64_t processor_now : {two_days_later, clock_behind}) {
    auto batch = PrepareBatch({near_age_limit, near_future_limit}, limits, processor_now);
    EXPECT_TRUE(batch.poison.empty()) << batch.poison.front().reason;
    EXPECT_EQ(batch.events.size(), 2u);
  }
}

TEST(PrepareBatch, StillRefusesTimeStampsOutsideTheLimitsOfTheRecordsBrokerTime) {
  const EventLimits limits;
  const int64_t broker_ms = kNow / 1000;
  const auto second = std::chrono::microseconds(1'000'000);
  auto batch = PrepareBatch({Stamped("too-old", broker_ms, -limits.max_age - second),
                             Stamped("too-new", broker_ms, limits.max_skew + second)},
                            limits, kNow);
  EXPECT_EQ(batch.poison.size(), 2u);
  EXPECT_TRUE(batch.events.empty());
}

TEST(PrepareBatch, CountsEventsOlderThanLateAfterAsLateAndCodesTimeRefusals) {
  EventLimits limits;
  limits.late_after = std::chrono::seconds(60);
  const int64_t broker_ms = kNow / 1000;
  const auto second = std::chrono::microseconds(1'000'000);
  auto batch = PrepareBatch(
      {Stamped("on-time", broker_ms, -limits.late_after + second),
       Stamped("late", broker_ms, -limits.late_after - second), Stamped("ahead", broker_ms, 30 * second),
       Stamped("late-again", broker_ms, -3600 * second), Stamped("too-old", broker_ms, -limits.max_age - second),
       Stamped("too-new", broker_ms, limits.max_skew + second), Record{0, 9, "k", "{broken"}},
      limits, kNow);
  EXPECT_EQ(batch.events.size(), 4u);
  EXPECT_EQ(batch.late, 2u);
  ASSERT_EQ(batch.poison.size(), 3u);
  EXPECT_EQ(batch.poison[0].reason_code, kReasonTooOld);
  EXPECT_EQ(batch.poison[1].reason_code, kReasonTooFarAhead);
  EXPECT_EQ(batch.poison[2].reason_code, kReasonInvalid);
}

TEST(PrepareBatch, JudgesRecordsWithoutTimestampAgainstItsOwnClock) {
  const EventLimits limits;
  Record record = Stamped("no-broker-time", kNow / 1000, -limits.max_age + std::chrono::microseconds(1'000'000));
  record.timestamp_ms = 0;
  EXPECT_TRUE(PrepareBatch({record}, limits, kNow).poison.empty());
  EXPECT_EQ(PrepareBatch({record}, limits, kNow + 2'000'000).poison.size(), 1u);
}

TEST(PrepareBatch, SourcesPointAtEachEventsRecord) {
  Record bad{0, 2, "k", "[]"};
  auto batch = PrepareBatch({MakeRecord(0, 1, "a"), bad, MakeRecord(0, 3, "a"), MakeRecord(0, 4, "b")}, {}, kNow);
  EXPECT_EQ(batch.sources, (std::vector<std::size_t>{0, 3}));
}

}  // namespace
}  // namespace clickstream::domain
