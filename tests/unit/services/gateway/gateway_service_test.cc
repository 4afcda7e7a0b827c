#include "services/gateway/query_handler.h"

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace clickstream::gateway {
namespace {

using testing_support::FakeCountClient;
using testing_support::FakeTimer;

// Status of an answer that never came: matches no HTTP status, so a test expecting any answer fails on it.
constexpr int kNoAnswer = -1;

class GatewayServiceTest : public testing::Test {
 protected:
  GatewayServiceTest() {
    auto client = std::make_unique<FakeCountClient>();
    auto clock = std::make_unique<FakeTimer>();
    client_ = client.get();
    clock_ = clock.get();
    GatewayOptions options;
    options.query_deadline = std::chrono::milliseconds(3000);
    service_ = std::make_unique<GatewayService>(options, std::move(client), std::move(clock));
  }

  // The one answer to the request; kNoAnswer (and a test failure) when there was none, a failure too when more.
  ports::HttpResponse Get(std::map<std::string, std::string> query, std::string body = "",
                          std::string content_type = "") {
    return Send(HandleQuery, "/analytics/events", std::move(query), std::move(body), std::move(content_type));
  }

  ports::HttpResponse Reconcile(std::map<std::string, std::string> query, std::string body = "",
                                std::string content_type = "") {
    return Send(HandleReconcile, "/analytics/reconcile", std::move(query), std::move(body), std::move(content_type));
  }

  using Handler = void (*)(GatewayService&, const ports::HttpRequest&, ports::Respond);
  ports::HttpResponse Send(Handler handler, std::string path, std::map<std::string, std::string> query,
                           std::string body, std::string content_type) {
    ports::HttpResponse answer{kNoAnswer, "", "", {}};
    int answers = 0;
    handler(*service_, {"GET", std::move(path), std::move(query), std::move(content_type), std::move(body), "", ""},
            [&](ports::HttpResponse r) {
              answer = std::move(r);
              ++answers;
            });
    EXPECT_EQ(answers, 1) << "a request must be answered exactly once";
    return answer;
  }

  FakeCountClient* client_;
  FakeTimer* clock_;
  std::unique_ptr<GatewayService> service_;
};

TEST_F(GatewayServiceTest, EachLookUpCarriesTheQueryDeadlineFromItsArrival) {
  const auto arrived = clock_->Now();
  ASSERT_EQ(Get({{"user_id", "u"}, {"page_url", "/p"}}).status, 200);
  ASSERT_EQ(client_->deadlines.size(), 1u);
  EXPECT_EQ(client_->deadlines[0], arrived + std::chrono::milliseconds(3000));
}

TEST_F(GatewayServiceTest, AnswersFromQueryString) {
  client_->answer = 12;
  auto answer = Get({{"user_id", "u\"1"}, {"page_url", "/a b"}});
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, R"({"user_id":"u\"1","page_url":"/a b","count":12})");
}

