// The gateway's look-ups of single pairs, coalesced into batched calls on the CountClient it wraps: the one user of
// that client. While
// `max_batches_in_flight` batches are out, new look-ups wait and leave together in the next batch (at most
// `max_batch` pairs) as soon as one comes back. At low load every look-up leaves at once in a batch of its own, so
// coalescing adds no wait; under load it replaces thousands of RPCs a second by a few batched ones, each answered
// with one cache round trip. One batch in flight is the default: a look-up then waits at most one round trip
// (under a millisecond), and every RPC saved is CPU the 2-core bench machine gives back to the tail (bench W4:
// p99 at 5,000 req/s 1.6-1.8 ms with one, 2.8-12 ms with four; maximum 45k against 25k req/s).
//
// Every look-up keeps its own deadline, whatever happens to the batch it waits behind or travels in: a timer
// answers it DEADLINE_EXCEEDED at its deadline, once (a batch answer arriving later is dropped); a look-up whose
// deadline has passed is never sent; a batch carries the deadline of its earliest look-up, and the look-ups in it
// that still have time when that deadline cuts the batch short wait for the next batch instead of failing early.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "ports/count_client.h"
#include "ports/timer.h"

namespace clickstream::gateway {

struct CoalescingOptions {
  std::size_t max_batch = 256;
  std::size_t max_batches_in_flight = 1;
  std::size_t max_waiting = 10000;  // look-ups waiting for a batch; beyond it RESOURCE_EXHAUSTED
};

class CoalescingCountClient final {
 public:
  using Result = ports::CountClient::Result;
  using Done = std::function<void(Result)>;
  using Deadline = ports::CountClient::Deadline;

  // `timer` answers look-ups at their deadlines; its clock is the one deadlines are measured with.
  CoalescingCountClient(CoalescingOptions options, std::unique_ptr<ports::CountClient> inner,
                        std::unique_ptr<ports::Timer> timer);
  // Waits for the batches in flight: their callbacks use this object. They end by their deadline.
  ~CoalescingCountClient();

  // The pair's count, or its error: `done` runs exactly once, on the inner client's thread with the batch's
  // answer, on the timer's thread at `deadline` (DEADLINE_EXCEEDED, whatever the batch does later), or inline when
  // `deadline` has already passed or too many look-ups wait (RESOURCE_EXHAUSTED). `done` must not block.
  // `trace`, when sampled, may be the one its batch's call carries (a batch carries the first sampled one).
  void LookUp(std::string_view user_id, std::string_view page_url, Deadline deadline,
              const tracing::TraceContext& trace, Done done);
  // A look-up that must see the counts include `after` (read-your-writes): sent at once in a call of its own,
  // since the service holds it until the processor applied `after`, and a batch waiting behind it would wait as
  // long. Answered as LookUp answers, its deadline kept by the inner client; RESOURCE_EXHAUSTED inline when
  // max_waiting such look-ups are out.
  void LookUpAfter(const domain::Position& after, std::string_view user_id, std::string_view page_url,
                   Deadline deadline, const tracing::TraceContext& trace, Done done);
  // Reconciliation of one pair, sent at once in a call of its own like LookUpAfter (and counted with those).
  void Reconcile(domain::CountQuery pair, Deadline deadline, ports::CountClient::ReconcileDone done);
  // The inner client's readiness.
  absl::Status CheckReady(std::chrono::milliseconds timeout);
  // Now, on the clock deadlines are measured with.
  Deadline Now() { return timer_->Now(); }

 private:
  struct Waiter;
  using WaiterPtr = std::shared_ptr<Waiter>;
  struct Batch {
    std::vector<WaiterPtr> waiters;
    Deadline deadline{};  // the earliest of theirs
  };

  // Takes the next batch off `waiting_`, leaving out look-ups already answered and putting those whose deadline
  // has passed into `expired`. Holding a batch slot; releases it when nothing is left to send.
  Batch TakeBatchLocked(std::vector<WaiterPtr>& expired);
  // Sends the next batch in the slot the caller holds, or frees the slot when no look-up waits. Unlocks.
  void SendNextOrRelease(std::unique_lock<std::mutex> lock);
  void Send(Batch batch);
  void Finished(Batch batch, std::vector<Result> results);
  void Expire(const WaiterPtr& waiter);
  // A call of its own may go out: false when max_waiting are out already. EndOwnCall after its answer.
  bool BeginOwnCall();
  void EndOwnCall();
  // Answers the look-up unless it was answered already (by its deadline or its batch): exactly once.
  void Answer(const WaiterPtr& waiter, Result result, bool cancel_timer = true);

  const CoalescingOptions options_;
  const std::unique_ptr<ports::CountClient> inner_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::deque<WaiterPtr> waiting_;  // in arrival order, so in deadline order
  std::size_t in_flight_ = 0;      // batches
  std::size_t in_flight_own_ = 0;  // calls of their own: LookUpAfter and Reconcile
  // Last: destroyed (its thread joined) first, while the state its pending tasks use still exists.
  const std::unique_ptr<ports::Timer> timer_;
};

}  // namespace clickstream::gateway
