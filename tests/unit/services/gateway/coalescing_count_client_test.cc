#include "services/gateway/coalescing_count_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/fakes.h"

namespace clickstream::gateway {
namespace {

using namespace std::chrono_literals;
using testing_support::FakeCountClient;
using testing_support::FakeTimer;

class CoalescingTest : public testing::Test {
 protected:
  void Make(std::size_t max_batch, std::size_t in_flight, std::size_t max_waiting = 100) {
    auto inner = std::make_unique<FakeCountClient>();
    auto timer = std::make_unique<FakeTimer>();
    inner_ = inner.get();
    timer_ = timer.get();
    inner_->hold_batches = true;
    client_ = std::make_unique<CoalescingCountClient>(CoalescingOptions{max_batch, in_flight, max_waiting},
                                                      std::move(inner), std::move(timer));
  }

  // Asks for pair (u<i>, /p) with a deadline `within` from now, and records its answers in answers_[i] and how
  // many times it was answered in times_[i].
  void Ask(int i, std::chrono::milliseconds within = 5000ms, const tracing::TraceContext& trace = {}) {
    const auto size = std::max<std::size_t>(answers_.size(), i + 1);
    answers_.resize(size, absl::UnknownError("no answer yet"));
    times_.resize(size, 0);
    client_->LookUp("u" + std::to_string(i), "/p", timer_->Now() + within, trace,
                    [this, i](CoalescingCountClient::Result count) {
                      answers_[i] = count;
                      ++times_[i];
                    });
  }

  void ReleaseAll() {
    while (!inner_->held.empty()) inner_->ReleaseOldest();
  }

  // The client waits for its batches in flight when destroyed: a test that stopped early must not hang there.
  void TearDown() override {
    if (inner_ != nullptr) ReleaseAll();
  }

  // Every look-up asked was answered, and only once.
  void ExpectEachAnsweredOnce() {
    for (std::size_t i = 0; i < times_.size(); ++i) EXPECT_EQ(times_[i], 1) << "look-up " << i;
  }

  std::vector<testing_support::Pair> Asked() const { return inner_->asked; }
  static testing_support::Pair P(int i) { return {"u" + std::to_string(i), "/p"}; }

  FakeCountClient* inner_ = nullptr;
  FakeTimer* timer_ = nullptr;
  std::unique_ptr<CoalescingCountClient> client_;
  std::vector<CoalescingCountClient::Result> answers_;
  std::vector<int> times_;
};

TEST_F(CoalescingTest, ALookUpAtLowLoadLeavesAtOnceAlone) {
  Make(256, 4);
  inner_->counts[{"u0", "/p"}] = 7;
  Ask(0);
  ASSERT_EQ(inner_->batch_sizes, std::vector<std::size_t>{1});
  ReleaseAll();
  EXPECT_EQ(answers_[0]->count, 7);
  ExpectEachAnsweredOnce();
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
  for (int i = 0; i < 6; ++i) EXPECT_EQ(answers_[i]->count, 100 + i) << i;
  ExpectEachAnsweredOnce();
}

// A batched call can carry one trace: the first sampled one among its look-ups, so a traced query is followed into
// analytics even when it travels with untraced ones.
TEST_F(CoalescingTest, ABatchCarriesTheFirstSampledTraceOfItsLookUps) {
  Make(256, 1);
  const tracing::TraceContext unsampled{1, 2, 3, false}, sampled{4, 5, 6, true}, later{7, 8, 9, true};
  Ask(0, 5000ms, later);  // leaves alone
  Ask(1, 5000ms, unsampled);
  Ask(2);
  Ask(3, 5000ms, sampled);
  Ask(4, 5000ms, later);
  ReleaseAll();
  ASSERT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(inner_->traces, (std::vector<tracing::TraceContext>{later, sampled}));
  ExpectEachAnsweredOnce();
}

TEST_F(CoalescingTest, BatchesNeverExceedTheirMaximum) {
  Make(2, 1);
  for (int i = 0; i < 6; ++i) Ask(i);
  ReleaseAll();
  EXPECT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 2, 2, 1}));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(answers_[i].ok()) << i;
  ExpectEachAnsweredOnce();
}

TEST_F(CoalescingTest, UsesEveryBatchSlotBeforeMakingLookUpsWait) {
  Make(256, 3);
  for (int i = 0; i < 5; ++i) Ask(i);
  EXPECT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 1, 1}));
  ReleaseAll();
  EXPECT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 1, 1, 2}));
  ExpectEachAnsweredOnce();
}

TEST_F(CoalescingTest, TooManyWaitingIsResourceExhausted) {
  Make(256, 1, 2);
  for (int i = 0; i < 4; ++i) Ask(i);  // one out, two waiting, the fourth refused
  EXPECT_EQ(answers_[3].status().code(), absl::StatusCode::kResourceExhausted);
  ReleaseAll();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(answers_[i].ok()) << i;
  ExpectEachAnsweredOnce();
}

TEST_F(CoalescingTest, ABatchFailureReachesEveryLookUpInIt) {
  Make(256, 1);
  inner_->answer = absl::UnavailableError("analytics down");
  for (int i = 0; i < 3; ++i) Ask(i);
  ReleaseAll();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(answers_[i].status().code(), absl::StatusCode::kUnavailable) << i;
  ExpectEachAnsweredOnce();
}

