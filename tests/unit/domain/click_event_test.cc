#include "domain/click_event.h"

#include <gtest/gtest.h>

#include <random>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
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

// What absl::ParseTime reads from an RFC 3339 date-time, in microseconds (rounded down, as ToUnixMicros does).
std::optional<int64_t> AbslReads(const std::string& text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return std::nullopt;
  return absl::ToUnixMicros(time);
}

// The form ingestion writes is read without absl (for speed); every text in RFC 3339's grammar must read as absl
// reads it. Random instants over the whole four-digit calendar, with 0 to 9 fraction digits, and the same texts with
// one field pushed out of its range (the 30th of February, hour 24, second 60, year 0 and so on).
TEST(ParseRfc3339, ReadsEveryDateTimeAsAbslDoes) {
  std::mt19937_64 random(std::random_device{}());
  const int64_t first = absl::ToUnixSeconds(absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  const int64_t last =
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone()));
  std::vector<std::string> texts = {
      "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "2024-02-29T12:00:00Z",
      "2023-02-29T12:00:00Z", "2100-02-29T00:00:00Z",        "2000-02-29T00:00:00Z",
      "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z",        "2024-00-10T00:00:00Z",
      "2024-01-00T00:00:00Z", "2024-01-01T24:00:00Z",        "2024-01-01T23:60:00Z",
      "2024-01-01T23:59:60Z", "0000-01-01T00:00:00Z",        "2024-01-01T00:00:00.1234567891Z",
      "2024-01-01t00:00:00z", "2024-01-01T00:00:00.5+01:30", "9999-12-31T23:59:59.999999999Z"};
  for (int i = 0; i < 20000; ++i) {
    const int64_t seconds = first + static_cast<int64_t>(random() % static_cast<uint64_t>(last - first + 1));
    const absl::CivilSecond civil = absl::ToCivilSecond(absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
    const int digits = static_cast<int>(random() % 10);
    std::string fraction;
    if (digits > 0) fraction = "." + absl::StrFormat("%09d", random() % 1'000'000'000).substr(0, digits);
    int fields[] = {
        static_cast<int>(civil.year()), civil.month(), civil.day(), civil.hour(), civil.minute(), civil.second()};
    if (i % 4 == 0) {  // one field out of its range
      const int pushed = static_cast<int>(random() % 6);
      const int past_limit[] = {0, 13, 28 + static_cast<int>(random() % 4), 24, 60, 60};
      fields[pushed] = past_limit[pushed];
    }
    texts.push_back(absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d%sZ", fields[0], fields[1], fields[2], fields[3],
                                    fields[4], fields[5], fraction));
  }
  for (const auto& text : texts) EXPECT_EQ(ParseRfc3339(text), AbslReads(text)) << text;
}

// absl is more lenient than the grammar; these are refused whatever it reads.
TEST(ParseRfc3339, RefusesWhatIsNotInTheGrammar) {
  for (const char* text :
       {"2024-1-01T00:00:00Z", "10000-01-01T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00ZZ",
        "2024-01-01T00:00:00.Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00+0100", ""}) {
    EXPECT_EQ(ParseRfc3339(text), std::nullopt) << text;
  }
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
