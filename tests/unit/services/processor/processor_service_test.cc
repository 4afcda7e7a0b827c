#include "services/processor/processor_service.h"

#include <gtest/gtest.h>

#include <atomic>

#include "support/events.h"
#include "support/fakes.h"

namespace clickstream::processor {
namespace {

using namespace testing_support;

constexpr int64_t kNow = 1'700'000'000'000'000;

constexpr int64_t kStamp = 1'699'963'200'000'000;  // 2023-11-14T12:00:00Z, ten hours before kNow

domain::Record Event(int32_t partition, int64_t offset, const std::string& id, const std::string& user = "u",
                     const std::string& page = "/p") {
  return EventRecord(partition, offset, MakeEvent(id, user, page, kStamp));
}

class ProcessorServiceTest : public testing::Test {
 protected:
  ProcessorServiceTest() {
    auto source = std::make_unique<FakeRecordSource>();
    auto dead_letters = std::make_unique<FakeDeadLetters>();
    auto store = std::make_unique<FakeEventStore>();
    auto cache = std::make_unique<FakeCountCache>();
    source_ = source.get();
    dead_letters_ = dead_letters.get();
    store_ = store.get();
    cache_ = cache.get();
    ProcessorOptions options;
    options.retry_initial = std::chrono::milliseconds(1);
    options.retry_max = std::chrono::milliseconds(2);
    options.pending_cache_repairs = 2;
    options.stall_timeout = std::chrono::seconds(60);
    options.metrics = &registry_;
    service_ = std::make_unique<ProcessorService>(options, std::move(source), std::move(dead_letters), std::move(store),
                                                  std::move(cache), [this] { return now_.load(); });
  }

  // One batch, then its cache update and offset commit, which run on the service's finishing thread.
  std::size_t Process() {
    const std::size_t records = service_->ProcessOnce();
    service_->Flush();
    return records;
  }

  int64_t Cached(const std::string& user, const std::string& page) {
    auto it = cache_->values.find({user, page});
    return it == cache_->values.end() ? -1 : it->second;
  }

  // The value of one series in the registry's text, -1 when it is not there.
  double Metric(const std::string& series) {
    const std::string text = registry_.Render();
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }

  std::atomic<int64_t> now_{kNow};
  metrics::Registry registry_;  // outlives the service
  FakeRecordSource* source_;
  FakeDeadLetters* dead_letters_;
  FakeEventStore* store_;
  FakeCountCache* cache_;
  std::unique_ptr<ProcessorService> service_;
};

// A batch is applied only once the batch before it has its counts in the cache. Were it applied while the cache
// write of the one before was still on its way, that older count could land in a key the cache does not hold
// (Redis restarted empty) after a reader was answered the newer count from the database: the count would go back.
TEST_F(ProcessorServiceTest, ABatchIsAppliedOnlyOnceTheCountsOfTheOneBeforeAreCached) {
  cache_->raise_delay = std::chrono::milliseconds(100);
  std::vector<int64_t> cached_when_applied;
  store_->before_apply = [this, &cached_when_applied] { cached_when_applied.push_back(Cached("u", "/p")); };
  source_->pending = {Event(0, 0, "a")};
  service_->ProcessOnce();
  source_->pending = {Event(0, 1, "b")};
  service_->ProcessOnce();
  service_->Flush();
  EXPECT_EQ(cached_when_applied, (std::vector<int64_t>{-1, 1}));
  EXPECT_EQ(Cached("u", "/p"), 2);
}

TEST_F(ProcessorServiceTest, CountsEachEventIdOnceAcrossBatchesAndRedelivery) {
  source_->pending = {Event(0, 0, "a"), Event(0, 1, "b"), Event(0, 2, "a")};
  EXPECT_EQ(Process(), 3u);
  // Redelivery of the same records (a crash before the commit) and a client retry of "b".
  source_->pending = {Event(0, 0, "a"), Event(0, 1, "b"), Event(1, 0, "b")};
  Process();
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 2);
  EXPECT_EQ(Cached("u", "/p"), 2);
}

TEST_F(ProcessorServiceTest, CommitsOffsetsAfterStoring) {
  source_->pending = {Event(0, 4, "a"), Event(3, 9, "b")};
  Process();
  EXPECT_EQ(source_->committed, (std::map<int32_t, int64_t>{{0, 5}, {3, 10}}));
  EXPECT_EQ(store_->offsets, source_->committed);
}

TEST_F(ProcessorServiceTest, RetriesTheBatchWhileTheDatabaseIsDownWithoutCommitting) {
  store_->failures_left = 3;
  source_->pending = {Event(0, 0, "a")};
  Process();
  EXPECT_EQ(store_->calls, 4);
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 1);
  EXPECT_EQ(source_->committed.at(0), 1);
}

