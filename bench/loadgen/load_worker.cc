// The main load's I/O thread (see load_worker.h).
#include "load_worker.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace clickstream::loadgen {
namespace {

constexpr Nanos kHousekeepingPeriod = 10 * kNanosPerMilli;  // timeout checks and progress publication
constexpr Nanos kPublishPeriod = 100 * kNanosPerMilli;
// After a failed exchange the connection pauses before reconnecting, so a server that refuses connections meets
// a bounded stream of attempts instead of a busy loop of instant errors.
constexpr Nanos kReconnectPause = 20 * kNanosPerMilli;
constexpr Nanos kConnectWait = 2 * kNanosPerSecond;  // pre-connecting waits this long at most

bool IsOk(int status) { return status >= 200 && status < 300; }

}  // namespace

void WindowStats::Merge(const WindowStats& other) {
  requests += other.requests;
  ok += other.ok;
  late += other.late;
  events_acknowledged += other.events_acknowledged;
  for (std::size_t i = 0; i < by_status.size(); ++i) by_status[i] += other.by_status[i];
  latency.Merge(other.latency);
}

void PairTally::Merge(const PairTally& other) {
  if (acknowledged.size() < other.acknowledged.size()) {
    acknowledged.resize(other.acknowledged.size());
    uncertain.resize(other.uncertain.size());
  }
  for (std::size_t k = 0; k < other.acknowledged.size(); ++k) {
    acknowledged[k] += other.acknowledged[k];
    uncertain[k] += other.uncertain[k];
  }
  events_sent_end = std::max(events_sent_end, other.events_sent_end);
}

LoadWorker::LoadWorker(const Options& options, int index, int connections, RunControl& control)
    : options_(options),
      index_(index),
      threads_(static_cast<uint64_t>(options.threads)),
      interval_ns_(options.rate > 0 ? 1e9 / options.rate : 0),
      control_(control),
      renderer_(options),
      limit_(UINT64_MAX) {
  if (const uint64_t global_limit = renderer_.RequestLimit(); global_limit != UINT64_MAX) {
    // This thread's requests are index, index + T, ... below the global limit.
    const auto first = static_cast<uint64_t>(index);
    limit_ = global_limit > first ? (global_limit - first + threads_ - 1) / threads_ : 0;
  }
  for (int i = 0; i < connections; ++i) {
    connections_.push_back(std::make_unique<Connection>(loop_, options.target, *this, static_cast<uint32_t>(i)));
    free_.push_back(static_cast<uint32_t>(i));
  }
  slots_.resize(connections);
  if (WritesEvents(options.workload)) {
    tally_.acknowledged.assign(options.pairs, 0);
    tally_.uncertain.assign(options.pairs, 0);
  }
}

void LoadWorker::Run() {
  // Open-loop deadlines are microseconds apart: ask the kernel for 1 us timer slack instead of the default 50 us.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  PreConnect();
  control_.ready.fetch_add(1);
  window_ = AwaitStart(control_, options_);
  housekeeping_at_ = window_.start;
  published_at_ = window_.start;
  Nanos now;
  while (true) {
    now = NowNanos();
    if (sending_ && (now >= window_.end || control_.stop.load(std::memory_order_relaxed))) StopSending(now);
    if (sending_) {
      ReviveRested(now);
      Dispatch(now);
    }
    if (now >= housekeeping_at_) Housekeeping(now);
    if (Finished(now)) break;
    loop_.RunOnce(NextWake(now));
  }
  if (sending_) finished_at_ = now;  // the requests ran out (query --distinct) before the window ended
  Publish(true);
}

LiveSnapshot LoadWorker::Snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void LoadWorker::OnResponse(Connection& connection, const HttpResponse& response, Nanos now) {
  Complete(connection.tag(), response.status, response.body, now);
  MakeFree(connection.tag(), now);
}

void LoadWorker::OnFailure(Connection& connection, Nanos now) {
  Complete(connection.tag(), 0, {}, now);
  resting_.emplace_back(now + kReconnectPause, connection.tag());
}

