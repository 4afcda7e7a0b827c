#include "services/ingestion/ingest_handler.h"

#include <gtest/gtest.h>

#include <optional>

#include "domain/batch.h"
#include "support/fakes.h"

namespace clickstream::ingestion {
namespace {

using testing_support::FakePublisher;

constexpr int64_t kNow = 1'700'000'000'000'000;
constexpr const char* kEvent = R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home"})";

class IngestionServiceTest : public testing::Test {
 protected:
  explicit IngestionServiceTest(std::size_t max_in_flight = 2) {
    auto publisher = std::make_unique<FakePublisher>();
    publisher_ = publisher.get();
    IngestionOptions options;
    options.max_body_bytes = 256;
    options.max_in_flight = max_in_flight;
    service_ = std::make_unique<IngestionService>(options, std::move(publisher), [] { return kNow; });
  }

  // Sends a POST /ingest and returns where its answer will land.
  std::shared_ptr<std::optional<ports::HttpResponse>> Post(std::string body, std::string content_type = "") {
    auto answer = std::make_shared<std::optional<ports::HttpResponse>>();
    ports::HttpRequest request{"POST", "/ingest", {}, std::move(content_type), std::move(body), "", ""};
    HandleIngest(*service_, request, [answer](ports::HttpResponse response) { *answer = std::move(response); });
    return answer;
  }

  FakePublisher* publisher_;
  std::unique_ptr<IngestionService> service_;
};

TEST_F(IngestionServiceTest, AnswersOnlyAfterTheBrokerAcknowledged) {
  auto answer = Post(kEvent, "application/json");
  ASSERT_EQ(publisher_->published.size(), 1u);
  EXPECT_FALSE(answer->has_value());
  publisher_->Complete(0, absl::OkStatus());
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_NE((*answer)->body.find(R"("time_stamp":"2023-11-14T22:13:20Z")"), std::string::npos) << (*answer)->body;
}

TEST_F(IngestionServiceTest, TheAnswerSaysWhereTheEventWasStoredBesideItsFields) {
  auto answer = Post(kEvent, "application/json");
  ASSERT_EQ(publisher_->published.size(), 1u);
  publisher_->CompleteAt(0, {3, 1235});
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->body, R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home",)"
                             R"("time_stamp":"2023-11-14T22:13:20Z","position":"3-1235"})");
}

TEST_F(IngestionServiceTest, PublishesTheNormalizedEventKeyedByUser) {
  Post(kEvent);
  ASSERT_EQ(publisher_->published.size(), 1u);
  EXPECT_EQ(publisher_->published[0].key, "u1");
  EXPECT_EQ(publisher_->published[0].value,
            R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home",)"
            R"("time_stamp":"2023-11-14T22:13:20Z"})");
}

// Whatever ingestion accepts, the processor accepts too: it judges time_stamp against the record's timestamp,
// which must therefore be the very clock ingestion judged against (a clock with a sub-millisecond part here, the
// time stamps a microsecond either side of each limit).
TEST(IngestionTimeStamps, EveryAcceptedEventPassesTheProcessorsCheckOfItsRecord) {
  constexpr int64_t kClock = kNow + 999;
  const domain::EventLimits limits;
  const int64_t max_age = std::chrono::microseconds(limits.max_age).count();
  const int64_t max_skew = std::chrono::microseconds(limits.max_skew).count();
  auto publisher = std::make_unique<FakePublisher>();
  FakePublisher& published = *publisher;
  IngestionService service({}, std::move(publisher), [] { return kClock; });
  int accepted = 0;
  for (const int64_t time_stamp : {kClock - max_age - 1, kClock - max_age, kClock - max_age + 1, kClock + max_skew - 1,
                                   kClock + max_skew, kClock + max_skew + 1}) {
    const std::string body = R"({"event_id":"e)" + std::to_string(time_stamp) +
                             R"(","user_id":"u","event_type":"click","page_url":"/p","time_stamp":")" +
                             domain::FormatTimestamp(time_stamp) + R"("})";
    HandleIngest(service, {"POST", "/ingest", {}, "application/json", body, "", ""}, [](ports::HttpResponse) {});
  }
  for (const auto& record : published.published) {
    ++accepted;
    EXPECT_EQ(record.timestamp_ms, kClock / 1000);
    auto batch = domain::PrepareBatch({{0, 0, record.key, record.value, record.timestamp_ms}}, limits, 0);
    EXPECT_TRUE(batch.poison.empty()) << record.value << ": " << batch.poison.front().reason;
  }
  EXPECT_GE(accepted, 2);
}

TEST_F(IngestionServiceTest, BrokerFailureIs503WithRetryAfterNeverA200) {
  auto answer = Post(kEvent);
  publisher_->Complete(0, absl::UnavailableError("timed out"));
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 503);
  ASSERT_EQ((*answer)->headers.size(), 1u);
  EXPECT_EQ((*answer)->headers[0].first, "Retry-After");
}

TEST_F(IngestionServiceTest, FullInFlightQueueIs503AndPublishesNothing) {
  Post(kEvent);
  Post(kEvent);
  auto third = Post(kEvent);
  EXPECT_EQ(publisher_->published.size(), 2u);
  ASSERT_TRUE(third->has_value());
  EXPECT_EQ((*third)->status, 503);
  publisher_->Complete(0, absl::OkStatus());
  EXPECT_EQ(service_->InFlight(), 1u);
  Post(kEvent);
  EXPECT_EQ(publisher_->published.size(), 3u);
}

