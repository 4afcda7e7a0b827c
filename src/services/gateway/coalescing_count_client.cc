#include "services/gateway/coalescing_count_client.h"

#include <algorithm>
#include <atomic>
#include <string>

namespace clickstream::gateway {
namespace {

// gRPC measures a call's deadline on its own clock: the call may fail a hair before ours says the deadline came.
constexpr auto kClockSlack = std::chrono::milliseconds(5);

absl::Status DeadlinePassed() {
  return absl::DeadlineExceededError("no answer from analytics within the query deadline");
}

absl::Status TooManyOwnCalls() {
  return absl::ResourceExhaustedError("too many look-ups waiting for analytics; retry later");
}

}  // namespace

struct CoalescingCountClient::Waiter {
  domain::CountQuery pair;
  Deadline deadline;
  tracing::TraceContext trace;
  Done done;
  std::atomic<bool> answered{false};
  ports::Timer::TaskId expiry = 0;  // set before the waiter is queued, read only after
};

CoalescingCountClient::CoalescingCountClient(CoalescingOptions options, std::unique_ptr<ports::CountClient> inner,
                                             std::unique_ptr<ports::Timer> timer)
    : options_(options), inner_(std::move(inner)), timer_(std::move(timer)) {}

CoalescingCountClient::~CoalescingCountClient() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0 && in_flight_own_ == 0; });
}

void CoalescingCountClient::LookUpAfter(const domain::Position& after, std::string_view user_id,
                                        std::string_view page_url, Deadline deadline,
                                        const tracing::TraceContext& trace, Done done) {
  if (timer_->Now() >= deadline) return done(DeadlinePassed());
  if (!BeginOwnCall()) return done(TooManyOwnCalls());
  inner_->GetCounts({{std::string(user_id), std::string(page_url)}}, after, deadline, trace,
                    [this, done = std::move(done)](std::vector<Result> results) {
                      done(results.empty() ? absl::InternalError("analytics answered no result for the pair")
                                           : std::move(results.front()));
                      EndOwnCall();
                    });
}

void CoalescingCountClient::Reconcile(domain::CountQuery pair, Deadline deadline,
                                      ports::CountClient::ReconcileDone done) {
  if (timer_->Now() >= deadline) return done(DeadlinePassed());
  if (!BeginOwnCall()) return done(TooManyOwnCalls());
  inner_->Reconcile(std::move(pair), deadline,
                    [this, done = std::move(done)](absl::StatusOr<domain::Reconciliation> reconciliation) {
                      done(std::move(reconciliation));
                      EndOwnCall();
                    });
}

bool CoalescingCountClient::BeginOwnCall() {
  std::lock_guard lock(mutex_);
  if (in_flight_own_ >= options_.max_waiting) return false;
  ++in_flight_own_;
  return true;
}

void CoalescingCountClient::EndOwnCall() {
  std::lock_guard lock(mutex_);
  if (--in_flight_own_ == 0) idle_.notify_all();
}

void CoalescingCountClient::LookUp(std::string_view user_id, std::string_view page_url, Deadline deadline,
                                   const tracing::TraceContext& trace, Done done) {
  if (timer_->Now() >= deadline) {
    done(DeadlinePassed());  // never sent: its client no longer waits for it
    return;
  }
  auto waiter = std::make_shared<Waiter>();
  waiter->pair = {std::string(user_id), std::string(page_url)};
  waiter->deadline = deadline;
  waiter->trace = trace;
  waiter->done = std::move(done);
  // Armed before the waiter can reach a batch, so whatever answers first, the deadline holds.
  waiter->expiry = timer_->RunAt(deadline, [this, waiter] { Expire(waiter); });
  std::unique_lock lock(mutex_);
  if (waiting_.size() >= options_.max_waiting) {
    lock.unlock();
    Answer(waiter, absl::ResourceExhaustedError("too many look-ups waiting for analytics; retry later"));
    return;
  }
  waiting_.push_back(std::move(waiter));
  if (in_flight_ >= options_.max_batches_in_flight) return;  // leaves when a batch in flight comes back
  ++in_flight_;
  SendNextOrRelease(std::move(lock));
}