TEST_F(ProcessorServiceTest, DeadLettersInvalidRecordsAndCommitsPastThem) {
  source_->pending = {Event(0, 0, "a"), domain::Record{0, 1, "k", "{broken"}, Event(0, 2, "b")};
  Process();
  ASSERT_EQ(dead_letters_->sent.size(), 1u);
  EXPECT_EQ(dead_letters_->sent[0].first.offset, 1);
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 2);
  EXPECT_EQ(source_->committed.at(0), 3);
}

// Lateness is judged against each record's broker time: an event within CLICKSTREAM_EVENT_LATE_AFTER_S of it is on
// time, an older one is counted and counted as late; refusals are counted by reason.
TEST_F(ProcessorServiceTest, CountsLateEventsAndRefusalsByReason) {
  const int64_t broker_ms = kNow / 1000;
  const auto stamped = [&](int64_t offset, const std::string& id, int64_t behind_broker_s) {
    auto record = EventRecord(0, offset, MakeEvent(id, "u", "/p", kNow - behind_broker_s * 1'000'000));
    record.timestamp_ms = broker_ms;
    return record;
  };
  const domain::EventLimits limits;
  source_->pending = {stamped(0, "on-time", 299),
                      stamped(1, "late", 301),
                      stamped(2, "very-late", 86400),
                      stamped(3, "too-old", limits.max_age.count() + 1),
                      stamped(4, "too-far-ahead", -limits.max_skew.count() - 1),
                      domain::Record{0, 5, "k", "{broken", broker_ms}};
  Process();
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 3) << "late events are counted all the same";
  EXPECT_EQ(Metric("clickstream_processor_late_events_total"), 2);
  EXPECT_EQ(Metric("clickstream_processor_invalid_events_total{reason=\"time_stamp_too_old\"}"), 1);
  EXPECT_EQ(Metric("clickstream_processor_invalid_events_total{reason=\"time_stamp_too_far_ahead\"}"), 1);
  EXPECT_EQ(Metric("clickstream_processor_invalid_events_total{reason=\"invalid\"}"), 1);
  EXPECT_EQ(dead_letters_->sent.size(), 3u);
}

TEST_F(ProcessorServiceTest, RepairsTheCacheWhenItComesBackAndOnlyThenCommits) {
  cache_->available = false;
  source_->pending = {Event(0, 0, "a"), Event(0, 1, "b")};
  Process();
  source_->pending = {Event(1, 0, "c")};
  Process();
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 3);  // a cache outage does not hold counting back
  // but the offsets wait: a restart now would get these records again and repair the cache from them
  EXPECT_TRUE(source_->committed.empty());
  cache_->available = true;
  cache_->values[{"u", "/p"}] = 1;  // what the cache held before the outage
  Process();                        // idle poll
  EXPECT_EQ(Cached("u", "/p"), 3);
  EXPECT_EQ(source_->committed, (std::map<int32_t, int64_t>{{0, 2}, {1, 1}}));
}

// The cache's word on how far it reaches (the freshness of answers read from it) never runs ahead of it: not said
// while counts are missing from it, and said for every offset held back once it is repaired.
TEST_F(ProcessorServiceTest, TellsTheCacheHowFarItReachesOnlyOnceItHoldsTheCounts) {
  source_->pending = {Event(0, 4, "a")};
  Process();
  EXPECT_EQ(cache_->applied, (domain::Position{{0, 5}}));
  EXPECT_GT(cache_->newest_us, 0);
  EXPECT_EQ(cache_->applied_records, 1);
  cache_->available = false;
  source_->pending = {Event(1, 0, "b")};
  Process();
  EXPECT_EQ(cache_->applied_records, 1) << "said while the cache missed counts";
  cache_->available = true;
  Process();  // idle poll: the repair
  EXPECT_EQ(cache_->applied, (domain::Position{{0, 5}, {1, 1}}));
  EXPECT_EQ(cache_->applied_records, 2);
}

