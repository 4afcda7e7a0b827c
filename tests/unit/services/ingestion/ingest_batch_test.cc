// POST /ingest/batch against a fake publisher.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

#include "domain/click_event.h"
#include "services/ingestion/ingest_handler.h"
#include "support/events.h"
#include "support/fakes.h"

namespace clickstream::ingestion {
namespace {

using testing_support::FakePublisher;

constexpr int64_t kNow = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr const char* kJson = "application/json";
constexpr const char* kNdjson = "application/x-ndjson";

std::string Event(const std::string& id, const std::string& user = "u1", const std::string& page = "/home") {
  return testing_support::EventJson(id, user, page);
}

std::string Accepted(int index, const std::string& id) {
  return R"({"index":)" + std::to_string(index) + R"(,"event_id":")" + id + R"(","status":"accepted"})";
}

std::string Unavailable(int index, const std::string& id, const std::string& message) {
  return R"({"index":)" + std::to_string(index) + R"(,"event_id":")" + id +
         R"(","status":"rejected","error":{"code":"unavailable","message":")" + message + R"("}})";
}

// Completes every publish inline, before Publish returns, as the Kafka publisher does when its queue is full.
class InlinePublisher final : public ports::EventPublisher {
 public:
  explicit InlinePublisher(absl::Status outcome) : outcome_(std::move(outcome)) {}
  void Publish(std::string_view, std::string_view, int64_t, const tracing::TraceContext&, Done done) override {
    ++published;
    if (outcome_.ok()) {
      done(domain::PartitionOffset{0, published});
    } else {
      done(outcome_);
    }
  }
  absl::Status CheckReady(std::chrono::milliseconds) override { return absl::OkStatus(); }
  void Drain(std::chrono::milliseconds) override {}
  int published = 0;

 private:
  const absl::Status outcome_;
};

// Small limits, so tests can reach them.
IngestionOptions SmallOptions() {
  IngestionOptions options;
  options.batch_max_events = 5;
  options.batch_max_body_bytes = 1024;
  options.max_in_flight = 8;
  return options;
}

class IngestBatchTest : public testing::Test {
 protected:
  IngestBatchTest() { Make(SmallOptions()); }
  // The port promises one completion per publish, and a batch lives until its last one: complete what a test left
  // waiting, so nothing leaks.
  ~IngestBatchTest() override { CompleteAll(absl::UnavailableError("test over")); }

  // Rebuilds the service; without `publisher`, over a FakePublisher.
  void Make(IngestionOptions options, std::unique_ptr<ports::EventPublisher> publisher = nullptr) {
    CompleteAll(absl::UnavailableError("service replaced"));
    completed_.clear();
    publisher_ = nullptr;
    if (publisher == nullptr) {
      auto fake = std::make_unique<FakePublisher>();
      publisher_ = fake.get();
      publisher = std::move(fake);
    }
    service_ = std::make_unique<IngestionService>(options, std::move(publisher), [] { return kNow; });
  }

  // Sends a POST /ingest/batch and returns where its answer will land.
  std::shared_ptr<std::optional<ports::HttpResponse>> Post(std::string body, std::string content_type = kJson,
                                                           std::string api_key = "") {
    auto answer = std::make_shared<std::optional<ports::HttpResponse>>();
    ports::HttpRequest request{"POST",          "/ingest/batch",    {}, std::move(content_type),
                               std::move(body), std::move(api_key), ""};
    HandleIngestBatch(*service_, request, [answer](ports::HttpResponse response) {
      EXPECT_FALSE(answer->has_value()) << "answered twice";
      *answer = std::move(response);
    });
    return answer;
  }

  // Completes publish `index` (once).
  void Complete(std::size_t index, absl::Status status) {
    ASSERT_TRUE(completed_.insert(index).second) << "publish " << index << " completed twice";
    publisher_->Complete(index, std::move(status));
  }

  // Completes every publish not completed yet.
  void CompleteAll(absl::Status status = absl::OkStatus()) {
    if (publisher_ == nullptr) return;
    for (std::size_t i = 0; i < publisher_->published.size(); ++i) {
      if (!completed_.contains(i)) Complete(i, status);
    }
  }

  FakePublisher* publisher_ = nullptr;  // null when the service has another publisher
  std::set<std::size_t> completed_;
  std::unique_ptr<IngestionService> service_;
};

