#include "cli/event_input.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace clickstream::cli {
namespace {

std::vector<std::string> All(EventInput& input, std::size_t batch) {
  std::vector<std::string> events;
  while (true) {
    auto next = input.Next(batch);
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || next->empty()) return events;
    EXPECT_LE(next->size(), batch);
    events.insert(events.end(), next->begin(), next->end());
  }
}

TEST(WithEventId, AddsAnIdOnlyToAnObjectWithoutOne) {
  EXPECT_EQ(WithEventId(R"({"user_id":"u","page_url":"/"})", "id-1"),
            R"({"event_id":"id-1","user_id":"u","page_url":"/"})");
  EXPECT_EQ(WithEventId(R"(  { })", "id-2"), R"(  {"event_id":"id-2" })");
  for (const std::string kept : {R"({"event_id":"mine","user_id":"u"})", R"({"event_id":null})", R"([1,2])",
                                 R"("text")", "not json", R"({"user_id":"u"} trailing)", R"({"user_id":)"}) {
    EXPECT_EQ(WithEventId(kept, "id-3"), kept);
  }
}

TEST(RandomEventId, IsLongAndDoesNotRepeat) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(RandomEventId());
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(ids.begin()->size(), 4u + 32u);
  EXPECT_EQ(ids.begin()->rfind("cli-", 0), 0u);
}

TEST(EventInput, ReadsNdjsonInBatchesSkippingBlankLinesAndKeepingWhatIsNoEvent) {
  std::string text;
  for (int i = 0; i < 7; ++i)
    absl::StrAppend(&text, R"({"event_id":"e)", i, R"(","n":)", i, "}\r\n", i == 3 ? " \n\n" : "");
  text += "garbage line\n";
  std::istringstream in(text);
  auto input = EventInput::Read(in, text.size());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ((*input)->Fraction(), 0.0);
  const auto events = All(**input, 3);
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events[0], R"({"event_id":"e0","n":0})");
  EXPECT_EQ(events[6], R"({"event_id":"e6","n":6})");
  EXPECT_EQ(events[7], "garbage line");
  EXPECT_EQ((*input)->Fraction(), 1.0);
}

TEST(EventInput, ReadsAJsonArrayGivingEachEventWithoutAnIdItsOwnOnce) {
  std::istringstream in(R"(  [{"user_id":"a"}, {"event_id":"kept","user_id":"b"}, {"user_id":"a"}, 5])");
  auto input = EventInput::Read(in, 0);
  ASSERT_TRUE(input.ok()) << input.status();
  const auto events = All(**input, 2);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1], R"({"event_id":"kept","user_id":"b"})");
  EXPECT_EQ(events[3], "5");
  EXPECT_EQ(events[0].rfind(R"({"event_id":"cli-)", 0), 0u) << events[0];
  EXPECT_EQ(events[2].rfind(R"({"event_id":"cli-)", 0), 0u) << events[2];
  EXPECT_NE(events[0], events[2]) << "two events that look the same are still two";
}

TEST(EventInput, AnArrayThatIsNotJsonIsRefusedWholeAndAMissingFileNamed) {
  std::istringstream in(R"([{"user_id":"a"},)");
  auto input = EventInput::Read(in, 0);
  ASSERT_FALSE(input.ok());
  EXPECT_NE(input.status().message().find("not a JSON array"), std::string::npos) << input.status();
  auto missing = EventInput::Open("/nonexistent/events.ndjson");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/events.ndjson"), std::string::npos);
}

}  // namespace
}  // namespace clickstream::cli
