#include "services/analytics/drift_check.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "support/fakes.h"

namespace clickstream::analytics {
namespace {

using namespace testing_support;
using std::chrono::milliseconds;

class DriftCheckTest : public testing::Test {
 protected:
  DriftCheckTest() {
    for (int i = 0; i < 30; ++i) store_.counts[{"user-" + std::to_string(i), "/page"}] = i + 1;
  }

  FakeCountStore store_;
  metrics::Registry registry_;
};

TEST_F(DriftCheckTest, FindsCountsAndReportsEveryDriftingCounterOfItsSample) {
  store_.raw_rows[{"user-3", "/page"}] = 5;    // counter 4: an event stored, not counted
  store_.raw_rows[{"user-17", "/page"}] = 17;  // counter 18: counted twice
  DriftCheck check({milliseconds(0), 100, &registry_}, store_);
  auto drifting = check.CheckOnce();
  ASSERT_TRUE(drifting.ok()) << drifting.status();
  ASSERT_EQ(drifting->size(), 2u);
  std::set<std::string> users;
  for (const auto& pair : *drifting) {
    users.insert(pair.pair.user_id);
    EXPECT_NE(pair.counter, pair.raw_rows);
  }
  EXPECT_EQ(users, (std::set<std::string>{"user-3", "user-17"}));
  EXPECT_EQ(registry_.GetCounter("clickstream_reconcile_checked_pairs_total", "").Value(), 30u);
  EXPECT_EQ(registry_.GetCounter("clickstream_reconcile_drift_pairs_total", "").Value(), 2u);
  EXPECT_EQ(registry_.GetGauge("clickstream_reconcile_drift_pairs", "").Value(), 2);

  store_.raw_rows.clear();  // repaired
  drifting = check.CheckOnce();
  EXPECT_TRUE(drifting->empty());
  EXPECT_EQ(registry_.GetGauge("clickstream_reconcile_drift_pairs", "").Value(), 0);
  EXPECT_EQ(registry_.GetCounter("clickstream_reconcile_drift_pairs_total", "").Value(), 2u) << "a total";
  EXPECT_EQ(registry_.GetCounter("clickstream_reconcile_checked_pairs_total", "").Value(), 60u);
}

TEST_F(DriftCheckTest, EachCheckReadsAtMostItsSampleFromAFreshRandomKey) {
  DriftCheck check({milliseconds(0), 7, &registry_}, store_);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(check.CheckOnce().ok());
  EXPECT_EQ(registry_.GetCounter("clickstream_reconcile_checked_pairs_total", "").Value(), 35u);
  std::set<std::string> starts(store_.sample_starts.begin(), store_.sample_starts.end());
  EXPECT_EQ(starts.size(), 5u) << "every check starts somewhere else";
  for (const auto& start : starts) {
    EXPECT_EQ(start.size(), 64u) << start;
    EXPECT_EQ(start.find_first_not_of("0123456789abcdef"), std::string::npos) << start;
  }
}

TEST_F(DriftCheckTest, AnUnreadableDatabaseIsAnErrorNotDrift) {
  store_.available = false;
  DriftCheck check({milliseconds(0), 100, &registry_}, store_);
  EXPECT_EQ(check.CheckOnce().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(registry_.GetCounter("clickstream_reconcile_errors_total", "").Value(), 1u);
  EXPECT_EQ(registry_.GetCounter("clickstream_reconcile_drift_pairs_total", "").Value(), 0u);
}

TEST_F(DriftCheckTest, ChecksEveryIntervalInTheBackgroundOnlyWhenGivenOne) {
  {
    DriftCheck idle({milliseconds(0), 10, &registry_}, store_);
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(store_.sample_starts.empty());
  DriftCheck check({milliseconds(5), 10, &registry_}, store_);
  for (int i = 0; i < 1000; ++i) {
    if (registry_.GetCounter("clickstream_reconcile_checked_pairs_total", "").Value() >= 30) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_GE(registry_.GetCounter("clickstream_reconcile_checked_pairs_total", "").Value(), 30u);
}

}  // namespace
}  // namespace clickstream::analytics
