#include "services/common/access.h"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "services/gateway/query_handler.h"
#include "services/ingestion/ingest_handler.h"
#include "support/fakes.h"

namespace clickstream::services {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LoadApiKeys, ReadsAListSkippingBlanks) {
  auto keys = LoadApiKeys(" k1 , ,k2");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(LoadApiKeys("")->empty());
}

TEST(LoadApiKeys, ReadsAFileOneKeyPerLine) {
  const std::string path = testing::TempDir() + "/keys.txt";
  std::ofstream(path) << "# ingest keys\nalpha\n\n beta \n";
  auto keys = LoadApiKeys("@" + path);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (std::vector<std::string>{"alpha", "beta"}));
}

TEST(LoadApiKeys, MissingOrEmptyFileIsAnErrorThatNamesNoKey) {
  EXPECT_FALSE(LoadApiKeys("@/nonexistent/keys").ok());
  const std::string path = testing::TempDir() + "/empty-keys.txt";
  std::ofstream(path) << "# nothing\n";
  EXPECT_FALSE(LoadApiKeys("@" + path).ok());
}

TEST(ApiKeys, MatchesOnlyWholeKeys) {
  ApiKeys keys({"secret-one", "secret-two"});
  EXPECT_EQ(keys.Match("secret-two"), 1u);
  EXPECT_EQ(keys.Match("secret-one"), 0u);
  EXPECT_FALSE(keys.Match("secret-on").has_value());
  EXPECT_FALSE(keys.Match("secret-one!").has_value());
  EXPECT_FALSE(keys.Match("").has_value());
}

TEST(PresentedKey, TakesXApiKeyOrBearer) {
  ports::HttpRequest request;
  request.authorization = "Bearer abc";
  EXPECT_EQ(PresentedKey(request), "abc");
  request.authorization = "bearer abc";
  EXPECT_EQ(PresentedKey(request), "abc");
  request.authorization = "Basic abc";
  EXPECT_EQ(PresentedKey(request), "");
  request.api_key = "xyz";
  EXPECT_EQ(PresentedKey(request), "xyz");
}

TEST(RateLimiter, AllowsTheBurstThenRefillsAtTheRate) {
  testing_support::FakeTimer clock;
  RateLimiter limiter(2, 10, 3, clock);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.TryTake(0, 1).has_value());
  auto wait = limiter.TryTake(0, 1);
  ASSERT_TRUE(wait.has_value());
  EXPECT_GE(*wait, milliseconds(99));
  EXPECT_LE(*wait, milliseconds(101));
  EXPECT_FALSE(limiter.TryTake(1, 1).has_value()) << "another key has its own bucket";
  clock.Advance(milliseconds(99));
  EXPECT_TRUE(limiter.TryTake(0, 1).has_value()) << "a token takes 100 ms to come back";
  clock.Advance(milliseconds(2));
  EXPECT_FALSE(limiter.TryTake(0, 1).has_value());
  clock.Advance(seconds(60));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.TryTake(0, 1).has_value()) << "saved up to the burst";
  EXPECT_TRUE(limiter.TryTake(0, 1).has_value()) << "but no more than the burst";
}

TEST(RateLimiter, ZeroRateIsOff) {
  testing_support::FakeTimer clock;
  RateLimiter limiter(1, 0, 0, clock);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.TryTake(0, 1).has_value());
}

constexpr const char* kEvent = R"({"event_id":"e1","user_id":"u1","event_type":"click","page_url":"/home"})";

std::optional<ports::HttpResponse> Post(ingestion::IngestionService& service, const std::string& key) {
  std::optional<ports::HttpResponse> answer;
  ports::HttpRequest request{"POST", "/ingest", {}, "application/json", kEvent, key, ""};
  ingestion::HandleIngest(service, request, [&](ports::HttpResponse r) { answer = std::move(r); });
  return answer;
}

TEST(IngestionAccess, RequiresAKeyWhenKeysAreConfigured) {
  ingestion::IngestionOptions options;
  options.api_keys = {"ingest-key"};
  auto publisher = std::make_unique<testing_support::FakePublisher>();
  auto* fake = publisher.get();
  ingestion::IngestionService service(options, std::move(publisher));
  auto missing = Post(service, "");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(Post(service, "wrong")->status, 401);
  EXPECT_TRUE(fake->published.empty());
  EXPECT_FALSE(Post(service, "ingest-key").has_value());  // accepted: waits for the broker's ack
  EXPECT_EQ(fake->published.size(), 1u);
}

TEST(IngestionAccess, RateLimitsPerKeyWith429AndRetryAfter) {
  ingestion::IngestionOptions options;
  options.api_keys = {"a", "b"};
  options.events_per_second_per_key = 1;
  options.burst_per_key = 2;
  auto clock = std::make_unique<testing_support::FakeTimer>();
  testing_support::FakeTimer& time = *clock;
  ingestion::IngestionService service(options, std::make_unique<testing_support::FakePublisher>(), domain::NowMicros,
                                      std::move(clock));
  EXPECT_FALSE(Post(service, "a").has_value());
  EXPECT_FALSE(Post(service, "a").has_value());
  auto limited = Post(service, "a");
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->status, 429);
  ASSERT_FALSE(limited->headers.empty());
  EXPECT_EQ(limited->headers[0].first, "Retry-After");
  EXPECT_EQ(limited->headers[0].second, "1");
  EXPECT_FALSE(Post(service, "b").has_value()) << "key b has its own budget";
  time.Advance(seconds(1));
  EXPECT_FALSE(Post(service, "a").has_value()) << "a second later, key a has a token again";
  EXPECT_EQ(Post(service, "a")->status, 429);
}

TEST(GatewayAccess, RequiresAKeyWhenKeysAreConfigured) {
  gateway::GatewayOptions options;
  options.api_keys = {"query-key"};
  gateway::GatewayService service(options, std::make_unique<testing_support::FakeCountClient>(),
                                  std::make_unique<testing_support::FakeTimer>());
  // Starts from no status at all, so a request left unanswered cannot pass as a 200.
  ports::HttpResponse answer{-1, "", "", {}};
  ports::HttpRequest request{"GET", "/analytics/events", {{"user_id", "u"}, {"page_url", "/p"}}, "", "", "", ""};
  gateway::HandleQuery(service, request, [&](ports::HttpResponse r) { answer = std::move(r); });
  EXPECT_EQ(answer.status, 401);
  answer.status = -1;
  request.authorization = "Bearer query-key";
  gateway::HandleQuery(service, request, [&](ports::HttpResponse r) { answer = std::move(r); });
  EXPECT_EQ(answer.status, 200);
}

}  // namespace
}  // namespace clickstream::services
