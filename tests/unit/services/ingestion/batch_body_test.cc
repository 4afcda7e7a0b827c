// The batch-body parser of POST /ingest/batch: a JSON array or NDJSON, each event as a single post parses it.
#include "services/ingestion/batch_body.h"

#include <gtest/gtest.h>

#include <string>

#include "domain/click_event.h"

namespace clickstream::ingestion {

using domain::ParseClickEvent;
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z

TEST(BatchBody, ArrayElementsParseAsSingleEventsDo) {
  const std::string one = R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/a",)"
                          R"("time_stamp":"2023-11-14T23:13:20+01:00","extra":[1,{"x":null}]})";
  auto batch = ParseBatchBody("[" + one + "," + one + "]", BatchFormat::kJsonArray, 10, {}, kNow);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 2u);
  auto single = ParseClickEvent(one, {}, kNow);
  ASSERT_TRUE(single.ok());
  for (const auto& item : *batch) {
    ASSERT_TRUE(item.event.ok()) << item.event.status();
    EXPECT_EQ(ToJson(*item.event), ToJson(*single));
  }
}

TEST(BatchBody, RefusedEventKeepsAValidEventIdOnly) {
  auto batch =
      ParseBatchBody("{\"event_id\":\"e1\",\"user_id\":\"\"}\n{\"event_id\":17}\n{\"event_id\":\"a\\u0001\"}\n",
                     BatchFormat::kNdjson, 10, {}, kNow);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ((*batch)[0].event_id, "e1");
  EXPECT_EQ((*batch)[1].event_id, "");
  EXPECT_EQ((*batch)[2].event_id, "");
  for (const auto& item : *batch) EXPECT_EQ(item.event.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BatchBody, TooManyEventsIsOutOfRange) {
  EXPECT_EQ(ParseBatchBody("[1,2,3]", BatchFormat::kJsonArray, 2, {}, kNow).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseBatchBody("1\n2\n\n3", BatchFormat::kNdjson, 2, {}, kNow).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(ParseBatchBody("1\n\n2\n", BatchFormat::kNdjson, 2, {}, kNow).ok());
}

TEST(BatchBody, LargeBodyGetsAParserOfItsOwnAndStillParses) {
  // Over the size up to which the thread's parser is reused.
  std::string body = "[";
  const std::string padding(4000, 'x');
  for (int i = 0; i < 300; ++i) {
    body += (i > 0 ? "," : "") + std::string(R"({"event_id":"e)") + std::to_string(i) +
            R"(","user_id":"u","event_type":"c","page_url":"/","pad":")" + padding + "\"}";
  }
  body += "]";
  ASSERT_GT(body.size(), std::size_t{1} << 20);
  auto batch = ParseBatchBody(body, BatchFormat::kJsonArray, 300, {}, kNow);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 300u);
  EXPECT_EQ((*batch)[299].event->event_id, "e299");
  // And the thread's parser still serves small documents afterwards.
  EXPECT_TRUE(
      ParseClickEvent(R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home"})", {}, kNow).ok());
}

}  // namespace
}  // namespace clickstream::ingestion
