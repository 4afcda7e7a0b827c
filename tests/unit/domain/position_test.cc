#include "domain/position.h"

#include <gtest/gtest.h>

#include "domain/field_error.h"

namespace clickstream::domain {
namespace {

TEST(Position, IncludeKeepsTheLargerOffsetPerPartitionInPartitionOrder) {
  Position position;
  Include(position, {3, 100});
  Include(position, {0, 1235});
  Include(position, {3, 99});
  Include(position, {1, 7});
  Include(position, {0, 1236});
  EXPECT_EQ(position, (Position{{0, 1236}, {1, 7}, {3, 100}}));
}

TEST(Position, ReachesOnlyWhenEveryWantedPartitionIsAppliedThatFar) {
  const Position applied{{0, 50}, {2, 10}};
  EXPECT_TRUE(Reaches(applied, {}));
  EXPECT_TRUE(Reaches(applied, {{0, 50}}));
  EXPECT_TRUE(Reaches(applied, {{0, 1}, {2, 10}}));
  EXPECT_FALSE(Reaches(applied, {{0, 51}}));
  EXPECT_FALSE(Reaches(applied, {{0, 50}, {2, 11}}));
  EXPECT_FALSE(Reaches(applied, {{1, 1}}));  // a partition nothing was applied from
  EXPECT_FALSE(Reaches({}, {{0, 1}}));
}

TEST(Position, RecordsBetweenCountsWhatWaitsPerPartitionNeverBelowZero) {
  const Position end{{0, 100}, {1, 50}, {2, 7}};
  EXPECT_EQ(RecordsBetween({{0, 90}, {1, 50}, {2, 9}}, end), 10);  // partition 2's end was read before its apply
  EXPECT_EQ(RecordsBetween({{0, 90}}, end), 10 + 50 + 7);
  EXPECT_EQ(RecordsBetween(end, end), 0);
  EXPECT_EQ(RecordsBetween({{0, 1}}, {}), 0);
}

TEST(Position, TokensRoundTrip) {
  const Position position{{0, 1235}, {3, 100}, {2147483647, 9223372036854775807}};
  EXPECT_EQ(PositionToken(position), "0-1235.3-100.2147483647-9223372036854775807");
  EXPECT_EQ(ParsePositionToken(PositionToken(position)).value(), position);
}

TEST(Position, RefusesWhatIngestionNeverWrites) {
  for (const std::string bad : {"",
                                "-",
                                "0-",
                                "-5",
                                "0-5.",
                                ".0-5",
                                "0-5..1-2",
                                "0-0",
                                "0--5",
                                "+0-5",
                                "0-+5",
                                " 0-5",
                                "0-5 ",
                                "3-5.1-6",
                                "1-5.1-6",
                                "0-5-6",
                                "a-5",
                                "0-99999999999999999999",
                                "99999999999-5",
                                "0x1-5"}) {
    auto parsed = ParsePositionToken(bad, "position");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(FieldOf(parsed.status()), "position") << bad;
  }
}

TEST(Position, RefusesTokensNamingTooManyPartitions) {
  Position position;
  for (int32_t p = 0; p <= static_cast<int32_t>(kMaxPositionPartitions); ++p) position.push_back({p, 1});
  EXPECT_FALSE(ParsePositionToken(PositionToken(position)).ok());
  position.pop_back();
  EXPECT_TRUE(ParsePositionToken(PositionToken(position)).ok());
}

TEST(Position, AnErrorCarriesTheAppliedPosition) {
  const absl::Status status = WithAppliedPosition(absl::UnavailableError("not yet"), {{1, 20}});
  EXPECT_EQ(AppliedPositionOf(status), "1-20");
  EXPECT_EQ(AppliedPositionOf(absl::UnavailableError("no payload")), "");
}

}  // namespace
}  // namespace clickstream::domain
