#include "domain/click_event.h"

#include <gtest/gtest.h>

#include "domain/field_error.h"

namespace clickstream::domain {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z

absl::StatusOr<ClickEvent> Parse(std::string_view json, EventLimits limits = {}) {
  return ParseClickEvent(json, limits, kNow);
}

TEST(EventParser, AcceptsCompleteEvent) {
  auto event = Parse(R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home",)"
                     R"("time_stamp":"2023-11-14T12:00:00Z"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->event_id, "e1");
  EXPECT_EQ(event->user_id, "u1");
  EXPECT_EQ(event->event_type, "click");
  EXPECT_EQ(event->page_url, "/home");
  EXPECT_EQ(FormatTimestamp(event->time_stamp_us), "2023-11-14T12:00:00Z");
}

TEST(EventParser, RejectsAnEmptyViewWithoutTouchingItsData) {
  auto event = ParseClickEvent(std::string_view(), {}, kNow);  // null data: UBSan checks nothing reads it
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EventParser, FillsMissingTimestampWithNow) {
  auto event = Parse(R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/"})");
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->time_stamp_us, kNow);
}

TEST(EventParser, IgnoresUnknownFieldsOfAnyShape) {
  auto event = Parse(R"({"extra":{"a":[1,2,{"b":null}]},"event_id":"e1","user_id":"u1","n":3.5,)"
                     R"("event_type":"click","page_url":"/"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->page_url, "/");
}

TEST(EventParser, NormalizesOffsetsToUtc) {
  auto event = Parse(R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/",)"
                     R"("time_stamp":"2023-11-14T14:30:00.5+02:00"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(FormatTimestamp(event->time_stamp_us), "2023-11-14T12:30:00.5Z");
}

// RFC 3339 years have four digits: a series may start in the year 989 (schemathesis found "989-01-06T09:00:00Z").
TEST(FormatTimestamp, WritesFourDigitYearsAndFractionsOnlyWhenThereAreAny) {
  EXPECT_EQ(
      FormatTimestamp(absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(989, 1, 6, 9, 0, 0), absl::UTCTimeZone()))),
      "0989-01-06T09:00:00Z");
  EXPECT_EQ(
      FormatTimestamp(absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(1, 2, 3, 4, 5, 6), absl::UTCTimeZone())) +
                      250'000),
      "0001-02-03T04:05:06.25Z");
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
}

TEST(EventParser, UnescapesJsonStrings) {
  auto event = Parse(R"({"event_id":"e\"1","user_id":"\u00e9","event_type":"t","page_url":"/a\/b"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->event_id, "e\"1");
  EXPECT_EQ(event->user_id, "\xc3\xa9");
  EXPECT_EQ(event->page_url, "/a/b");
}

struct RejectCase {
  std::string name;
  std::string json;
  std::string field;  // "" when the error names no field
};

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class EventParserRejects : public testing::TestWithParam<RejectCase> {};

TEST_P(EventParserRejects, WithInvalidArgumentNamingTheField) {
  EventLimits limits;
  limits.max_field_bytes = 16;
  auto event = Parse(GetParam().json, limits);
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(event.status()), GetParam().field) << event.status();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EventParserRejects,
    testing::Values(
        RejectCase{"NotJson", "not json", ""}, RejectCase{"Truncated", R"({"event_id":"e1")", ""},
        RejectCase{"Array", R"(["event_id"])", ""}, RejectCase{"Empty", "", ""},
        RejectCase{"TrailingGarbage", R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/"} x)", ""},
        RejectCase{"MissingEventId", R"({"user_id":"u","event_type":"t","page_url":"/"})", "event_id"},
        RejectCase{"MissingUserId", R"({"event_id":"e","event_type":"t","page_url":"/"})", "user_id"},
        RejectCase{"MissingEventType", R"({"event_id":"e","user_id":"u","page_url":"/"})", "event_type"},
        RejectCase{"MissingPageUrl", R"({"event_id":"e","user_id":"u","event_type":"t"})", "page_url"},
        RejectCase{"EmptyUserId", R"({"event_id":"e","user_id":"","event_type":"t","page_url":"/"})", "user_id"},
        RejectCase{"NumberEventId", R"({"event_id":5,"user_id":"u","event_type":"t","page_url":"/"})", "event_id"},
        RejectCase{"NullPageUrl", R"({"event_id":"e","user_id":"u","event_type":"t","page_url":null})", "page_url"},
        RejectCase{"TooLong", R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/0123456789abcdef"})",
                   "page_url"},
        RejectCase{"ControlCharacter", R"({"event_id":"e","user_id":"u\u0000","event_type":"t","page_url":"/"})",
                   "user_id"},
        RejectCase{"NotRfc3339",
                   R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/",)"
                   R"("time_stamp":"2023-11-14 12:00:00"})",
                   "time_stamp"},
        RejectCase{"NoOffset",
                   R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/",)"
                   R"("time_stamp":"2023-11-14T12:00:00"})",
                   "time_stamp"},
        RejectCase{"FarFuture",
                   R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/",)"
                   R"("time_stamp":"2999-01-01T00:00:00Z"})",
                   "time_stamp"},
        RejectCase{"FarPast",
                   R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/",)"
                   R"("time_stamp":"1900-01-01T00:00:00Z"})",
                   "time_stamp"},
        RejectCase{"NumericTimestamp",
                   R"({"event_id":"e","user_id":"u","event_type":"t","page_url":"/",)"
                   R"("time_stamp":1700000000})",
                   "time_stamp"}),
    [](const testing::TestParamInfo<RejectCase>& info) { return info.param.name; });

TEST(EventJson, RoundTripsThroughTheParser) {
  ClickEvent event{"id \"q\"", "user\\1", "click", "/p?a=1&b=\n", kNow - 1'500'000};
  // The newline is a control character, so parsing rejects it; everything else must survive the round trip.
  event.page_url = "/p?a=1&b=\xe2\x82\xac";
  auto parsed = ParseClickEvent(ToJson(event), {}, kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->event_id, event.event_id);
  EXPECT_EQ(parsed->user_id, event.user_id);
  EXPECT_EQ(parsed->page_url, event.page_url);
  EXPECT_EQ(parsed->time_stamp_us, event.time_stamp_us);
}

}  // namespace
}  // namespace clickstream::domain