TEST_F(IngestBatchTest, JsonArrayIsAnsweredOnlyAfterEveryEventIsAcknowledged) {
  auto answer = Post("[" + Event("e1") + "," + Event("e2", "u2") + "]");
  ASSERT_EQ(publisher_->published.size(), 2u);
  EXPECT_EQ(service_->InFlight(), 2u);
  Complete(1, absl::OkStatus());  // acknowledgements may come in any order
  EXPECT_FALSE(answer->has_value());
  EXPECT_EQ(service_->InFlight(), 1u);
  Complete(0, absl::OkStatus());
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_EQ((*answer)->content_type, "application/json");
  EXPECT_EQ((*answer)->body, R"({"accepted":2,"rejected":0,"results":[)" + Accepted(0, "e1") + "," + Accepted(1, "e2") +
                                 R"(],"position":"0-2"})");
  EXPECT_EQ(service_->InFlight(), 0u);
}

TEST_F(IngestBatchTest, PublishesEachNormalizedEventKeyedByUserAsSingleIngestDoes) {
  Post("[" + Event("e1") + "," + Event("e2", "u2", "/b") + "]");
  ASSERT_EQ(publisher_->published.size(), 2u);
  EXPECT_EQ(publisher_->published[0].key, "u1");
  EXPECT_EQ(publisher_->published[0].value,
            R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home",)"
            R"("time_stamp":"2023-11-14T22:13:20Z"})");
  EXPECT_EQ(publisher_->published[1].key, "u2");
  EXPECT_EQ(publisher_->published[1].value,
            domain::ToJson(*domain::ParseClickEvent(Event("e2", "u2", "/b"), {}, kNow)));
}

TEST_F(IngestBatchTest, ThePositionCoversEveryAcceptedEventInEveryPartitionAndNoRefusedOne) {
  auto answer =
      Post("[" + Event("e1") + "," + Event("e2", "u2") + "," + Event("e3", "u3") + "," + Event("e4", "u4") + "]");
  ASSERT_EQ(publisher_->published.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) completed_.insert(i);  // completed by hand below
  publisher_->CompleteAt(0, {2, 12});
  publisher_->CompleteAt(1, {0, 8});
  publisher_->published.at(2).done(absl::UnavailableError("not acknowledged"));  // would have been the furthest
  publisher_->CompleteAt(3, {2, 9});
  ASSERT_TRUE(answer->has_value());
  EXPECT_NE((*answer)->body.find(R"(],"position":"0-8.2-12"})"), std::string::npos) << (*answer)->body;
}

TEST_F(IngestBatchTest, NdjsonTakesOneEventPerLineSkippingBlankLines) {
  auto answer =
      Post(Event("e1") + "\r\n\n   \n" + Event("e2") + "\n" + Event("e3"), "Application/X-NDJSON; charset=utf-8");
  ASSERT_EQ(publisher_->published.size(), 3u);
  CompleteAll();
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_EQ((*answer)->body, R"({"accepted":3,"rejected":0,"results":[)" + Accepted(0, "e1") + "," + Accepted(1, "e2") +
                                 "," + Accepted(2, "e3") + R"(],"position":"0-3"})");
}

TEST_F(IngestBatchTest, MixedBatchAnswersPerEventInOrderAndPublishesOnlyTheValidOnes) {
  const std::string body = "[" + Event("e1") + "," +                                               // valid
                           R"({"event_id":"e2","user_id":"u1","event_type":"click"},)" +           // no page_url
                           R"("not an object",)" +                                                 // no event_id
                           R"({"event_id":"","user_id":"u1","event_type":"c","page_url":"/"},)" +  // the id is bad
                           Event("e5", "u5") + "]";
  auto answer = Post(body);
  ASSERT_EQ(publisher_->published.size(), 2u);
  EXPECT_EQ(publisher_->published[0].key, "u1");
  EXPECT_EQ(publisher_->published[1].key, "u5");
  EXPECT_EQ(service_->InFlight(), 2u) << "only valid events take in-flight room";
  Complete(0, absl::OkStatus());
  EXPECT_FALSE(answer->has_value());
  Complete(1, absl::OkStatus());
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_EQ((*answer)->body,
            R"({"accepted":2,"rejected":3,"results":[)" + Accepted(0, "e1") +
                R"(,{"index":1,"event_id":"e2","status":"rejected","error":{"code":"invalid_argument",)"
                R"("message":"page_url must not be empty","field":"page_url"}})"
                R"(,{"index":2,"status":"rejected","error":{"code":"invalid_argument",)"
                R"("message":"event must be a JSON object"}})"
                R"(,{"index":3,"status":"rejected","error":{"code":"invalid_argument",)"
                R"("message":"event_id must not be empty","field":"event_id"}},)" +
                Accepted(4, "e5") + R"(],"position":"0-2"})");
}

