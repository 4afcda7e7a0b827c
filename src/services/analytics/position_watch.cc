#include "services/analytics/position_watch.h"

#include <string>
#include <utility>
#include <vector>

namespace clickstream::analytics {
namespace {

absl::Status NotAppliedYet(const domain::Position& wanted, const absl::StatusOr<domain::Position>& applied) {
  std::string message = "the counts do not include position " + domain::PositionToken(wanted) + " yet";
  if (!applied.ok()) {
    return absl::UnavailableError(
        message + "; the applied position could not be read: " + std::string(applied.status().message()));
  }
  message += "; applied so far: " + (applied->empty() ? std::string("nothing") : domain::PositionToken(*applied));
  return domain::WithAppliedPosition(absl::UnavailableError(message + "; retry later"), *applied);
}

}  // namespace

PositionWatch::PositionWatch(PositionWatchOptions options, ReadApplied read_applied)
    : options_(options), read_applied_(std::move(read_applied)), thread_([this] { Watch(); }) {}

PositionWatch::~PositionWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (auto& waiter : waiters_) waiter.reached(absl::UnavailableError("analytics is shutting down; retry"));
}

void PositionWatch::WaitFor(domain::Position wanted, Clock::time_point deadline, Reached reached) {
  {
    std::lock_guard lock(mutex_);
    if (!domain::Reaches(last_applied_, wanted)) {
      if (waiters_.size() >= options_.max_waiting) {
        reached(absl::ResourceExhaustedError("too many queries wait for positions; retry later"));
        return;
      }
      waiters_.push_back({std::move(wanted), deadline, std::move(reached)});
      wake_.notify_one();
      return;
    }
  }
  reached(absl::OkStatus());
}

void PositionWatch::Watch() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !waiters_.empty(); });
    if (stopping_) return;
    lock.unlock();
    const absl::StatusOr<domain::Position> applied = read_applied_();
    const Clock::time_point now = Clock::now();
    std::vector<std::pair<Reached, absl::Status>> answers;
    lock.lock();
    if (applied.ok()) last_applied_ = *applied;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (applied.ok() && domain::Reaches(*applied, it->wanted)) {
        answers.emplace_back(std::move(it->reached), absl::OkStatus());
      } else if (now >= it->deadline) {
        answers.emplace_back(std::move(it->reached), NotAppliedYet(it->wanted, applied));
      } else {
        ++it;
        continue;
      }
      it = waiters_.erase(it);
    }
    lock.unlock();
    for (auto& [reached, status] : answers) reached(std::move(status));
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
  }
}

}  // namespace clickstream::analytics
