#include "domain/aggregates.h"

#include <gtest/gtest.h>

#include "domain/field_error.h"

namespace clickstream::domain {
namespace {

constexpr int64_t kHourUs = 3'600'000'000;

TEST(Bucket, NamesParseBackAndNothingElseParses) {
  for (const Bucket bucket : {Bucket::kMinute, Bucket::kHour, Bucket::kDay}) {
    EXPECT_EQ(ParseBucket(BucketName(bucket)), bucket);
  }
  for (const char* name : {"", "Hour", "week", "hours", "minute "}) EXPECT_FALSE(ParseBucket(name)) << name;
}

TEST(RankQuery, LimitIsFromOneToTheMaximum) {
  EXPECT_TRUE(ValidateRankQuery({"", 1, ""}).ok());
  EXPECT_TRUE(ValidateRankQuery({"", kMaxRankLimit, ""}).ok());
  for (const std::size_t limit : {std::size_t{0}, kMaxRankLimit + 1}) {
    const auto status = ValidateRankQuery({"", limit, ""});
    EXPECT_TRUE(absl::IsInvalidArgument(status));
    EXPECT_EQ(FieldOf(status), "limit");
  }
}

TEST(SeriesQuery, RefusesEmptyReversedAndOversizedRangesAndBadZoneNamesNamingTheField) {
  const int64_t from = 1'700'000'000'000'000;
  EXPECT_TRUE(ValidateSeriesQuery({from, from + 24 * kHourUs, Bucket::kHour, "Europe/Berlin"}).ok());
  EXPECT_EQ(FieldOf(ValidateSeriesQuery({from, from, Bucket::kHour, "UTC"})), "to");
  EXPECT_EQ(FieldOf(ValidateSeriesQuery({from, from - 1, Bucket::kHour, "UTC"})), "to");
  // Ten thousand buckets at most, a day counted as its shortest (23 hours).
  EXPECT_TRUE(ValidateSeriesQuery({from, from + 9'000 * kHourUs, Bucket::kHour, "UTC"}).ok());
  EXPECT_EQ(FieldOf(ValidateSeriesQuery({from, from + 10'000 * kHourUs, Bucket::kHour, "UTC"})), "to");
  EXPECT_TRUE(ValidateSeriesQuery({from, from + 9'000 * 24 * kHourUs, Bucket::kDay, "UTC"}).ok());
  EXPECT_EQ(FieldOf(ValidateSeriesQuery({from, from + 9'999 * 24 * kHourUs, Bucket::kDay, "UTC"})), "to");
  EXPECT_EQ(FieldOf(ValidateSeriesQuery({from, from + 7 * 24 * kHourUs, Bucket::kMinute, "UTC"})), "to");
  EXPECT_EQ(FieldOf(ValidateSeriesQuery({from, from + kHourUs, Bucket::kHour, ""})), "time_zone");
  EXPECT_EQ(FieldOf(ValidateSeriesQuery({from, from + kHourUs, Bucket::kHour, std::string(65, 'a')})), "time_zone");
}

}  // namespace
}  // namespace clickstream::domain
