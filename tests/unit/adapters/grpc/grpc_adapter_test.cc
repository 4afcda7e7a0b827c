// The gRPC adapters in-process: GrpcCountClient calls GrpcAnalyticsServer over localhost, on a port the system
// chooses, and the server serves a real AnalyticsService over fakes of its cache and store. What crosses the wire
// (counts in order, per-pair errors, whole-call errors), deadlines against a hung store, an unreachable server and
// shutdown with a call in flight.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "adapters/grpc/grpc_analytics_server.h"
#include "adapters/grpc/grpc_count_client.h"
#include "support/fakes.h"
#include "support/random_text.h"

namespace clickstream::grpc_adapter {
namespace {

using namespace testing_support;
using Clock = std::chrono::steady_clock;
using Results = std::vector<ports::CountClient::Result>;
using std::chrono::milliseconds;

constexpr std::size_t kMaxPairs = 5;
// The longest any wait in these tests may take: an upper bound for a failure, never a pause.
constexpr milliseconds kPatience{5000};
constexpr const char* kClosedPort = "127.0.0.1:1";

// Holds every store read at its start until released, as a hung database would.
class ReadGate {
 public:
  void Close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  // Lets every read held so far through, even if the gate closes again before they wake.
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    ++openings_;
    changed_.notify_all();
  }
  // On the reading thread.
  void Pass() {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    const int openings = openings_;
    changed_.wait(lock, [&] { return open_ || openings_ != openings; });
  }
  // Whether `reads` reads have reached the gate in all, within kPatience.
  bool WaitEntered(int reads) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return entered_ >= reads; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int openings_ = 0;
  int entered_ = 0;
};

// One GetCounts call's outcome and how long it took.
struct Outcome {
  Results results;
  Clock::duration took;
};

std::future<Outcome> Call(ports::CountClient& client, std::vector<domain::CountQuery> pairs, Clock::duration within,
                          const domain::Position& after = {}) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto outcome = promise->get_future();
  const auto start = Clock::now();
  client.GetCounts(std::move(pairs), after, start + within, {}, [promise, start](Results results) {
    promise->set_value({std::move(results), Clock::now() - start});
  });
  return outcome;
}

// The outcome, or a failure if none came within kPatience.
Outcome Await(std::future<Outcome>& outcome) {
  if (outcome.wait_for(kPatience) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within " << kPatience.count() << " ms";
    return {};
  }
  return outcome.get();
}