TEST_F(IngestBatchTest, NdjsonLineThatIsNotJsonRejectsOnlyThatEvent) {
  auto answer = Post(Event("e1") + "\n{\"event_id\":\"e2\",\n" + Event("e3"), kNdjson);
  ASSERT_EQ(publisher_->published.size(), 2u);
  CompleteAll();
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_NE((*answer)->body.find(R"({"accepted":2,"rejected":1,)"), std::string::npos) << (*answer)->body;
  EXPECT_NE((*answer)->body.find(R"({"index":1,"status":"rejected","error":{"code":"invalid_argument")"),
            std::string::npos)
      << (*answer)->body;
}

TEST_F(IngestBatchTest, EventRejectedForAnotherFieldKeepsItsEventId) {
  auto answer = Post(R"([{"event_id":"e1","user_id":"u1","user_id":"u2","event_type":"c","page_url":"/"}])");
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->body,
            R"({"accepted":0,"rejected":1,"results":[{"index":0,"event_id":"e1","status":"rejected",)"
            R"("error":{"code":"invalid_argument","message":"user_id appears more than once","field":"user_id"}}]})");
}

TEST_F(IngestBatchTest, OnlyInvalidEventsIsA200AtOnceWithNothingPublished) {
  auto answer = Post(R"([{"event_id":"e1"}, 17])");
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_NE((*answer)->body.find(R"({"accepted":0,"rejected":2,)"), std::string::npos) << (*answer)->body;
  EXPECT_TRUE(publisher_->published.empty());
  EXPECT_EQ(service_->InFlight(), 0u);
}

TEST_F(IngestBatchTest, FailedPublishIsRejectedAsUnavailableForThatEventOnly) {
  auto answer = Post("[" + Event("e1") + "," + Event("e2") + "," + Event("e3") + "]");
  ASSERT_EQ(publisher_->published.size(), 3u);
  Complete(0, absl::OkStatus());
  Complete(1, absl::UnavailableError("the broker did not acknowledge the event"));
  Complete(2, absl::ResourceExhaustedError("the producer queue is full"));
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_EQ((*answer)->body, R"({"accepted":1,"rejected":2,"results":[)" + Accepted(0, "e1") + "," +
                                 Unavailable(1, "e2", "the broker did not acknowledge the event") + "," +
                                 Unavailable(2, "e3", "the producer queue is full") + R"(],"position":"0-1"})");
  EXPECT_EQ(service_->InFlight(), 0u);
}

TEST_F(IngestBatchTest, NoEventAcknowledgedIs503WithRetryAfter) {
  auto answer = Post("[" + Event("e1") + R"(,{"event_id":"bad"},)" + Event("e3") + "]");
  ASSERT_EQ(publisher_->published.size(), 2u);
  CompleteAll(absl::UnavailableError("broker down"));
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 503);
  ASSERT_EQ((*answer)->headers.size(), 1u);
  EXPECT_EQ((*answer)->headers[0].first, "Retry-After");
  EXPECT_NE((*answer)->body.find(R"("error":"unavailable")"), std::string::npos) << (*answer)->body;
  EXPECT_EQ(service_->InFlight(), 0u);
}

TEST_F(IngestBatchTest, PublishesCompletedInlineAnswerOnceAfterTheWholeBatch) {
  auto inline_ok = std::make_unique<InlinePublisher>(absl::OkStatus());
  InlinePublisher* publisher = inline_ok.get();
  Make(SmallOptions(), std::move(inline_ok));
  // The invalid event last: the handler still walks the batch after the last publish completed (under ASan a
  // batch freed too early shows here).
  auto answer = Post("[" + Event("e1") + "," + Event("e2") + "," + Event("e3") + R"(,{"event_id":"bad"}])");
  EXPECT_EQ(publisher->published, 3) << "an inline completion must not end the batch before it is all published";
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_NE((*answer)->body.find(R"({"accepted":3,"rejected":1,)"), std::string::npos) << (*answer)->body;
  EXPECT_EQ(service_->InFlight(), 0u);
}

