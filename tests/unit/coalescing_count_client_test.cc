#include "services/gateway/coalescing_count_client.h"

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace clickstream::gateway {
namespace {

using testing_support::FakeCountClient;

class CoalescingTest : public testing::Test {
 protected:
  void Make(std::size_t max_batch, std::size_t in_flight, std::size_t max_waiting = 100) {
    auto inner = std::make_unique<FakeCountClient>();
    inner_ = inner.get();
    inner_->hold_batches = true;
    client_ = std::make_unique<CoalescingCountClient>(CoalescingOptions{max_batch, in_flight, max_waiting},
                                                      std::move(inner));
  }

  // Asks for pair (u<i>, /p) and records its answer in answers_[i].
  void Ask(int i) {
    answers_.resize(std::max<std::size_t>(answers_.size(), i + 1), absl::UnknownError("no answer yet"));
    client_->GetCount("u" + std::to_string(i), "/p", [this, i](absl::StatusOr<int64_t> count) { answers_[i] = count; });
  }

  void ReleaseAll() {
    while (!inner_->held.empty()) inner_->ReleaseOldest();
  }

  FakeCountClient* inner_ = nullptr;
  std::unique_ptr<CoalescingCountClient> client_;
  std::vector<absl::StatusOr<int64_t>> answers_;
};

TEST_F(CoalescingTest, ALookUpAtLowLoadLeavesAtOnceAlone) {
  Make(256, 4);
  inner_->counts[{"u0", "/p"}] = 7;
  Ask(0);
  ASSERT_EQ(inner_->batch_sizes, std::vector<std::size_t>{1});
  ReleaseAll();
  EXPECT_EQ(*answers_[0], 7);
}

TEST_F(CoalescingTest, LookUpsWaitingBehindFullBatchesLeaveTogetherWithTheirOwnAnswers) {
  Make(256, 1);
  for (int i = 0; i < 6; ++i) inner_->counts[{"u" + std::to_string(i), "/p"}] = 100 + i;
  for (int i = 0; i < 6; ++i) Ask(i);
  // One batch out (the first look-up); the other five wait for it.
  ASSERT_EQ(inner_->batch_sizes, std::vector<std::size_t>{1});
  EXPECT_FALSE(answers_[1].ok());
  inner_->ReleaseOldest();
  ASSERT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 5}));
  ReleaseAll();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(*answers_[i], 100 + i) << i;
}

TEST_F(CoalescingTest, BatchesNeverExceedTheirMaximum) {
  Make(2, 1);
  for (int i = 0; i < 6; ++i) Ask(i);
  ReleaseAll();
  EXPECT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 2, 2, 1}));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(answers_[i].ok()) << i;
}

TEST_F(CoalescingTest, UsesEveryBatchSlotBeforeMakingLookUpsWait) {
  Make(256, 3);
  for (int i = 0; i < 5; ++i) Ask(i);
  EXPECT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 1, 1}));
  ReleaseAll();
  EXPECT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 1, 1, 2}));
}

TEST_F(CoalescingTest, TooManyWaitingIsResourceExhausted) {
  Make(256, 1, 2);
  for (int i = 0; i < 4; ++i) Ask(i);  // one out, two waiting, the fourth refused
  EXPECT_EQ(answers_[3].status().code(), absl::StatusCode::kResourceExhausted);
  ReleaseAll();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(answers_[i].ok()) << i;
}

TEST_F(CoalescingTest, ABatchFailureReachesEveryLookUpInIt) {
  Make(256, 1);
  inner_->answer = absl::UnavailableError("analytics down");
  for (int i = 0; i < 3; ++i) Ask(i);
  ReleaseAll();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(answers_[i].status().code(), absl::StatusCode::kUnavailable) << i;
}

}  // namespace
}  // namespace clickstream::gateway
