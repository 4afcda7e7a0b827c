#include "services/analytics/analytics_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <thread>

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

  std::vector<AnalyticsService::Result> AskMany(std::vector<domain::CountQuery> pairs) {
    std::promise<std::vector<AnalyticsService::Result>> answer;
    service_->GetCounts(std::move(pairs), {},
                        [&](std::vector<AnalyticsService::Result> counts) { answer.set_value(std::move(counts)); });
    return answer.get_future().get();
  }

  AnalyticsService::Result Ask(std::string user, std::string page) {
    std::promise<AnalyticsService::Result> answer;
    service_->GetCount(std::move(user), std::move(page), [&](AnalyticsService::Result r) { answer.set_value(r); });
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
    std::promise<std::vector<AnalyticsService::Result>> answer;
    service.GetCounts({{"hit", "/p"}, {"miss", "/p"}}, trace,
                      [&](std::vector<AnalyticsService::Result> counts) { answer.set_value(std::move(counts)); });
    return answer.get_future().get();
  };
  const tracing::TraceContext call{10, 20, 30, true};
  const auto counts = ask(call);
  EXPECT_EQ(counts[0]->count, 1);
  EXPECT_EQ(counts[1]->count, 3);
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
  std::promise<std::vector<AnalyticsService::Result>> answer;
  auto future = answer.get_future();
  service_->GetCounts({{"u", "/p"}}, {},
                      [&](std::vector<AnalyticsService::Result> counts) { answer.set_value(std::move(counts)); },
                      {{0, 10}});
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  store_->SetApplied({{0, 10}});
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto counts = future.get();
  EXPECT_EQ(counts[0]->count, 2);
  EXPECT_EQ(AskMany({{"u", "/p"}})[0]->count, 2) << "the refill raised the cache";
}

