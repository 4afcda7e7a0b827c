#include "services/gateway/coalescing_count_client.h"

#include <algorithm>
#include <string>

namespace clickstream::gateway {

CoalescingCountClient::CoalescingCountClient(CoalescingOptions options, std::unique_ptr<ports::CountClient> inner)
    : options_(options), inner_(std::move(inner)) {}

CoalescingCountClient::~CoalescingCountClient() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

void CoalescingCountClient::GetCount(std::string_view user_id, std::string_view page_url, Done done) {
  std::unique_lock lock(mutex_);
  if (waiting_.pairs.size() >= options_.max_waiting) {
    lock.unlock();
    done(absl::ResourceExhaustedError("too many look-ups waiting for analytics; retry later"));
    return;
  }
  waiting_.pairs.push_back({std::string(user_id), std::string(page_url)});
  waiting_.dones.push_back(std::move(done));
  if (in_flight_ >= options_.max_batches_in_flight) return;  // leaves when a batch in flight comes back
  ++in_flight_;
  Batch batch = TakeBatchLocked();
  lock.unlock();
  Send(std::move(batch));
}

CoalescingCountClient::Batch CoalescingCountClient::TakeBatchLocked() {
  Batch batch;
  if (waiting_.pairs.size() <= options_.max_batch) {
    std::swap(batch, waiting_);
    return batch;
  }
  const auto take = static_cast<std::ptrdiff_t>(options_.max_batch);
  batch.pairs.assign(std::make_move_iterator(waiting_.pairs.begin()),
                     std::make_move_iterator(waiting_.pairs.begin() + take));
  batch.dones.assign(std::make_move_iterator(waiting_.dones.begin()),
                     std::make_move_iterator(waiting_.dones.begin() + take));
  waiting_.pairs.erase(waiting_.pairs.begin(), waiting_.pairs.begin() + take);
  waiting_.dones.erase(waiting_.dones.begin(), waiting_.dones.begin() + take);
  return batch;
}

void CoalescingCountClient::Send(Batch batch) {
  inner_->GetCounts(std::move(batch.pairs),
                    [this, dones = std::move(batch.dones)](std::vector<absl::StatusOr<int64_t>> results) mutable {
                      Finished(std::move(dones), std::move(results));
                    });
}

void CoalescingCountClient::Finished(std::vector<Done> dones, std::vector<absl::StatusOr<int64_t>> results) {
  for (std::size_t i = 0; i < dones.size(); ++i) {
    dones[i](i < results.size() ? std::move(results[i])
                                : absl::InternalError("analytics answered fewer results than pairs asked"));
  }
  std::unique_lock lock(mutex_);
  if (waiting_.pairs.empty()) {
    --in_flight_;
    idle_.notify_all();
    return;
  }
  Batch next = TakeBatchLocked();  // this batch's slot passes to the next one
  lock.unlock();
  Send(std::move(next));
}

void CoalescingCountClient::GetCounts(std::vector<domain::CountQuery> pairs, DoneMany done) {
  inner_->GetCounts(std::move(pairs), std::move(done));
}

absl::Status CoalescingCountClient::CheckReady(std::chrono::milliseconds timeout) {
  return inner_->CheckReady(timeout);
}

}  // namespace clickstream::gateway