TEST_F(IngestBatchTest, FullProducerQueueForEveryEventIs503) {
  Make(SmallOptions(), std::make_unique<InlinePublisher>(absl::ResourceExhaustedError("the producer queue is full")));
  auto answer = Post("[" + Event("e1") + "," + Event("e2") + "]");
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 503);
  EXPECT_EQ(service_->InFlight(), 0u);
}

TEST_F(IngestBatchTest, BatchThatDoesNotFitInFlightIs503AndPublishesNothing) {
  Post("[" + Event("e1") + "," + Event("e2") + "," + Event("e3") + "," + Event("e4") + "," + Event("e5") + "]");
  Post("[" + Event("e6") + "," + Event("e7") + "]");
  ASSERT_EQ(publisher_->published.size(), 7u);  // max_in_flight is 8
  auto refused = Post("[" + Event("e8") + "," + Event("e9") + "]");
  ASSERT_TRUE(refused->has_value());
  EXPECT_EQ((*refused)->status, 503);
  ASSERT_EQ((*refused)->headers.size(), 1u);
  EXPECT_EQ((*refused)->headers[0].first, "Retry-After");
  EXPECT_EQ(publisher_->published.size(), 7u) << "a batch that does not fit is refused whole";
  EXPECT_EQ(service_->InFlight(), 7u);
  // The single endpoint shares the bound: one more event still fits.
  ports::HttpRequest single{"POST", "/ingest", {}, kJson, Event("s1"), "", ""};
  HandleIngest(*service_, single, [](ports::HttpResponse) {});
  EXPECT_EQ(publisher_->published.size(), 8u);
  Complete(0, absl::OkStatus());
  auto fits = Post("[" + Event("e8") + "]");
  EXPECT_FALSE(fits->has_value());
  EXPECT_EQ(publisher_->published.size(), 9u);
}

TEST_F(IngestBatchTest, MoreEventsThanTheLimitIs413AndPublishesNothing) {
  std::string array = "[", ndjson;
  for (int i = 0; i < 6; ++i) {
    array += (i > 0 ? "," : "") + Event("e" + std::to_string(i));
    ndjson += Event("e" + std::to_string(i)) + "\n";
  }
  for (const auto& [body, type] : {std::pair{array + "]", kJson}, std::pair{ndjson, kNdjson}}) {
    auto answer = Post(body, type);
    ASSERT_TRUE(answer->has_value()) << type;
    EXPECT_EQ((*answer)->status, 413) << type;
    EXPECT_NE((*answer)->body.find("more than 5 events"), std::string::npos) << (*answer)->body;
  }
  EXPECT_TRUE(publisher_->published.empty());
}

TEST_F(IngestBatchTest, BodyOverTheBatchLimitIs413) {
  auto answer = Post("[" + Event("e1") + "]" + std::string(1024, ' '));
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 413);
  EXPECT_NE((*answer)->body.find(R"("error":"payload_too_large")"), std::string::npos);
  EXPECT_TRUE(publisher_->published.empty());
}

TEST_F(IngestBatchTest, OtherContentTypesAre415) {
  for (const char* type : {"", "text/html", "application/xml", "application/x-www-form-urlencoded"}) {
    auto answer = Post("[" + Event("e1") + "]", type);
    ASSERT_TRUE(answer->has_value()) << type;
    EXPECT_EQ((*answer)->status, 415) << type;
    EXPECT_NE((*answer)->body.find(R"("error":"unsupported_media_type")"), std::string::npos);
  }
  EXPECT_TRUE(publisher_->published.empty());
  Post("[" + Event("e1") + "]", "Application/JSON; charset=utf-8");
  EXPECT_EQ(publisher_->published.size(), 1u);
}

