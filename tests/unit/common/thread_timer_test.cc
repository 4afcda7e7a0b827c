#include "common/thread_timer.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

namespace clickstream::common {
namespace {

using namespace std::chrono_literals;

TEST(ThreadTimer, RunsADueTaskOnItsOwnThreadNotInline) {
  ThreadTimer timer;
  std::promise<std::thread::id> ran_on;
  timer.RunAt(timer.Now() - 1ms, [&] { ran_on.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
}

TEST(ThreadTimer, RunsDueTasksInDeadlineOrder) {
  ThreadTimer timer;
  const auto now = timer.Now();
  // The first task holds the timer's thread until all the others are scheduled.
  std::promise<void> scheduled;
  std::shared_future<void> go = scheduled.get_future().share();
  std::vector<int> order;  // written by the timer's thread only
  std::promise<void> done;
  timer.RunAt(now - 10ms, [go] { go.wait(); });
  timer.RunAt(now - 1ms, [&] {
    order.push_back(3);
    done.set_value();
  });
  timer.RunAt(now - 3ms, [&] { order.push_back(1); });
  timer.RunAt(now - 2ms, [&] { order.push_back(2); });
  scheduled.set_value();
  done.get_future().wait();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(ThreadTimer, ACancelledTaskNeverRuns) {
  bool ran = false;
  {
    ThreadTimer timer;
    const auto id = timer.RunAt(timer.Now() + 1h, [&] { ran = true; });
    EXPECT_TRUE(timer.Cancel(id));
    EXPECT_FALSE(timer.Cancel(id)) << "a task is cancelled once";
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace clickstream::common