// Analytics hanging: the look-up queued behind the held batch is answered at its own deadline, not after the
// batch in front of it (which, before, made the last of many waiters wait minutes and get a closed connection).
TEST_F(CoalescingTest, ALookUpQueuedBehindAHeldBatchGetsDeadlineExceededAtItsOwnDeadline) {
  Make(256, 1);
  Ask(0, 5000ms);
  timer_->Advance(1000ms);
  Ask(1, 2000ms);
  timer_->Advance(1999ms);
  EXPECT_EQ(times_[1], 0) << "answered before its deadline";
  timer_->Advance(1ms);
  EXPECT_EQ(times_[1], 1);
  EXPECT_EQ(answers_[1].status().code(), absl::StatusCode::kDeadlineExceeded) << answers_[1].status();
  EXPECT_EQ(times_[0], 0) << "the held look-up still has time";
  timer_->Advance(2000ms);
  EXPECT_EQ(answers_[0].status().code(), absl::StatusCode::kDeadlineExceeded) << answers_[0].status();
  ReleaseAll();
  ExpectEachAnsweredOnce();
}

TEST_F(CoalescingTest, ABatchAnswerArrivingAfterTheDeadlineDoesNotAnswerASecondTime) {
  Make(256, 1);
  inner_->counts[P(0)] = 7;
  Ask(0, 1000ms);
  timer_->Advance(1000ms);
  ASSERT_EQ(answers_[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  inner_->ReleaseOldest();  // the late answer
  EXPECT_EQ(answers_[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  ExpectEachAnsweredOnce();
  // Its slot is free again: the next look-up leaves at once.
  Ask(1);
  EXPECT_EQ(inner_->batch_sizes, (std::vector<std::size_t>{1, 1}));
  ReleaseAll();
  ExpectEachAnsweredOnce();
}

TEST_F(CoalescingTest, LookUpsPastTheirDeadlineAreNotSent) {
  Make(256, 1);
  Ask(0, 5000ms);
  Ask(1, 1000ms);
  Ask(2, 5000ms);
  Ask(3, 0ms);  // already due on arrival: answered at once, never queued
  EXPECT_EQ(answers_[3].status().code(), absl::StatusCode::kDeadlineExceeded);
  timer_->Advance(2000ms);
  ASSERT_EQ(answers_[1].status().code(), absl::StatusCode::kDeadlineExceeded);
  inner_->ReleaseOldest();
  EXPECT_EQ(Asked(), (std::vector<testing_support::Pair>{P(0), P(2)}));
  ReleaseAll();
  EXPECT_TRUE(answers_[2].ok()) << answers_[2].status();
  ExpectEachAnsweredOnce();
}

// The client's destructor waits for its batches in flight. A batch's slot is given back only after the look-ups it
// found past their deadline are answered: given back first, the destructor could free what those answers still use
// (a gateway stopped while analytics hung crashed so).
TEST_F(CoalescingTest, ASlotIsGivenBackOnlyAfterTheLookUpsFoundExpiredAreAnswered) {
  Make(256, 1);
  Ask(0, 5000ms);  // its batch is in flight, held
  std::atomic<bool> answering{false}, answered{false};
  client_->LookUp("u1", "/p", timer_->Now() + 1000ms, {}, [&](const CoalescingCountClient::Result&) {
    answering = true;
    std::this_thread::sleep_for(200ms);
    answered = true;
  });
  {
    std::lock_guard lock(timer_->mutex);
    timer_->now += 2000ms;  // past look-up 1's deadline, before its timer runs
  }
  std::thread batch_returns([inner = inner_] { inner->ReleaseOldest(); });  // the slot passes to look-up 1: expired
  while (!answering) std::this_thread::yield();
  inner_ = nullptr;  // owned by the client, which goes now
  client_.reset();
  EXPECT_TRUE(answered) << "the client was destroyed while a look-up was still being answered";
  batch_returns.join();
}

TEST_F(CoalescingTest, ABatchCarriesTheDeadlineOfItsEarliestLookUp) {
  Make(256, 1);
  const auto start = timer_->Now();
  Ask(0, 5000ms);
  Ask(1, 4000ms);
  Ask(2, 3000ms);
  inner_->ReleaseOldest();
  ASSERT_EQ(inner_->deadlines.size(), 2u);
  EXPECT_EQ(inner_->deadlines[0], start + 5000ms);
  EXPECT_EQ(inner_->deadlines[1], start + 3000ms);
  ReleaseAll();
  ExpectEachAnsweredOnce();
}

// The batch ends at its earliest look-up's deadline; the others in it still have time and must not get a 504
// before their own deadline: they go out again in the next batch.
TEST_F(CoalescingTest, LookUpsWithTimeLeftWhenTheirBatchHitsAnEarlierDeadlineAreSentAgain) {
  Make(256, 1);
  inner_->counts[P(2)] = 9;
  const auto start = timer_->Now();
  Ask(0, 1000ms);
  Ask(1, 2000ms);
  Ask(2, 5000ms);
  inner_->ReleaseOldest();  // batch {0}; batch {1, 2} leaves with 1's deadline
  timer_->Advance(2000ms);
  ASSERT_EQ(answers_[1].status().code(), absl::StatusCode::kDeadlineExceeded);
  inner_->ReleaseOldestWith(absl::DeadlineExceededError("call deadline"));
  EXPECT_EQ(times_[2], 0) << "failed by another look-up's deadline: " << answers_[2].status();
  ASSERT_EQ(inner_->deadlines.size(), 3u);
  EXPECT_EQ(inner_->deadlines[2], start + 5000ms);
  ReleaseAll();
  EXPECT_EQ(answers_[2]->count, 9);
  ExpectEachAnsweredOnce();
}

}  // namespace
}  // namespace clickstream::gateway