class GrpcAdapterTest : public testing::Test {
 protected:
  void SetUp() override {
    auto cache = std::make_unique<FakeCountCache>();
    auto store = std::make_unique<FakeCountStore>();
    cache_ = cache.get();
    store_ = store.get();
    store_->before_read = [this] { gate_.Pass(); };
    analytics::AnalyticsOptions options{2, 16, {}, nullptr};
    options.max_pairs = kMaxPairs;
    options.position_wait = std::chrono::milliseconds(300);
    service_ = std::make_unique<analytics::AnalyticsService>(options, std::move(cache), std::move(store));
    auto server = GrpcAnalyticsServer::Start("127.0.0.1", 0, *service_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    gate_.Open();  // a held read would keep the server's shutdown and the service's workers waiting
    server_.reset();
    service_.reset();
  }

  std::string Target() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  domain::CountQuery RandomPair() { return {RandomText(64, random_), "/p/" + RandomText(120, random_)}; }

  std::mt19937_64 random_{std::random_device{}()};
  ReadGate gate_;
  FakeCountCache* cache_ = nullptr;
  FakeCountStore* store_ = nullptr;
  std::unique_ptr<analytics::AnalyticsService> service_;
  std::unique_ptr<GrpcAnalyticsServer> server_;  // after the service it calls: shut down first
};

TEST_F(GrpcAdapterTest, AnswersEveryPairWithItsCountInOrder) {
  const auto stored = RandomPair();
  const auto cached = RandomPair();
  const auto other = RandomPair();
  const auto unknown = RandomPair();
  store_->counts[{stored.user_id, stored.page_url}] = 41;
  store_->counts[{other.user_id, other.page_url}] = 7'000'000'001;
  cache_->values[{cached.user_id, cached.page_url}] = 12;
  GrpcCountClient client(Target(), kPatience);

  auto call = Call(client, {stored, cached, unknown, other, stored}, kPatience);
  const Outcome outcome = Await(call);
  ASSERT_EQ(outcome.results.size(), 5u);
  for (const auto& result : outcome.results) ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(outcome.results[0]->count, 41);
  EXPECT_EQ(outcome.results[1]->count, 12);
  EXPECT_EQ(outcome.results[2]->count, 0);
  EXPECT_EQ(outcome.results[3]->count, 7'000'000'001);
  EXPECT_EQ(outcome.results[4]->count, 41);
}

// Freshness over the wire: each count with its source's, each distinct one sent once and shared on arrival.
TEST_F(GrpcAdapterTest, EachCountComesWithTheFreshnessOfTheSourceItWasReadFrom) {
  const auto hit = RandomPair();
  const auto miss = RandomPair();
  cache_->values[{hit.user_id, hit.page_url}] = 3;
  ASSERT_TRUE(cache_->RecordApplied({{0, 8}}, 1'700'000'000'000'001).ok());
  store_->counts[{miss.user_id, miss.page_url}] = 5;
  store_->SetApplied({{0, 9}, {1, 2}});
  GrpcCountClient client(Target(), kPatience);
  auto call = Call(client, {hit, miss, hit, miss}, kPatience);
  const Outcome outcome = Await(call);
  ASSERT_EQ(outcome.results.size(), 4u);
  for (const auto& result : outcome.results) {
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_NE(result->freshness, nullptr);
  }
  const domain::Freshness& cached = *outcome.results[0]->freshness;
  EXPECT_EQ(cached.source, domain::CountSource::kCache);
  EXPECT_EQ(cached.position, (domain::Position{{0, 8}}));
  EXPECT_EQ(cached.newest_event_time_us, 1'700'000'000'000'001);
  const domain::Freshness& stored = *outcome.results[1]->freshness;
  EXPECT_EQ(stored.source, domain::CountSource::kDatabase);
  EXPECT_EQ(stored.position, (domain::Position{{0, 9}, {1, 2}}));
  EXPECT_EQ(outcome.results[2]->freshness, outcome.results[0]->freshness);
  EXPECT_EQ(outcome.results[3]->freshness, outcome.results[1]->freshness);
}

// Reconciliation over the wire: both numbers, the cache's count and the snapshot's freshness, for long random pairs.
TEST_F(GrpcAdapterTest, AReconciliationComesBackWithBothNumbersTheCacheAndItsSnapshot) {
  const auto pair = RandomPair();
  store_->counts[{pair.user_id, pair.page_url}] = 9;
  store_->raw_rows[{pair.user_id, pair.page_url}] = 10;
  store_->SetApplied({{0, 9}, {2, 4}});
  cache_->values[{pair.user_id, pair.page_url}] = 8;
  GrpcCountClient client(Target(), kPatience);
  std::promise<absl::StatusOr<domain::Reconciliation>> answer;
  client.Reconcile(pair, Clock::now() + kPatience,
                   [&](absl::StatusOr<domain::Reconciliation> r) { answer.set_value(std::move(r)); });
  auto future = answer.get_future();
  ASSERT_EQ(future.wait_for(kPatience), std::future_status::ready);
  const auto reconciliation = future.get();
  ASSERT_TRUE(reconciliation.ok()) << reconciliation.status();
  EXPECT_EQ(reconciliation->pair.user_id, pair.user_id);
  EXPECT_EQ(reconciliation->pair.page_url, pair.page_url);
  EXPECT_EQ(reconciliation->counter, 9);
  EXPECT_EQ(reconciliation->raw_rows, 10);
  EXPECT_EQ(reconciliation->cached, 8);
  EXPECT_FALSE(reconciliation->Consistent());
  EXPECT_EQ(reconciliation->freshness.source, domain::CountSource::kDatabase);
  EXPECT_EQ(reconciliation->freshness.position, (domain::Position{{0, 9}, {2, 4}}));

  std::promise<absl::StatusOr<domain::Reconciliation>> refused;
  client.Reconcile({"", "/p"}, Clock::now() + kPatience,
                   [&](absl::StatusOr<domain::Reconciliation> r) { refused.set_value(std::move(r)); });
  auto refusal = refused.get_future();
  ASSERT_EQ(refusal.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(refusal.get().status().code(), absl::StatusCode::kInvalidArgument);
}

// Read-your-writes over the wire: the position reaches the service, the count is the database's (the cache has
// not caught up), and a wait that ran out comes back carrying the position applied so far.
TEST_F(GrpcAdapterTest, APositionTravelsWithTheCallAndAWaitThatRanOutBringsBackTheAppliedPosition) {
  const auto pair = RandomPair();
  cache_->values[{pair.user_id, pair.page_url}] = 1;
  store_->counts[{pair.user_id, pair.page_url}] = 2;
  store_->SetApplied({{1, 7}, {4, 2}});
  GrpcCountClient client(Target(), kPatience);

  auto reached = Call(client, {pair}, kPatience, {{1, 7}});
  const Outcome counted = Await(reached);
  ASSERT_EQ(counted.results.size(), 1u);
  ASSERT_TRUE(counted.results[0].ok()) << counted.results[0].status();
  EXPECT_EQ(counted.results[0]->count, 2);

  auto ahead = Call(client, {pair, pair}, kPatience, {{1, 8}});
  const Outcome waited = Await(ahead);
  ASSERT_EQ(waited.results.size(), 2u);
  for (const auto& result : waited.results) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(domain::AppliedPositionOf(result.status()), "1-7.4-2");
  }
}

TEST_F(GrpcAdapterTest, AnswersAnInvalidPairWithItsOwnErrorAndTheOthersWithTheirCounts) {
  const auto first = RandomPair();
  const auto last = RandomPair();
  store_->counts[{first.user_id, first.page_url}] = 3;
  store_->counts[{last.user_id, last.page_url}] = 5;
  const domain::CountQuery empty_user{"", "/p/" + RandomText(40, random_)};
  const domain::CountQuery long_page{RandomText(40, random_), RandomText(2049, random_)};
  GrpcCountClient client(Target(), kPatience);

  auto call = Call(client, {first, empty_user, long_page, last}, kPatience);
  const Outcome outcome = Await(call);
  ASSERT_EQ(outcome.results.size(), 4u);
  EXPECT_EQ(outcome.results[0]->count, 3);
  EXPECT_EQ(outcome.results[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.results[1].status().message().find("user_id"), std::string::npos) << outcome.results[1].status();
  EXPECT_EQ(outcome.results[2].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.results[2].status().message().find("page_url"), std::string::npos) << outcome.results[2].status();
  EXPECT_EQ(outcome.results[3]->count, 5);
}

TEST_F(GrpcAdapterTest, FailsEveryPairOfACallOverThePairLimitWithoutReading) {
  std::vector<domain::CountQuery> pairs;
  for (std::size_t i = 0; i <= kMaxPairs; ++i) pairs.push_back(RandomPair());
  GrpcCountClient client(Target(), kPatience);

  auto call = Call(client, pairs, kPatience);
  const Outcome outcome = Await(call);
  ASSERT_EQ(outcome.results.size(), kMaxPairs + 1);
  for (const auto& result : outcome.results) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find("at most " + std::to_string(kMaxPairs)), std::string::npos)
        << result.status();
  }
  std::lock_guard lock(store_->mutex);
  EXPECT_EQ(store_->round_trips, 0);
}

// Whichever comes first, the caller's deadline or the client's cap, ends a call the store never answers.
struct DeadlineCase {
  std::string name;
  milliseconds caller;
  milliseconds cap;
};

TEST_F(GrpcAdapterTest, EndsACallTheStoreHoldsAtTheEarlierOfTheCallersDeadlineAndTheCap) {
  const std::vector<DeadlineCase> cases = {
      {"the caller's deadline", milliseconds(300), milliseconds(60000)},
      {"the client's cap", milliseconds(60000), milliseconds(300)},
  };
  int reads = 0;
  for (const DeadlineCase& c : cases) {
    SCOPED_TRACE(c.name);
    GrpcCountClient client(Target(), c.cap);
    gate_.Close();
    auto call = Call(client, {RandomPair(), RandomPair()}, c.caller);
    ASSERT_TRUE(gate_.WaitEntered(++reads)) << "the read never reached the store";
    const Outcome outcome = Await(call);
    gate_.Open();  // only now: the answer cannot have come from the store
    ASSERT_EQ(outcome.results.size(), 2u);
    for (const auto& result : outcome.results) {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
    }
    EXPECT_GE(outcome.took, milliseconds(250));
    EXPECT_LT(outcome.took, milliseconds(3000));
  }
}

TEST_F(GrpcAdapterTest, AnswersUnavailableWellBeforeTheDeadlineWhenNothingListens) {
  GrpcCountClient client(kClosedPort, milliseconds(60000));
  auto call = Call(client, {RandomPair(), RandomPair(), RandomPair()}, milliseconds(60000));
  const Outcome outcome = Await(call);  // within kPatience, though the deadline is a minute away
  ASSERT_EQ(outcome.results.size(), 3u);
  for (const auto& result : outcome.results) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  }
}

TEST_F(GrpcAdapterTest, ChecksReadinessByReachingTheServer) {
  GrpcCountClient reachable(Target(), kPatience);
  EXPECT_TRUE(reachable.CheckReady(kPatience).ok());
  GrpcCountClient unreachable(kClosedPort, kPatience);
  const auto start = Clock::now();
  EXPECT_EQ(unreachable.CheckReady(milliseconds(200)).code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
}

TEST_F(GrpcAdapterTest, ShutdownEndsACallInFlightAndRefusesNewOnes) {
  GrpcCountClient client(Target(), milliseconds(60000));
  gate_.Close();
  auto in_flight = Call(client, {RandomPair()}, milliseconds(60000));
  ASSERT_TRUE(gate_.WaitEntered(1));

  // Shutdown cancels the call once its grace has run out, while the store still holds the read.
  auto shutdown = std::async(std::launch::async, [this] { server_->Shutdown(milliseconds(100)); });
  EXPECT_EQ(shutdown.wait_for(kPatience), std::future_status::ready) << "Shutdown waited for the store";
  const Outcome ended = Await(in_flight);
  gate_.Open();
  shutdown.wait();
  ASSERT_EQ(ended.results.size(), 1u);
  EXPECT_FALSE(ended.results[0].ok()) << "the call ended without an answer from the store";

  auto refused = Call(client, {RandomPair()}, kPatience);
  const Outcome after = Await(refused);
  ASSERT_EQ(after.results.size(), 1u);
  EXPECT_EQ(after.results[0].status().code(), absl::StatusCode::kUnavailable) << after.results[0].status();
}

TEST_F(GrpcAdapterTest, DestroyingTheClientWaitsForItsCallsToEnd) {
  auto client = std::make_unique<GrpcCountClient>(Target(), milliseconds(300));
  gate_.Close();
  std::atomic<bool> done{false};
  client->GetCounts({RandomPair()}, {}, Clock::now() + milliseconds(60000), {}, [&](const Results&) { done = true; });
  ASSERT_TRUE(gate_.WaitEntered(1));
  client.reset();  // returns once the call ended at the client's cap
  EXPECT_TRUE(done);
}

// The aggregates as a store would hold them: answers that show the question arrived whole, each with a freshness
// of its own.
class EchoAggregateStore final : public ports::AggregateStore {
 public:
  absl::StatusOr<domain::PageRanking> TopPages(const domain::RankQuery& query) override {
    return domain::PageRanking{{{"/for/" + query.user_id + "/after/" + query.after, 9'000'000'001, -1},
                                {"/ü", static_cast<int64_t>(query.limit), 3}},
                               "next-" + query.after,
                               FreshnessOf(1)};
  }
  absl::StatusOr<domain::EventTypeRanking> EventTypeCounts(std::size_t limit) override {
    return domain::EventTypeRanking{{{"click", static_cast<int64_t>(limit)}, {"view", 1}}, FreshnessOf(2)};
  }
  absl::StatusOr<domain::ClickSeries> ClicksOverTime(const domain::SeriesQuery& query) override {
    if (query.time_zone != "Asia/Kathmandu") return absl::InvalidArgumentError("unknown time zone");
    return domain::ClickSeries{{{query.from_us, 2}, {query.to_us, static_cast<int64_t>(query.bucket)}}, FreshnessOf(3)};
  }

  // A freshness whose every field says `n`.
  static domain::Freshness FreshnessOf(int64_t n) {
    domain::Freshness freshness;
    freshness.position = {{0, 100 + n}, {3, 7 * n}};
    freshness.newest_event_time_us = 1'700'000'000'000'000 + n;
    freshness.age_ms = 10 * n;
    return freshness;
  }
};

void ExpectFreshness(const domain::Freshness& got, int64_t n) {
  const auto want = EchoAggregateStore::FreshnessOf(n);
  EXPECT_EQ(domain::PositionToken(got.position), domain::PositionToken(want.position)) << n;
  EXPECT_EQ(got.newest_event_time_us, want.newest_event_time_us) << n;
  EXPECT_EQ(got.age_ms, want.age_ms) << n;
  EXPECT_EQ(got.lag, -1) << n;  // no log end known to this service
  EXPECT_EQ(got.source, domain::CountSource::kDatabase) << n;
}

template <typename T>
absl::StatusOr<T> Await(const std::function<void(std::function<void(absl::StatusOr<T>)>)>& call) {
  std::promise<absl::StatusOr<T>> promise;
  auto answer = promise.get_future();
  call([&](absl::StatusOr<T> result) { promise.set_value(std::move(result)); });
  if (answer.wait_for(kPatience) != std::future_status::ready) return absl::DeadlineExceededError("no answer");
  return answer.get();
}

TEST_F(GrpcAdapterTest, AggregateQuestionsAndAnswersCrossTheWireWhole) {
  analytics::AggregateService aggregates(std::make_unique<EchoAggregateStore>());
  auto server = GrpcAnalyticsServer::Start("127.0.0.1", 0, *service_, {}, nullptr, nullptr, &aggregates);
  ASSERT_TRUE(server.ok()) << server.status();
  GrpcCountClient client("127.0.0.1:" + std::to_string((*server)->port()), kPatience);
  const auto deadline = Clock::now() + kPatience;

  auto ranking = Await<domain::PageRanking>([&](auto done) { client.TopPages({"ü-7", 2, "5.ab"}, deadline, done); });
  ASSERT_TRUE(ranking.ok()) << ranking.status();
  ASSERT_EQ(ranking->pages.size(), 2u);
  EXPECT_EQ(ranking->pages[0].page_url, "/for/ü-7/after/5.ab");
  EXPECT_EQ(ranking->pages[0].clicks, 9'000'000'001);
  EXPECT_EQ(ranking->pages[0].users, -1);
  EXPECT_EQ(ranking->pages[1].clicks, 2);
  EXPECT_EQ(ranking->pages[1].users, 3);
  EXPECT_EQ(ranking->next, "next-5.ab");
  ExpectFreshness(ranking->freshness, 1);

  auto types = Await<domain::EventTypeRanking>([&](auto done) { client.EventTypeCounts(7, deadline, done); });
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_EQ(types->event_types.size(), 2u);
  EXPECT_EQ(types->event_types[0].event_type, "click");
  EXPECT_EQ(types->event_types[0].clicks, 7);
  ExpectFreshness(types->freshness, 2);

  const domain::SeriesQuery query{1'552'194'000'000'000, 1'552'201'200'000'000, domain::Bucket::kDay, "Asia/Kathmandu"};
  auto series = Await<domain::ClickSeries>([&](auto done) { client.ClicksOverTime(query, deadline, done); });
  ASSERT_TRUE(series.ok()) << series.status();
  ASSERT_EQ(series->points.size(), 2u);
  EXPECT_EQ(series->points[0].start_us, query.from_us);
  EXPECT_EQ(series->points[1].start_us, query.to_us);
  EXPECT_EQ(series->points[1].clicks, static_cast<int64_t>(domain::Bucket::kDay));
  ExpectFreshness(series->freshness, 3);

  // The service's refusals come back with their code: validated there, and judged by the store.
  auto invalid = Await<domain::PageRanking>([&](auto done) { client.TopPages({"", 0, ""}, deadline, done); });
  EXPECT_TRUE(absl::IsInvalidArgument(invalid.status())) << invalid.status();
  auto unknown = Await<domain::ClickSeries>([&](auto done) {
    client.ClicksOverTime({query.from_us, query.to_us, domain::Bucket::kHour, "Mars/Olympus"}, deadline, done);
  });
  EXPECT_TRUE(absl::IsInvalidArgument(unknown.status())) << unknown.status();

  // A server without aggregates says so.
  GrpcCountClient plain(Target(), kPatience);
  auto unimplemented = Await<domain::EventTypeRanking>([&](auto done) { plain.EventTypeCounts(7, deadline, done); });
  EXPECT_EQ(unimplemented.status().code(), absl::StatusCode::kUnimplemented) << unimplemented.status();
  (*server)->Shutdown(milliseconds(0));
}

}  // namespace
}  // namespace clickstream::grpc_adapter