// Opens every connection before the start line, so the handshakes are not part of the first measurements.
void LoadWorker::PreConnect() {
  for (auto& connection : connections_) connection->Open();
  const Nanos give_up = NowNanos() + kConnectWait;
  while (NowNanos() < give_up &&
         std::any_of(connections_.begin(), connections_.end(), [](const auto& c) { return c->connecting(); })) {
    loop_.RunOnce(std::min(give_up, NowNanos() + kNanosPerMilli));
  }
}

void LoadWorker::StopSending(Nanos now) {
  sending_ = false;
  finished_at_ = std::min(now, window_.end);
  // Due before the stop (a request due at window_.end itself belongs to no window) but never sent.
  if (open_loop()) queued_at_end_ = std::min(DueCount(finished_at_ - 1), limit_) - std::min(next_, limit_);
}

void LoadWorker::Housekeeping(Nanos now) {
  CheckTimeouts(now);
  housekeeping_at_ = now + kHousekeepingPeriod;
  if (now - published_at_ >= kPublishPeriod) {
    Publish(false);
    published_at_ = now;
  }
}

bool LoadWorker::Finished(Nanos now) const {
  if (in_flight_ == 0 && (!sending_ || next_ >= limit_)) return true;
  if (sending_) return false;
  // Writing workloads wait for their in-flight requests: --verify needs the outcome of every event sent. Those
  // time out by themselves (CheckTimeouts), so the deadline here is only a backstop.
  const bool drain = WritesEvents(options_.workload);
  return !drain || now >= finished_at_ + kRequestTimeout + 2 * kHousekeepingPeriod;
}

void LoadWorker::Dispatch(Nanos now) {
  while (!free_.empty() && next_ < limit_) {
    if (open_loop() && ScheduledAt(next_) > now) break;
    const uint32_t slot = free_.back();
    free_.pop_back();
    Send(slot, next_++, now);
  }
}

void LoadWorker::Send(uint32_t slot, uint64_t local, Nanos now) {
  const uint64_t request = GlobalIndex(local);
  Connection& connection = *connections_[slot];
  const std::string_view bytes = renderer_.Render(request, connection.scratch());
  // Closed loop measures from the actual send (read per request: rendering a batch takes a while).
  const Nanos send_time = open_loop() ? now : NowNanos();
  slots_[slot] = Slot{request, open_loop() ? ScheduledAt(local) : send_time};
  if (open_loop() && local < late_before_) {
    ++late_;
    if (window_.Measures(slots_[slot].latency_base)) ++stats_.late;
  }
  const EventRange events = renderer_.Events(request);
  if (events.count > 0) tally_.events_sent_end = std::max(tally_.events_sent_end, events.first + events.count);
  ++in_flight_;
  if (!connection.Send(bytes, send_time)) OnFailure(connection, send_time);
}

void LoadWorker::Complete(uint32_t slot, int status, std::string_view body, Nanos now) {
  --in_flight_;
  ++completed_;
  ++(IsOk(status) ? ok_ : errors_);
  const Slot& s = slots_[slot];
  const bool measured = window_.Measures(now);
  if (WritesEvents(options_.workload)) TallyEvents(s.request, status, body, measured);
  if (!measured) return;
  ++stats_.requests;
  if (IsOk(status)) ++stats_.ok;
  ++stats_.by_status[static_cast<std::size_t>(status)];
  stats_.latency.Record(static_cast<uint64_t>(std::max<Nanos>(0, now - s.latency_base) + 500) / 1000);
}

