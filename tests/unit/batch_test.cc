#include "domain/batch.h"

#include <gtest/gtest.h>

namespace clickstream::domain {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000;

Record MakeRecord(int32_t partition, int64_t offset, const std::string& event_id, const std::string& user = "u") {
  return {partition, offset, user,
          R"({"event_id":")" + event_id + R"(","user_id":")" + user + R"(","event_type":"click","page_url":"/p"})"};
}

TEST(PrepareBatch, DropsDuplicateEventIdsKeepingTheFirst) {
  auto batch = PrepareBatch({MakeRecord(0, 1, "a", "first"), MakeRecord(0, 2, "b"), MakeRecord(1, 7, "a", "second")},
                            {}, kNow);
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

}  // namespace
}  // namespace clickstream::domain