TEST_F(GatewayServiceTest, AnswersSayHowFreshTheirCountIsBesideTheOriginalFields) {
  client_->answer = 12;
  client_->freshness = std::make_shared<const domain::Freshness>(
      domain::Freshness{domain::CountSource::kCache, {{0, 40}, {2, 7}}, 1'700'000'000'123'456, 15, 3});
  EXPECT_EQ(Get({{"user_id", "u"}, {"page_url", "/p"}}).body,
            R"({"user_id":"u","page_url":"/p","count":12,"freshness":{"source":"cache","position":"0-40.2-7",)"
            R"("newest_event_time":"2023-11-14T22:13:20.123456Z","age_ms":15,"lag":3}})");
  client_->freshness = std::make_shared<const domain::Freshness>();  // nothing applied, nothing known
  EXPECT_EQ(Get({{"user_id", "u"}, {"page_url", "/p"}}).body,
            R"({"user_id":"u","page_url":"/p","count":12,"freshness":{"source":"database","position":null,)"
            R"("newest_event_time":null,"age_ms":null,"lag":null}})");
}

TEST_F(GatewayServiceTest, AnswersFromJsonBodyOnGet) {
  client_->answer = 3;
  auto answer = Get({}, R"({"user_id":"u","page_url":"/p"})", "application/json");
  EXPECT_EQ(answer.status, 200);
  ASSERT_EQ(client_->asked.size(), 1u);
  EXPECT_EQ(client_->asked[0], (testing_support::Pair{"u", "/p"}));
}

TEST_F(GatewayServiceTest, MissingFieldIs400NamingIt) {
  auto answer = Get({{"user_id", "u"}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(answer.body.find(R"("field":"page_url")"), std::string::npos);
  EXPECT_TRUE(client_->asked.empty());
}

TEST_F(GatewayServiceTest, MalformedBodyIs400) {
  EXPECT_EQ(Get({}, "{user_id:").status, 400);
  EXPECT_EQ(Get({}, R"({"user_id":1,"page_url":"/p"})").status, 400);
}

TEST_F(GatewayServiceTest, AnalyticsUnavailableIs503AndDeadlineIs504) {
  client_->answer = absl::UnavailableError("down");
  EXPECT_EQ(Get({{"user_id", "u"}, {"page_url", "/p"}}).status, 503);
  client_->answer = absl::DeadlineExceededError("slow");
  EXPECT_EQ(Get({{"user_id", "u"}, {"page_url", "/p"}}).status, 504);
}

// Read-your-writes: the token goes to analytics with the pair, in a call of its own (never behind a coalesced
// batch), and the answer is the count analytics read once the position was applied.
TEST_F(GatewayServiceTest, APositionGoesToAnalyticsWithThePairInACallOfItsOwn) {
  client_->hold_batches = true;
  HandleQuery(*service_, {"GET", "/analytics/events", {{"user_id", "u"}, {"page_url", "/p"}}, "", "", "", ""},
              [](const ports::HttpResponse&) {});  // a coalesced batch held in flight
  client_->counts[{"u", "/q"}] = 5;
  int status = kNoAnswer;
  std::string body;
  HandleQuery(
      *service_,
      {"GET", "/analytics/events", {{"user_id", "u"}, {"page_url", "/q"}, {"position", "0-12.3-4"}}, "", "", "", ""},
      [&](ports::HttpResponse r) {
        status = r.status;
        body = r.body;
      });
  ASSERT_EQ(client_->afters.size(), 2u) << "sent at once, beside the batch in flight";
  EXPECT_EQ(client_->afters[0], domain::Position{});
  EXPECT_EQ(client_->afters[1], (domain::Position{{0, 12}, {3, 4}}));
  client_->ReleaseOldest();
  client_->ReleaseOldest();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, R"({"user_id":"u","page_url":"/q","count":5})");
}

TEST_F(GatewayServiceTest, APositionNotFromIngestionIs400NamingIt) {
  const auto answer = Get({{"user_id", "u"}, {"page_url", "/p"}, {"position", "latest"}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(answer.body.find(R"("field":"position")"), std::string::npos) << answer.body;
  EXPECT_TRUE(client_->asked.empty());
}

TEST_F(GatewayServiceTest, APositionNotAppliedInTimeIs503WithRetryAfterAndThePositionAppliedSoFar) {
  client_->answer = domain::WithAppliedPosition(absl::UnavailableError("not applied yet"), {{0, 11}});
  const auto answer = Get({{"user_id", "u"}, {"page_url", "/p"}, {"position", "0-12"}});
  EXPECT_EQ(answer.status, 503);
  EXPECT_EQ(answer.body, R"({"error":"unavailable","message":"not applied yet","position":"0-11"})");
  ASSERT_EQ(answer.headers.size(), 1u);
  EXPECT_EQ(answer.headers[0].first, "Retry-After");
}

}  // namespace
}  // namespace clickstream::gateway

namespace clickstream::gateway {
namespace {

TEST_F(GatewayServiceTest, AReconciliationIsAskedOfAnalyticsInACallOfItsOwnAndAnsweredWithBothNumbers) {
  domain::Reconciliation reconciliation;
  reconciliation.counter = 7;
  reconciliation.raw_rows = 7;
  reconciliation.cached = 6;
  reconciliation.freshness.position = {{0, 12}, {3, 4}};
  reconciliation.freshness.newest_event_time_us = 1'700'000'000'123'456;
  reconciliation.freshness.age_ms = 15;
  reconciliation.freshness.lag = 2;
  client_->reconciliation = reconciliation;
  const auto arrived = clock_->Now();
  auto answer = Reconcile({{"user_id", "u\"1"}, {"page_url", "/a b"}});
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, R"({"user_id":"u\"1","page_url":"/a b","consistent":true,"counter":7,"raw_rows":7,"cache":6,)"
                         R"("freshness":{"source":"database","position":"0-12.3-4",)"
                         R"("newest_event_time":"2023-11-14T22:13:20.123456Z","age_ms":15,"lag":2}})");
  ASSERT_EQ(client_->reconciled.size(), 1u);
  EXPECT_EQ(client_->reconciled[0], (testing_support::Pair{"u\"1", "/a b"}));
  EXPECT_TRUE(client_->batch_sizes.empty()) << "no coalesced batch carried it";
  EXPECT_EQ(client_->deadlines.at(0), arrived + std::chrono::milliseconds(3000));
}

TEST_F(GatewayServiceTest, AReconciliationSaysInconsistentWithBothNumbersAndACacheItDidNotFindAsNull) {
  domain::Reconciliation reconciliation;
  reconciliation.counter = 8;
  reconciliation.raw_rows = 7;
  client_->reconciliation = reconciliation;
  auto answer = Reconcile({}, R"({"user_id":"u","page_url":"/p"})", "application/json");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body,
            R"({"user_id":"u","page_url":"/p","consistent":false,"counter":8,"raw_rows":7,"cache":null,)"
            R"("freshness":{"source":"database","position":null,"newest_event_time":null,"age_ms":null,"lag":null}})");
}

TEST_F(GatewayServiceTest, AReconciliationOfABadPairIs400AndAnAnalyticsFailureIs503) {
  auto missing = Reconcile({{"user_id", "u"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("page_url"), std::string::npos) << missing.body;
  EXPECT_EQ(Reconcile({{"user_id", "u"}, {"page_url", "/p"}}, "<pair/>", "application/xml").status, 415);
  EXPECT_TRUE(client_->reconciled.empty());
  client_->reconciliation = absl::UnavailableError("analytics down");
  EXPECT_EQ(Reconcile({{"user_id", "u"}, {"page_url", "/p"}}).status, 503);
}

}  // namespace
}  // namespace clickstream::gateway