// navigator.sendBeacon's string bodies are text/plain;charset=UTF-8: an array or NDJSON, told by the first character.
TEST_F(IngestBatchTest, TextPlainIsAJsonArrayWhenItStartsWithABracketElseNdjson) {
  auto array = Post(" \n[" + Event("e1") + "," + Event("e2") + "]", "text/plain;charset=UTF-8");
  auto ndjson = Post(Event("e3") + "\n" + Event("e4") + "\n", "Text/Plain");
  ASSERT_EQ(publisher_->published.size(), 4u);
  CompleteAll();
  for (const auto& answer : {array, ndjson}) {
    ASSERT_TRUE(answer->has_value());
    EXPECT_EQ((*answer)->status, 200) << (*answer)->body;
    EXPECT_NE((*answer)->body.find(R"("accepted":2,"rejected":0)"), std::string::npos) << (*answer)->body;
  }
  // Neither: one NDJSON line that is no event, refused; nothing published.
  auto form = Post("event_id=e5&user_id=u", "text/plain");
  ASSERT_TRUE(form->has_value());
  EXPECT_NE((*form)->body.find(R"("accepted":0)"), std::string::npos) << (*form)->body;
  EXPECT_EQ(publisher_->published.size(), 4u);
}

TEST_F(IngestBatchTest, BodyThatIsNoBatchIs400AndPublishesNothing) {
  const std::pair<std::string, const char*> cases[] = {
      {"", kJson},          {"[]", kJson},        {" [ ] ", kJson}, {"[" + Event("e1"), kJson},
      {"{not json", kJson}, {Event("e1"), kJson}, {"", kNdjson},    {"\n \r\n\t\n", kNdjson},
  };
  for (const auto& [body, type] : cases) {
    auto answer = Post(body, type);
    ASSERT_TRUE(answer->has_value()) << body;
    EXPECT_EQ((*answer)->status, 400) << type << " " << body;
    EXPECT_NE((*answer)->body.find(R"("error":"invalid_argument")"), std::string::npos) << (*answer)->body;
  }
  EXPECT_TRUE(publisher_->published.empty());
}

TEST_F(IngestBatchTest, ApiKeyIsRequiredWhenConfigured) {
  IngestionOptions options = SmallOptions();
  options.api_keys = {"key-1"};
  Make(options);
  auto denied = Post("[" + Event("e1") + "]", kJson, "wrong");
  ASSERT_TRUE(denied->has_value());
  EXPECT_EQ((*denied)->status, 401);
  auto absent = Post("[" + Event("e1") + "]");
  ASSERT_TRUE(absent->has_value());
  EXPECT_EQ((*absent)->status, 401);
  EXPECT_TRUE(publisher_->published.empty());
  auto allowed = Post("[" + Event("e1") + "]", kJson, "key-1");
  EXPECT_FALSE(allowed->has_value());
  EXPECT_EQ(publisher_->published.size(), 1u);
}

TEST_F(IngestBatchTest, RateLimitChargesEveryEventOfTheBatch) {
  IngestionOptions options = SmallOptions();
  options.api_keys = {"key-1"};
  options.events_per_second_per_key = 1;
  options.burst_per_key = 3;
  Make(options);
  auto over_burst =
      Post("[" + Event("e1") + "," + Event("e2") + "," + Event("e3") + "," + Event("e4") + "]", kJson, "key-1");
  ASSERT_TRUE(over_burst->has_value());
  EXPECT_EQ((*over_burst)->status, 413) << "a batch larger than the burst could never pass";
  auto first = Post("[" + Event("e1") + R"(,{"event_id":"bad"},)" + Event("e3") + "]", kJson, "key-1");
  EXPECT_EQ(publisher_->published.size(), 2u);
  auto limited = Post("[" + Event("e4") + "]", kJson, "key-1");
  ASSERT_TRUE(limited->has_value());
  EXPECT_EQ((*limited)->status, 429) << "the invalid event cost a token too";
  EXPECT_EQ((*limited)->headers[0].first, "Retry-After");
  EXPECT_EQ(publisher_->published.size(), 2u);
}

TEST_F(IngestBatchTest, RoutesServeTheBatchEndpointBesideTheSingleOne) {
  bool found = false;
  for (const auto& route : IngestRoutes(*service_)) found |= route.method == "POST" && route.path == "/ingest/batch";
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace clickstream::ingestion