TEST(AnalyticsPositionWait, APositionNotAppliedWithinTheWaitFailsEveryPairCarryingTheAppliedOne) {
  auto store = std::make_unique<FakeCountStore>();
  store->SetApplied({{0, 3}});
  AnalyticsOptions options{2, 16, {}, nullptr};
  options.position_wait = std::chrono::milliseconds(30);
  AnalyticsService service(options, std::make_unique<FakeCountCache>(), std::move(store));
  std::promise<std::vector<AnalyticsService::Result>> answer;
  service.GetCounts({{"u", "/p"}, {"v", "/q"}}, {},
                    [&](std::vector<AnalyticsService::Result> counts) { answer.set_value(std::move(counts)); },
                    {{0, 4}});
  const auto counts = answer.get_future().get();
  ASSERT_EQ(counts.size(), 2u);
  for (const auto& count : counts) {
    EXPECT_EQ(count.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(domain::AppliedPositionOf(count.status()), "0-3");
  }
}

// Each count says where it was read and how current that source is: hits the cache's word, misses the database
// snapshot they were read in.
TEST_F(AnalyticsServiceTest, EachCountCarriesTheFreshnessOfTheSourceItWasReadFrom) {
  cache_->values[{"hit", "/p"}] = 4;
  ASSERT_TRUE(cache_->RecordApplied({{0, 8}}, 1'700'000'000'000'000).ok());
  store_->counts[{"miss", "/p"}] = 9;
  store_->SetApplied({{0, 12}, {1, 3}});
  store_->newest_event_time_us = 1'700'000'000'500'000;
  const auto counts = AskMany({{"hit", "/p"}, {"miss", "/p"}, {"never", "/p"}});
  ASSERT_TRUE(counts[0].ok() && counts[1].ok() && counts[2].ok());
  ASSERT_NE(counts[0]->freshness, nullptr);
  EXPECT_EQ(counts[0]->freshness->source, domain::CountSource::kCache);
  EXPECT_EQ(counts[0]->freshness->position, (domain::Position{{0, 8}}));
  EXPECT_EQ(counts[0]->freshness->newest_event_time_us, 1'700'000'000'000'000);
  for (std::size_t i : {1, 2}) {
    ASSERT_NE(counts[i]->freshness, nullptr);
    EXPECT_EQ(counts[i]->freshness->source, domain::CountSource::kDatabase);
    EXPECT_EQ(counts[i]->freshness->position, (domain::Position{{0, 12}, {1, 3}}));
    EXPECT_EQ(counts[i]->freshness->newest_event_time_us, 1'700'000'000'500'000);
  }
  EXPECT_EQ(counts[1]->freshness, counts[2]->freshness) << "one snapshot, one freshness";
}

// Lag: the records between the position a count includes and the log's end, read in the background; unknown
// (-1) rather than stale when the end cannot be read.
TEST(AnalyticsLag, CountsSayHowManyRecordsWaitBehindTheirPosition) {
  auto store = std::make_unique<FakeCountStore>();
  auto log_end = std::make_unique<FakeLogEnd>();
  FakeLogEnd* end = log_end.get();
  auto cache = std::make_unique<FakeCountCache>();
  store->SetApplied({{0, 12}, {1, 3}});
  ASSERT_TRUE(cache->RecordApplied({{0, 12}, {1, 3}}, 0).ok());  // the refill makes later reads hits
  end->Set({{0, 20}, {1, 5}});
  AnalyticsOptions options{2, 16, {}, nullptr};
  options.log_end_interval = std::chrono::milliseconds(1);
  AnalyticsService service(options, std::move(cache), std::move(store), std::move(log_end));
  const auto lag = [&service] {
    std::promise<std::vector<AnalyticsService::Result>> answer;
    service.GetCounts({{"u", "/p"}}, {},
                      [&](std::vector<AnalyticsService::Result> counts) { answer.set_value(std::move(counts)); });
    return answer.get_future().get().front()->freshness->lag;
  };
  const auto await_lag = [&lag](int64_t expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (lag() != expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return lag();
  };
  EXPECT_EQ(await_lag(10), 10);
  end->Set({{0, 20}, {1, 5}}, /*up=*/false);
  EXPECT_EQ(await_lag(-1), -1);
}

TEST_F(AnalyticsServiceTest, MissReadsTheDatabaseAndRefillsTheCache) {
  store_->counts[{"u", "/p"}] = 7;
  EXPECT_EQ(Ask("u", "/p")->count, 7);
  EXPECT_EQ((cache_->values[{"u", "/p"}]), 7);
  EXPECT_EQ(Ask("u", "/p")->count, 7);
  EXPECT_EQ(store_->reads, 1);
  EXPECT_EQ(service_->cache_hits(), 1u);
}

TEST_F(AnalyticsServiceTest, ManyPairsAnswerInOrderFromCacheAndDatabaseWithInvalidOnesRefused) {
  cache_->values[{"hit", "/p"}] = 4;
  store_->counts[{"miss", "/p"}] = 9;
  std::promise<std::vector<AnalyticsService::Result>> answer;
  service_->GetCounts({{"hit", "/p"}, {"", "/p"}, {"miss", "/p"}, {"never", "/p"}}, {},
                      [&](std::vector<AnalyticsService::Result> counts) { answer.set_value(std::move(counts)); });
  auto counts = answer.get_future().get();
  ASSERT_EQ(counts.size(), 4u);
  EXPECT_EQ(counts[0]->count, 4);
  EXPECT_EQ(counts[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counts[2]->count, 9);
  EXPECT_EQ(counts[3]->count, 0);
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
  EXPECT_EQ(counts[0]->count, 2);
  EXPECT_EQ(counts[1]->count, 1);
  EXPECT_EQ(counts[2]->count, 3);
  EXPECT_EQ(counts[3]->count, 0);
  EXPECT_EQ(counts[4]->count, 2);
  EXPECT_EQ(store_->round_trips, 1) << "one statement for all the misses";
  EXPECT_EQ(store_->reads, 4);
}

TEST_F(AnalyticsServiceTest, AFailedBatchedReadFailsEveryMissButNoHit) {
  cache_->values[{"hit", "/p"}] = 1;
  store_->available = false;
  auto counts = AskMany({{"a", "/p"}, {"hit", "/p"}, {"b", "/p"}});
  EXPECT_EQ(counts[0].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(counts[1]->count, 1);
  EXPECT_EQ(counts[2].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->round_trips, 1);
}

TEST_F(AnalyticsServiceTest, ManyPairsAnswerFromTheDatabaseWhenTheCacheIsDown) {
  cache_->available = false;
  store_->counts[{"a", "/p"}] = 2;
  std::promise<std::vector<AnalyticsService::Result>> answer;
  service_->GetCounts({{"a", "/p"}, {"b", "/p"}}, {},
                      [&](std::vector<AnalyticsService::Result> counts) { answer.set_value(std::move(counts)); });
  auto counts = answer.get_future().get();
  EXPECT_EQ(counts[0]->count, 2);
  EXPECT_EQ(counts[1]->count, 0);
  EXPECT_EQ(service_->cache_errors(), 2u);
}

TEST_F(AnalyticsServiceTest, UnknownPairIsZero) { EXPECT_EQ(Ask("nobody", "/nowhere")->count, 0); }

TEST_F(AnalyticsServiceTest, RefillNeverLowersANewerCachedCount) {
  // The reader read 3 from the database, then the processor wrote 4 before the reader's refill.
  store_->counts[{"u", "/p"}] = 3;
  cache_->values[{"u", "/p"}] = 4;
  ASSERT_TRUE(cache_->RaiseTo({{"u", "/p", 3}}).ok());
  EXPECT_EQ(Ask("u", "/p")->count, 4);
}

TEST_F(AnalyticsServiceTest, AnswersFromTheDatabaseWhenTheCacheIsDown) {
  cache_->available = false;
  store_->counts[{"u", "/p"}] = 5;
  EXPECT_EQ(Ask("u", "/p")->count, 5);
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

  std::vector<AnalyticsService::Result> counts;
  service.GetCounts({{"a", "/p"}, {"b", "/p"}, {"c", "/p"}, {"d", "/p"}}, {},
                    [&](std::vector<AnalyticsService::Result> answer) { counts = std::move(answer); });
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
    service_->GetCount("u", "/p", [&, i, released](AnalyticsService::Result) {
      started[i].set_value();
      released.wait();
    });
    started[i].get_future().wait();  // one at a time, so the one-slot queue never overflows here
  }
  service_->GetCount("u", "/p", [](AnalyticsService::Result) {});
  std::optional<AnalyticsService::Result> refused;
  service_->GetCount("u", "/p", [&](AnalyticsService::Result r) { refused = r; });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status().code(), absl::StatusCode::kResourceExhausted);
  release.set_value();
}

}  // namespace
}  // namespace clickstream::analytics

namespace clickstream::analytics {
namespace {

using namespace testing_support;

class AnalyticsReconcileTest : public AnalyticsServiceTest {
 protected:
  absl::StatusOr<domain::Reconciliation> Reconcile(std::string user, std::string page) {
    std::promise<absl::StatusOr<domain::Reconciliation>> answer;
    service_->Reconcile({std::move(user), std::move(page)},
                        [&](absl::StatusOr<domain::Reconciliation> r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }
};

TEST_F(AnalyticsReconcileTest, ComparesTheCounterWithItsRawRowsAndTheCacheWithTheCounter) {
  store_->counts[{"u", "/p"}] = 5;
  store_->SetApplied({{0, 40}});
  cache_->values[{"u", "/p"}] = 4;  // the processor has not raised it yet: behind is fine
  auto reconciliation = Reconcile("u", "/p");
  ASSERT_TRUE(reconciliation.ok()) << reconciliation.status();
  EXPECT_EQ(reconciliation->pair.user_id, "u");
  EXPECT_EQ(reconciliation->pair.page_url, "/p");
  EXPECT_EQ(reconciliation->counter, 5);
  EXPECT_EQ(reconciliation->raw_rows, 5);
  EXPECT_EQ(reconciliation->cached, 4);
  EXPECT_EQ(reconciliation->freshness.position, (domain::Position{{0, 40}}));
  EXPECT_EQ(reconciliation->freshness.source, domain::CountSource::kDatabase);
  EXPECT_TRUE(reconciliation->Consistent());

  store_->raw_rows[{"u", "/p"}] = 6;  // an event stored but not counted
  reconciliation = Reconcile("u", "/p");
  EXPECT_EQ(reconciliation->raw_rows, 6);
  EXPECT_FALSE(reconciliation->Consistent());

  store_->raw_rows[{"u", "/p"}] = 5;
  cache_->values[{"u", "/p"}] = 6;  // the cache ahead of the database: it counted something twice
  reconciliation = Reconcile("u", "/p");
  EXPECT_EQ(reconciliation->cached, 6);
  EXPECT_FALSE(reconciliation->Consistent());
}

TEST_F(AnalyticsReconcileTest, ACacheThatHoldsNothingOrIsDownLeavesTheCacheOutOfIt) {
  store_->counts[{"u", "/p"}] = 3;
  auto reconciliation = Reconcile("u", "/p");
  EXPECT_EQ(reconciliation->cached, std::nullopt);
  EXPECT_TRUE(reconciliation->Consistent());
  cache_->values[{"u", "/p"}] = 9;
  cache_->available = false;
  reconciliation = Reconcile("u", "/p");
  ASSERT_TRUE(reconciliation.ok()) << reconciliation.status();
  EXPECT_EQ(reconciliation->cached, std::nullopt);
  EXPECT_EQ(reconciliation->counter, 3);
}

TEST_F(AnalyticsReconcileTest, AnInvalidPairIsRefusedAndADatabaseDownIsUnavailable) {
  EXPECT_EQ(Reconcile("", "/p").status().code(), absl::StatusCode::kInvalidArgument);
  store_->available = false;
  EXPECT_EQ(Reconcile("u", "/p").status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace clickstream::analytics