// Attributes the events of `request` to their pairs (see Acknowledged and MaybeStored in requests.h); a batch
// answered 200 acknowledges its events per accepted result, in order.
void LoadWorker::TallyEvents(uint64_t request, int status, std::string_view body, bool measured) {
  const EventRange events = renderer_.Events(request);
  const auto pair_of = [&](uint64_t i) { return static_cast<std::size_t>((events.first + i) % options_.pairs); };
  if (MaybeStored(status)) {
    for (uint64_t i = 0; i < events.count; ++i) ++tally_.uncertain[pair_of(i)];
    return;
  }
  if (!Acknowledged(status)) return;
  if (options_.workload != Workload::kBatch) {
    ++tally_.acknowledged[pair_of(0)];
    if (measured) ++stats_.events_acknowledged;
    return;
  }
  const bool parsed = ReadBatchAnswer(body, batch_answer_);
  const auto& flags = batch_answer_.accepted_flags;
  if (parsed && batch_answer_.has_results && flags.size() == events.count) {
    for (uint64_t i = 0; i < events.count; ++i) {
      if (!flags[i]) continue;
      ++tally_.acknowledged[pair_of(i)];
      if (measured) ++stats_.events_acknowledged;
    }
    return;
  }
  // No per-event results to go by: all accepted is unambiguous; otherwise we cannot tell which events were
  // stored, so --verify can only bound them.
  const int64_t accepted = parsed ? batch_answer_.accepted : -1;
  if (accepted == static_cast<int64_t>(events.count)) {
    for (uint64_t i = 0; i < events.count; ++i) ++tally_.acknowledged[pair_of(i)];
  } else {
    for (uint64_t i = 0; i < events.count; ++i) ++tally_.uncertain[pair_of(i)];
    if (!warned_unattributed_) {
      warned_unattributed_ = true;
      std::fprintf(stderr,
                   "clickstream-loadgen: a batch answer without per-event results (accepted=%lld of %llu); "
                   "its events count as uncertain\n",
                   static_cast<long long>(accepted), static_cast<unsigned long long>(events.count));
    }
  }
  if (measured && accepted > 0) stats_.events_acknowledged += static_cast<uint64_t>(accepted);
}

void LoadWorker::MakeFree(uint32_t slot, Nanos now) {
  // Requests that fell due while every connection was busy have been queued in the client: they are late.
  if (open_loop() && free_.empty()) late_before_ = std::max(late_before_, DueCount(now));
  free_.push_back(slot);
}

void LoadWorker::ReviveRested(Nanos now) {
  for (std::size_t i = 0; i < resting_.size();) {
    if (resting_[i].first <= now) {
      MakeFree(resting_[i].second, now);
      resting_[i] = resting_.back();
      resting_.pop_back();
    } else {
      ++i;
    }
  }
}

void LoadWorker::CheckTimeouts(Nanos now) {
  for (auto& connection : connections_) {
    if (connection->busy() && now - connection->sent_at() > kRequestTimeout) connection->Abort(now);
  }
}

void LoadWorker::Publish(bool finished) {
  const Nanos now = NowNanos();
  std::lock_guard lock(snapshot_mutex_);
  snapshot_.taken_at = now;
  snapshot_.completed = completed_;
  snapshot_.ok = ok_;
  snapshot_.errors = errors_;
  snapshot_.late = late_;
  snapshot_.in_flight = in_flight_;
  snapshot_.queued = open_loop() && sending_ ? std::min(DueCount(now), limit_) - std::min(next_, limit_) : 0;
  snapshot_.finished = finished;
  snapshot_.latency = stats_.latency;
}

Nanos LoadWorker::NextWake(Nanos now) const {
  Nanos wake = housekeeping_at_;
  if (!sending_) return wake;
  wake = std::min(wake, window_.end);
  if (open_loop() && !free_.empty() && next_ < limit_) wake = std::min(wake, ScheduledAt(next_));
  for (const auto& [until, slot] : resting_) wake = std::min(wake, until);
  return std::max(wake, now);
}

Nanos LoadWorker::ScheduledAt(uint64_t local) const {
  return window_.start + static_cast<Nanos>(static_cast<double>(GlobalIndex(local)) * interval_ns_);
}

uint64_t LoadWorker::DueCount(Nanos now) const {
  if (now < window_.start) return 0;
  // Global requests 0..due_global are due; this thread's are index_, index_ + T, ...
  const auto due_global = static_cast<uint64_t>(std::floor(static_cast<double>(now - window_.start) / interval_ns_));
  if (due_global < static_cast<uint64_t>(index_)) return 0;
  return (due_global - index_) / threads_ + 1;
}

}  // namespace clickstream::loadgen