// Escaped text makes a body many times its events ("\u00e9" is 6 bytes of body for 2 of field): a bound on events
// alone lets a few clients pin any amount of memory while the broker is slow.
TEST(IngestionMemory, BytesAwaitingTheBrokerAreBoundedWhateverTheEventCount) {
  auto publisher = std::make_unique<FakePublisher>();
  FakePublisher& published = *publisher;
  IngestionOptions options;
  options.max_in_flight = 1000;
  options.max_in_flight_bytes = 8000;
  IngestionService service(options, std::move(publisher), [] { return kNow; });
  std::string escaped_page = "/";
  for (int i = 0; i < 300; ++i) escaped_page += "\\u00e9";  // 1,800 body bytes, 600 field bytes
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i) {
    const std::string body = R"({"event_id":"e)" + std::to_string(i) + R"(","user_id":"u","event_type":"click",)" +
                             R"("page_url":")" + escaped_page + R"("})";
    HandleIngest(service, {"POST", "/ingest", {}, "application/json", body, "", ""},
                 [&statuses](ports::HttpResponse response) { statuses.push_back(response.status); });
  }
  // Each holds its body and two copies of its event, about 3.3 kB: two fit in 8,000 bytes, the rest are refused.
  EXPECT_EQ(published.published.size(), 2u);
  EXPECT_EQ(statuses, std::vector<int>(4, 503));
  EXPECT_LE(service.InFlightBytes(), 8000u);
  EXPECT_GT(service.InFlightBytes(), 6000u);
  published.Complete(0, absl::OkStatus());
  EXPECT_LT(service.InFlightBytes(), 4000u);
  published.Complete(1, absl::OkStatus());
  EXPECT_EQ(service.InFlightBytes(), 0u);
  EXPECT_EQ(service.InFlight(), 0u);
}

TEST(IngestionMemory, ARequestLargerThanTheWholeBudgetIs413) {
  IngestionOptions options;
  options.max_in_flight_bytes = 1000;
  IngestionService service(options, std::make_unique<FakePublisher>(), [] { return kNow; });
  std::optional<ports::HttpResponse> answer;
  const std::string body =
      R"({"event_id":"e","user_id":"u","event_type":"click","page_url":"/)" + std::string(900, 'p') + R"("})";
  HandleIngest(service, {"POST", "/ingest", {}, "application/json", body, "", ""},
               [&answer](ports::HttpResponse response) { answer = std::move(response); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 413);
}

// Refusals are counted by reason, single posts and batch events alike, each reason shown from the start.
TEST(IngestionRefusals, AreCountedByReason) {
  metrics::Registry registry;
  IngestionOptions options;
  options.metrics = &registry;
  IngestionService service(options, std::make_unique<FakePublisher>(), [] { return kNow; });
  const auto count = [&registry](const std::string& reason) {
    const std::string series = "clickstream_ingest_invalid_events_total{reason=\"" + reason + "\"} ";
    const std::string text = registry.Render();
    const auto at = text.find("\n" + series);
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + 1 + series.size()));
  };
  EXPECT_EQ(count("time_stamp_too_old"), 0);
  EXPECT_EQ(count("time_stamp_too_far_ahead"), 0);
  EXPECT_EQ(count("invalid"), 0);
  const auto post = [&service](const std::string& body) {
    HandleIngest(service, {"POST", "/ingest", {}, "application/json", body, "", ""},
                 [](const ports::HttpResponse& r) { EXPECT_EQ(r.status, 400) << r.body; });
  };
  const std::string head = R"({"event_id":"e","user_id":"u","event_type":"click","page_url":"/p","time_stamp":")";
  post(head + R"(1970-01-01T00:00:00Z"})");
  post(head + R"(2100-01-01T00:00:00Z"})");
  post(R"({"event_id":"e","user_id":"u","event_type":"click"})");
  HandleIngestBatch(service,
                    {"POST",
                     "/ingest/batch",
                     {},
                     "application/json",
                     "[" + head + R"(1971-01-01T00:00:00Z"},{"event_id":"f"}])",
                     "",
                     ""},
                    [](const ports::HttpResponse& r) { EXPECT_EQ(r.status, 200) << r.body; });
  EXPECT_EQ(count("time_stamp_too_old"), 2);
  EXPECT_EQ(count("time_stamp_too_far_ahead"), 1);
  EXPECT_EQ(count("invalid"), 2);
}

TEST_F(IngestionServiceTest, InvalidEventIs400NamingTheField) {
  auto answer = Post(R"({"event_id":"e1","user_id":"u1","event_type":"click"})");
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 400);
  EXPECT_NE((*answer)->body.find(R"("field":"page_url")"), std::string::npos);
  EXPECT_TRUE(publisher_->published.empty());
}

TEST_F(IngestionServiceTest, OversizedBodyIs413) {
  auto answer = Post(std::string(300, ' ') + kEvent);
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 413);
  EXPECT_TRUE(publisher_->published.empty());
}

TEST_F(IngestionServiceTest, NonJsonContentTypeIs415) {
  auto answer = Post(kEvent, "application/xml");
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 415);
  auto accepted = Post(kEvent, "application/json; charset=utf-8");
  EXPECT_FALSE(accepted->has_value());  // waiting for the ack, so not rejected
}

}  // namespace
}  // namespace clickstream::ingestion
