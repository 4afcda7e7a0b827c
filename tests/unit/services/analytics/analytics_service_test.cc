#include "services/analytics/analytics_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>

#include "support/fakes.h"

namespace clickstream::analytics {
namespace {

using namespace testing_support;

class AnalyticsServiceTest : public testing::Test {
 protected:
  explicit AnalyticsServiceTest(std::size_t queue_depth = 16) {
    auto cache = std::make_unique<FakeCountCache>();
    auto store = std::make_unique<FakeCountStore>();
    cache_ = cache.get();
    store_ = store.get();
    service_ = std::make_unique<AnalyticsService>(AnalyticsOptions{2, queue_depth, {}, nullptr}, std::move(cache),
                                                  std::move(store));
  }

  std::vector<absl::StatusOr<int64_t>> AskMany(std::vector<domain::CountQuery> pairs) {
    std::promise<std::vector<absl::StatusOr<int64_t>>> answer;
    service_->GetCounts(std::move(pairs), {},
                        [&](std::vector<absl::StatusOr<int64_t>> counts) { answer.set_value(std::move(counts)); });
    return answer.get_future().get();
  }

  absl::StatusOr<int64_t> Ask(std::string user, std::string page) {
    std::promise<absl::StatusOr<int64_t>> answer;
    service_->GetCount(std::move(user), std::move(page), [&](absl::StatusOr<int64_t> r) { answer.set_value(r); });
    return answer.get_future().get();
  }

