#include "services/analytics/position_watch.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

namespace clickstream::analytics {
namespace {

using std::chrono::milliseconds;
constexpr auto kPatience = std::chrono::seconds(10);

// The applied position a test moves on, and how often the watch read it.
class Applied {
 public:
  absl::StatusOr<domain::Position> Read() {
    std::lock_guard lock(mutex_);
    ++reads_;
    read_.notify_all();
    return position_;
  }
  void Set(absl::StatusOr<domain::Position> position) {
    std::lock_guard lock(mutex_);
    position_ = std::move(position);
  }
  // Waits until the watch has read `more` more times than now: it has seen what was Set before.
  bool AwaitReads(int more) {
    std::unique_lock lock(mutex_);
    const int target = reads_ + more;
    return read_.wait_for(lock, kPatience, [&] { return reads_ >= target; });
  }
  int reads() {
    std::lock_guard lock(mutex_);
    return reads_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable read_;
  absl::StatusOr<domain::Position> position_ = domain::Position{};
  int reads_ = 0;
};

class PositionWatchTest : public testing::Test {
 protected:
  explicit PositionWatchTest(std::size_t max_waiting = 100)
      : watch_({milliseconds(1), max_waiting}, [this] { return applied_.Read(); }) {}

  std::future<absl::Status> Wait(domain::Position wanted, milliseconds within = milliseconds(60000)) {
    auto answer = std::make_shared<std::promise<absl::Status>>();
    auto future = answer->get_future();
    watch_.WaitFor(std::move(wanted), PositionWatch::Clock::now() + within,
                   [answer](absl::Status status) { answer->set_value(std::move(status)); });
    return future;
  }

  Applied applied_;
  PositionWatch watch_;
};

TEST_F(PositionWatchTest, AnswersOnlyOnceEveryWantedPartitionIsApplied) {
  applied_.Set(domain::Position{{0, 9}, {1, 100}});
  auto answer = Wait({{0, 10}, {1, 50}});
  ASSERT_TRUE(applied_.AwaitReads(3));
  EXPECT_EQ(answer.wait_for(milliseconds(0)), std::future_status::timeout) << "partition 0 is one record short";
  applied_.Set(domain::Position{{0, 10}, {1, 100}});
  ASSERT_EQ(answer.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(answer.get().ok());
}

TEST_F(PositionWatchTest, APositionAlreadySeenAnswersAtOnceWithoutAnotherRead) {
  applied_.Set(domain::Position{{0, 10}});
  auto first = Wait({{0, 10}});
  ASSERT_EQ(first.wait_for(kPatience), std::future_status::ready);
  const int reads = applied_.reads();
  bool answered = false;
  watch_.WaitFor({{0, 4}}, PositionWatch::Clock::now() + milliseconds(60000), [&](const absl::Status& status) {
    EXPECT_TRUE(status.ok());
    answered = true;
  });
  EXPECT_TRUE(answered) << "answered inline, before WaitFor returned";
  EXPECT_EQ(applied_.reads(), reads);
}

TEST_F(PositionWatchTest, PastItsDeadlineAWaitIsUnavailableCarryingThePositionAppliedSoFar) {
  applied_.Set(domain::Position{{0, 5}, {2, 7}});
  auto answer = Wait({{0, 10}}, milliseconds(50));
  ASSERT_EQ(answer.wait_for(kPatience), std::future_status::ready);
  const absl::Status status = answer.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(domain::AppliedPositionOf(status), "0-5.2-7");
  EXPECT_NE(status.message().find("0-10"), std::string::npos) << status.message();
}

TEST_F(PositionWatchTest, AStoreThatCannotBeReadRunsTheWaitOutWithItsError) {
  applied_.Set(absl::UnavailableError("database down"));
  auto answer = Wait({{0, 1}}, milliseconds(50));
  ASSERT_EQ(answer.wait_for(kPatience), std::future_status::ready);
  const absl::Status status = answer.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("database down"), std::string::npos) << status.message();
  EXPECT_EQ(domain::AppliedPositionOf(status), "");
}

TEST_F(PositionWatchTest, ReadsNothingWhileNobodyWaits) {
  auto answer = Wait({{0, 1}});
  applied_.Set(domain::Position{{0, 1}});
  ASSERT_EQ(answer.wait_for(kPatience), std::future_status::ready);
  const int reads = applied_.reads();
  std::this_thread::sleep_for(milliseconds(30));  // 30 poll intervals
  EXPECT_EQ(applied_.reads(), reads);
}

class PositionWatchLimitTest : public PositionWatchTest {
 protected:
  PositionWatchLimitTest() : PositionWatchTest(1) {}
};

TEST_F(PositionWatchLimitTest, BeyondMaxWaitingAWaitIsRefusedAtOnce) {
  auto first = Wait({{0, 1}});
  auto second = Wait({{0, 1}});
  ASSERT_EQ(second.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(second.get().code(), absl::StatusCode::kResourceExhausted);
  applied_.Set(domain::Position{{0, 1}});
  ASSERT_EQ(first.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
}

TEST(PositionWatch, DestructionAnswersEveryWaiterUnavailable) {
  std::promise<absl::Status> answer;
  {
    PositionWatch watch({milliseconds(1), 10}, [] { return absl::StatusOr<domain::Position>(domain::Position{}); });
    watch.WaitFor({{0, 1}}, PositionWatch::Clock::now() + std::chrono::hours(1),
                  [&](absl::Status status) { answer.set_value(std::move(status)); });
  }
  auto future = answer.get_future();
  ASSERT_EQ(future.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(future.get().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace clickstream::analytics