TEST_F(ProcessorServiceTest, DeadLettersAnEventTheDatabaseRefusesForGoodAndCountsTheRest) {
  store_->refused_ids = {"too-long"};
  source_->pending = {Event(0, 0, "a"), Event(0, 1, "b", "u2"), Event(0, 2, "too-long", "u3"), Event(0, 3, "c"),
                      Event(0, 4, "d", "u2")};
  Process();
  ASSERT_EQ(dead_letters_->sent.size(), 1u);
  EXPECT_EQ(dead_letters_->sent[0].first.offset, 2);
  EXPECT_NE(dead_letters_->sent[0].second.find("index row size"), std::string::npos) << dead_letters_->sent[0].second;
  EXPECT_EQ(dead_letters_->codes, (std::vector<std::string>{"refused"})) << "listed apart from invalid records";
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 2);
  EXPECT_EQ((store_->counts[{"u2", "/p"}]), 2);
  EXPECT_EQ((store_->counts.count({"u3", "/p"})), 0u);
  EXPECT_EQ(Cached("u", "/p"), 2);
  EXPECT_EQ(Cached("u2", "/p"), 2);
  EXPECT_EQ(source_->committed.at(0), 5);  // the partition moves on
  EXPECT_EQ(store_->offsets.at(0), 5);
  // and the next batch flows as usual
  source_->pending = {Event(0, 5, "e")};
  Process();
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 3);
}

TEST_F(ProcessorServiceTest, RetriesTransientErrorsButNeverDeadLettersForThem) {
  store_->failures_left = 5;
  source_->pending = {Event(0, 0, "a"), Event(0, 1, "b")};
  Process();
  EXPECT_TRUE(dead_letters_->sent.empty());
  EXPECT_EQ((store_->counts[{"u", "/p"}]), 2);
}

TEST_F(ProcessorServiceTest, NotReadyWhenRecordsWaitWithoutABatchApplied) {
  source_->pending = {Event(0, 0, "a")};
  EXPECT_TRUE(service_->CheckReady().ok());
  now_ += 61'000'000;
  EXPECT_GT(service_->StalledSeconds(), 60.0);
  EXPECT_FALSE(service_->CheckReady().ok());
  EXPECT_FALSE(service_->CheckProgress().ok());
  Process();
  EXPECT_TRUE(service_->CheckReady().ok());
  EXPECT_TRUE(service_->CheckProgress().ok());
  EXPECT_EQ(service_->StalledSeconds(), 0.0);
}

// A processor's second consumer checks only its own progress: the first one's CheckReady covers the database.
TEST_F(ProcessorServiceTest, ProgressIsCheckedWithoutTheDatabase) {
  store_->failures_left = 1;
  EXPECT_FALSE(service_->CheckReady().ok());
  const int pings = store_->pings;
  EXPECT_TRUE(service_->CheckProgress().ok());
  EXPECT_EQ(store_->pings, pings);
}

TEST_F(ProcessorServiceTest, ReadyWhenIdleHoweverLongNothingArrives) {
  now_ += 3600'000'000LL;
  EXPECT_TRUE(service_->CheckReady().ok());
}

TEST_F(ProcessorServiceTest, InvalidatesTheCacheWhenTooManyRepairsPileUp) {
  cache_->available = false;
  source_->pending = {Event(0, 0, "a", "u1"), Event(0, 1, "b", "u2"), Event(0, 2, "c", "u3")};
  Process();
  EXPECT_TRUE(source_->committed.empty());
  cache_->available = true;
  cache_->values[{"u1", "/p"}] = 0;  // stale
  Process();
  EXPECT_EQ(cache_->invalidations, 1);
  EXPECT_EQ(Cached("u1", "/p"), -1);
  EXPECT_EQ(source_->committed.at(0), 3);
}

}  // namespace
}  // namespace clickstream::processor