CoalescingCountClient::Batch CoalescingCountClient::TakeBatchLocked(std::vector<WaiterPtr>& expired) {
  const Deadline now = timer_->Now();
  Batch batch;
  while (!waiting_.empty() && batch.waiters.size() < options_.max_batch) {
    WaiterPtr waiter = std::move(waiting_.front());
    waiting_.pop_front();
    if (waiter->answered.load()) continue;  // its deadline came while it waited
    if (waiter->deadline <= now) {
      expired.push_back(std::move(waiter));  // due, its timer not run yet: answered now, never sent
      continue;
    }
    batch.deadline = batch.waiters.empty() ? waiter->deadline : std::min(batch.deadline, waiter->deadline);
    batch.waiters.push_back(std::move(waiter));
  }
  return batch;
}

void CoalescingCountClient::SendNextOrRelease(std::unique_lock<std::mutex> lock) {
  while (true) {
    std::vector<WaiterPtr> expired;
    Batch batch = TakeBatchLocked(expired);
    if (batch.waiters.empty() && expired.empty()) {
      // Nothing left waiting (TakeBatchLocked emptied the queue): later look-ups find the slot free and leave at
      // once. Nothing of this client is touched after the slot is free: the destructor may be waiting for it.
      --in_flight_;
      idle_.notify_all();
      return;
    }
    lock.unlock();
    // Answered while this call still holds the slot, so the client outlives the answers.
    for (const auto& waiter : expired) Answer(waiter, DeadlinePassed());
    if (!batch.waiters.empty()) return Send(std::move(batch));
    lock.lock();  // look-ups that came meanwhile queued behind this slot
  }
}

void CoalescingCountClient::Send(Batch batch) {
  std::vector<domain::CountQuery> pairs;
  pairs.reserve(batch.waiters.size());
  tracing::TraceContext trace;
  for (const auto& waiter : batch.waiters) {
    pairs.push_back(waiter->pair);
    if (!trace.sampled && waiter->trace.sampled) trace = waiter->trace;
  }
  const Deadline deadline = batch.deadline;
  inner_->GetCounts(std::move(pairs), {}, deadline, trace,
                    [this, batch = std::move(batch)](std::vector<Result> results) mutable {
                      Finished(std::move(batch), std::move(results));
                    });
}

void CoalescingCountClient::Finished(Batch batch, std::vector<Result> results) {
  const Deadline now = timer_->Now();
  // The batch carried its earliest look-up's deadline. When that cut it short, the look-ups with time left were
  // failed by someone else's deadline: they go out again (first in line, keeping deadline order) rather than
  // answer 504 early.
  const bool cut_by_deadline = now + kClockSlack >= batch.deadline;
  std::vector<WaiterPtr> again;
  for (std::size_t i = 0; i < batch.waiters.size(); ++i) {
    const WaiterPtr& waiter = batch.waiters[i];
    Result result = i < results.size() ? std::move(results[i])
                                       : absl::InternalError("analytics answered fewer results than pairs asked");
    if (cut_by_deadline && result.status().code() == absl::StatusCode::kDeadlineExceeded && waiter->deadline > now &&
        !waiter->answered.load()) {
      again.push_back(waiter);
      continue;
    }
    Answer(waiter, std::move(result));
  }
  std::unique_lock lock(mutex_);
  waiting_.insert(waiting_.begin(), again.begin(), again.end());
  SendNextOrRelease(std::move(lock));  // this batch's slot passes to the next one
}

void CoalescingCountClient::Expire(const WaiterPtr& waiter) {
  Answer(waiter, DeadlinePassed(), /*cancel_timer=*/false);
  // Drop answered look-ups from the head of the line so they stop counting against max_waiting. Deadlines come in
  // arrival order, so the expired ones are at the head; any others are skipped when their batch is taken.
  std::lock_guard lock(mutex_);
  while (!waiting_.empty() && waiting_.front()->answered.load()) waiting_.pop_front();
}

void CoalescingCountClient::Answer(const WaiterPtr& waiter, Result result, bool cancel_timer) {
  if (waiter->answered.exchange(true)) return;  // the deadline or the batch answered it first
  if (cancel_timer) timer_->Cancel(waiter->expiry);
  waiter->done(std::move(result));
}

absl::Status CoalescingCountClient::CheckReady(std::chrono::milliseconds timeout) {
  return inner_->CheckReady(timeout);
}

}  // namespace clickstream::gateway