  FakeCountCache* cache_;
  FakeCountStore* store_;
  std::unique_ptr<AnalyticsService> service_;
};

TEST(AnalyticsServiceTracing, RecordsTheReadsOfASampledCallUnderItsSpanAndNothingOfOthers) {
  auto sink = std::make_shared<FakeSpanSink>();
  const tracing::Tracer tracer({"analytics", 0}, sink);
  auto cache = std::make_unique<FakeCountCache>();
  auto store = std::make_unique<FakeCountStore>();
  cache->values[{"hit", "/p"}] = 1;
  store->counts[{"miss", "/p"}] = 3;
  AnalyticsOptions options{2, 16, {}, nullptr};
  options.tracer = &tracer;
  AnalyticsService service(options, std::move(cache), std::move(store));
  const auto ask = [&](const tracing::TraceContext& trace) {
    std::promise<std::vector<absl::StatusOr<int64_t>>> answer;
    service.GetCounts({{"hit", "/p"}, {"miss", "/p"}}, trace,
                      [&](std::vector<absl::StatusOr<int64_t>> counts) { answer.set_value(std::move(counts)); });
    return answer.get_future().get();
  };
  const tracing::TraceContext call{10, 20, 30, true};
  const auto counts = ask(call);
  EXPECT_EQ(*counts[0], 1);
  EXPECT_EQ(*counts[1], 3);
  ask({10, 20, 40, false});
  ask({});
  const auto spans = sink->Spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "redis get counts");
  EXPECT_EQ(spans[1].name, "postgres get counts");
  for (const auto& span : spans) {
    EXPECT_EQ(span.parent_id, 30u);
    EXPECT_EQ(span.context.trace_high, 10u);
    EXPECT_EQ(span.context.trace_low, 20u);
    EXPECT_EQ(span.service, "analytics");
  }
  EXPECT_NE(std::find(spans[1].tags.begin(), spans[1].tags.end(), std::pair<std::string, std::string>{"pairs", "1"}),
            spans[1].tags.end());  // only the miss reached the database
}

// Read-your-writes. The processor raises the cache only after its commit: a call after a position reads the
// database once the position is applied there, never a cached count that may not include it yet.
TEST_F(AnalyticsServiceTest, ACallAfterAPositionWaitsForItThenReadsTheDatabaseNotTheCache) {
  cache_->values[{"u", "/p"}] = 1;  // not yet raised by the processor
  store_->counts[{"u", "/p"}] = 2;
  store_->SetApplied({{0, 9}});
  std::promise<std::vector<absl::StatusOr<int64_t>>> answer;
  auto future = answer.get_future();
  service_->GetCounts({{"u", "/p"}}, {},
                      [&](std::vector<absl::StatusOr<int64_t>> counts) { answer.set_value(std::move(counts)); },
                      {{0, 10}});
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  store_->SetApplied({{0, 10}});
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto counts = future.get();
  EXPECT_EQ(*counts[0], 2);
  EXPECT_EQ(*AskMany({{"u", "/p"}})[0], 2) << "the refill raised the cache";
}

TEST(AnalyticsPositionWait, APositionNotAppliedWithinTheWaitFailsEveryPairCarryingTheAppliedOne) {
  auto store = std::make_unique<FakeCountStore>();
  store->SetApplied({{0, 3}});
  AnalyticsOptions options{2, 16, {}, nullptr};
  options.position_wait = std::chrono::milliseconds(30);
  AnalyticsService service(options, std::make_unique<FakeCountCache>(), std::move(store));
  std::promise<std::vector<absl::StatusOr<int64_t>>> answer;
  service.GetCounts({{"u", "/p"}, {"v", "/q"}}, {},
                    [&](std::vector<absl::StatusOr<int64_t>> counts) { answer.set_value(std::move(counts)); },
                    {{0, 4}});
  const auto counts = answer.get_future().get();
  ASSERT_EQ(counts.size(), 2u);
  for (const auto& count : counts) {
    EXPECT_EQ(count.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(domain::AppliedPositionOf(count.status()), "0-3");
  }
}

TEST_F(AnalyticsServiceTest, MissReadsTheDatabaseAndRefillsTheCache) {
  store_->counts[{"u", "/p"}] = 7;
  EXPECT_EQ(*Ask("u", "/p"), 7);
  EXPECT_EQ((cache_->values[{"u", "/p"}]), 7);
  EXPECT_EQ(*Ask("u", "/p"), 7);
  EXPECT_EQ(store_->reads, 1);
  EXPECT_EQ(service_->cache_hits(), 1u);
}

TEST_F(AnalyticsServiceTest, ManyPairsAnswerInOrderFromCacheAndDatabaseWithInvalidOnesRefused) {
  cache_->values[{"hit", "/p"}] = 4;
  store_->counts[{"miss", "/p"}] = 9;
  std::promise<std::vector<absl::StatusOr<int64_t>>> answer;
  service_->GetCounts({{"hit", "/p"}, {"", "/p"}, {"miss", "/p"}, {"never", "/p"}}, {},
                      [&](std::vector<absl::StatusOr<int64_t>> counts) { answer.set_value(std::move(counts)); });
  auto counts = answer.get_future().get();
  ASSERT_EQ(counts.size(), 4u);
  EXPECT_EQ(*counts[0], 4);
  EXPECT_EQ(counts[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*counts[2], 9);
  EXPECT_EQ(*counts[3], 0);
  EXPECT_EQ(store_->reads, 2);                     // only the misses
  EXPECT_EQ((cache_->values[{"miss", "/p"}]), 9);  // refilled
  EXPECT_EQ(service_->cache_hits(), 1u);
}

TEST_F(AnalyticsServiceTest, CacheMissesAreReadFromTheDatabaseInOneRoundTrip) {
  cache_->values[{"hit", "/p"}] = 1;
  store_->counts[{"a", "/p"}] = 2;
  store_->counts[{"b", "/p"}] = 3;
  auto counts = AskMany({{"a", "/p"}, {"hit", "/p"}, {"b", "/p"}, {"never", "/p"}, {"a", "/p"}});
  ASSERT_EQ(counts.size(), 5u);
  EXPECT_EQ(*counts[0], 2);
  EXPECT_EQ(*counts[1], 1);
  EXPECT_EQ(*counts[2], 3);
  EXPECT_EQ(*counts[3], 0);
  EXPECT_EQ(*counts[4], 2);
  EXPECT_EQ(store_->round_trips, 1) << "one statement for all the misses";
  EXPECT_EQ(store_->reads, 4);
}

TEST_F(AnalyticsServiceTest, AFailedBatchedReadFailsEveryMissButNoHit) {
  cache_->values[{"hit", "/p"}] = 1;
  store_->available = false;
  auto counts = AskMany({{"a", "/p"}, {"hit", "/p"}, {"b", "/p"}});
  EXPECT_EQ(counts[0].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*counts[1], 1);
  EXPECT_EQ(counts[2].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->round_trips, 1);
}

TEST_F(AnalyticsServiceTest, ManyPairsAnswerFromTheDatabaseWhenTheCacheIsDown) {
  cache_->available = false;
  store_->counts[{"a", "/p"}] = 2;
  std::promise<std::vector<absl::StatusOr<int64_t>>> answer;
  service_->GetCounts({{"a", "/p"}, {"b", "/p"}}, {},
                      [&](std::vector<absl::StatusOr<int64_t>> counts) { answer.set_value(std::move(counts)); });
  auto counts = answer.get_future().get();
  EXPECT_EQ(*counts[0], 2);
  EXPECT_EQ(*counts[1], 0);
  EXPECT_EQ(service_->cache_errors(), 2u);
}

TEST_F(AnalyticsServiceTest, UnknownPairIsZero) { EXPECT_EQ(*Ask("nobody", "/nowhere"), 0); }

TEST_F(AnalyticsServiceTest, RefillNeverLowersANewerCachedCount) {
  // The reader read 3 from the database, then the processor wrote 4 before the reader's refill.
  store_->counts[{"u", "/p"}] = 3;
  cache_->values[{"u", "/p"}] = 4;
  ASSERT_TRUE(cache_->RaiseTo({{"u", "/p", 3}}).ok());
  EXPECT_EQ(*Ask("u", "/p"), 4);
}

TEST_F(AnalyticsServiceTest, AnswersFromTheDatabaseWhenTheCacheIsDown) {
  cache_->available = false;
  store_->counts[{"u", "/p"}] = 5;
  EXPECT_EQ(*Ask("u", "/p"), 5);
  EXPECT_EQ(service_->cache_errors(), 1u);
}

TEST_F(AnalyticsServiceTest, DatabaseDownOnAMissIsUnavailable) {
  store_->available = false;
  EXPECT_EQ(Ask("u", "/p").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(AnalyticsServiceTest, EmptyIdsAreInvalid) {
  auto answer = Ask("", "/p");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AnalyticsPairLimit, ACallBeyondTheLimitIsRefusedWholeAsInvalidArgumentWithoutReading) {
  auto store = std::make_unique<FakeCountStore>();
  FakeCountStore* store_view = store.get();
  AnalyticsOptions options{2, 16, {}, nullptr};
  options.max_pairs = 3;
  AnalyticsService service(options, std::make_unique<FakeCountCache>(), std::move(store));
  EXPECT_TRUE(service.CheckCallSize(3).ok());
  const absl::Status refused = service.CheckCallSize(4);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("at most 3"), std::string_view::npos) << refused.message();

  std::vector<absl::StatusOr<int64_t>> counts;
  service.GetCounts({{"a", "/p"}, {"b", "/p"}, {"c", "/p"}, {"d", "/p"}}, {},
                    [&](std::vector<absl::StatusOr<int64_t>> answer) { counts = std::move(answer); });
  ASSERT_EQ(counts.size(), 4u) << "refused inline, a result per pair";
  for (const auto& count : counts) EXPECT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_view->reads, 0);
}

class AnalyticsQueueTest : public AnalyticsServiceTest {
 protected:
  AnalyticsQueueTest() : AnalyticsServiceTest(1) {}
};

TEST_F(AnalyticsQueueTest, FullQueueIsResourceExhausted) {
  // Block both workers and fill the one queue slot; the next look-up is refused at once.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::promise<void>> started(2);
  for (int i = 0; i < 2; ++i) {
    service_->GetCount("u", "/p", [&, i, released](absl::StatusOr<int64_t>) {
      started[i].set_value();
      released.wait();
    });
    started[i].get_future().wait();  // one at a time, so the one-slot queue never overflows here
  }
  service_->GetCount("u", "/p", [](absl::StatusOr<int64_t>) {});
  std::optional<absl::StatusOr<int64_t>> refused;
  service_->GetCount("u", "/p", [&](absl::StatusOr<int64_t> r) { refused = r; });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status().code(), absl::StatusCode::kResourceExhausted);
  release.set_value();
}

}  // namespace
}  // namespace clickstream::analytics
