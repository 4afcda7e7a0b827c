#include "services/ingestion/ingestion_service.h"

#include <gtest/gtest.h>

#include <optional>

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
    service_->HandleIngest(request, [answer](ports::HttpResponse response) { *answer = std::move(response); });
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

TEST_F(IngestionServiceTest, PublishesTheNormalizedEventKeyedByUser) {
  Post(kEvent);
  ASSERT_EQ(publisher_->published.size(), 1u);
  EXPECT_EQ(publisher_->published[0].key, "u1");
  EXPECT_EQ(publisher_->published[0].value,
            R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home",)"
            R"("time_stamp":"2023-11-14T22:13:20Z"})");
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
