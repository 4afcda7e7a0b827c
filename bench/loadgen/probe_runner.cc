// Freshness probes (see probe_runner.h).
#include "probe_runner.h"

#include <sys/prctl.h>

#include <algorithm>

#include "answer_json.h"
#include "requests.h"

namespace clickstream::loadgen {
namespace {

constexpr Nanos kHousekeepingPeriod = 10 * kNanosPerMilli;

}  // namespace

ProbeRunner::ProbeRunner(const Options& options, RunControl& control) : options_(options), control_(control) {}

void ProbeRunner::Run() {
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  // 2 ms poll cadence: keep the kernel's timer slack out of it
  control_.ready.fetch_add(1);
  window_ = AwaitStart(control_, options_);
  const double interval_ns = 1e9 / options_.probe_rate;
  uint64_t next_j = 0;
  Nanos housekeeping = window_.start;
  while (true) {
    const Nanos now = NowNanos();
    const bool launching = now < window_.end && !control_.stop.load(std::memory_order_relaxed);
    Nanos next_launch = window_.start + static_cast<Nanos>(static_cast<double>(next_j) * interval_ns);
    while (launching && next_launch <= now) {
      Launch(next_j++, next_launch, now);
      next_launch = window_.start + static_cast<Nanos>(static_cast<double>(next_j) * interval_ns);
    }
    PollDue(now);
    if (now >= housekeeping) {
      for (Pooled& pooled : pool_) {
        if (pooled.connection->busy() && now - pooled.connection->sent_at() > kRequestTimeout) {
          pooled.connection->Abort(now);
        }
      }
      housekeeping = now + kHousekeepingPeriod;
    }
    if (!launching && active_.empty()) break;
    loop_.RunOnce(std::min(NextWake(now, launching ? next_launch : housekeeping), housekeeping));
  }
}

void ProbeRunner::OnResponse(Connection& connection, const HttpResponse& response, Nanos now) {
  const uint64_t j = pool_[connection.tag()].probe;
  Probe& probe = probes_[j];
  Release(connection.tag());
  if (probe.phase == Phase::kPosting) {
    results_.post_status[j] = response.status;
    if (!Acknowledged(response.status)) return Finish(j, false, now);
    probe.post = {};
    probe.acked_at = now;
    probe.phase = Phase::kWaiting;
    probe.next_poll = now;  // the first poll goes out at once
    return;
  }
  if (probe.phase != Phase::kPolling) return;  // timed out while this poll was in flight
  const std::optional<int64_t> count = response.status == 200 ? ReadCount(response.body) : std::nullopt;
  if (count && *count >= 1) return Finish(j, true, now);
  probe.phase = Phase::kWaiting;  // next_poll was set when this poll went out
}

void ProbeRunner::OnFailure(Connection& connection, Nanos now) {
  const uint64_t j = pool_[connection.tag()].probe;
  Probe& probe = probes_[j];
  Release(connection.tag());
  if (probe.phase == Phase::kPosting) return Finish(j, false, now);
  if (probe.phase == Phase::kPolling) probe.phase = Phase::kWaiting;
}

void ProbeRunner::Launch(uint64_t j, Nanos scheduled, Nanos now) {
  Probe probe;
  probe.measured = window_.Measures(scheduled);
  RenderProbeIngest(options_, j, probe.post);
  probe.poll = RenderCountQuery(options_.gateway, ProbePair(options_.run_id, j), options_.api_key);
  probes_.push_back(std::move(probe));
  results_.post_status.push_back(0);
  active_.push_back(j);
  const uint32_t tag = Acquire(false);
  pool_[tag].probe = j;
  if (!pool_[tag].connection->Send(probes_[j].post, now)) {
    Release(tag);
    Finish(j, false, now);
  }
}

void ProbeRunner::Poll(uint64_t j, Nanos now) {
  Probe& probe = probes_[j];
  const uint32_t tag = Acquire(true);
  pool_[tag].probe = j;
  probe.phase = Phase::kPolling;
  probe.next_poll = now + kProbePollInterval;  // an answer slower than the interval is polled again at once
  if (!pool_[tag].connection->Send(probe.poll, now)) {
    Release(tag);
    probe.phase = Phase::kWaiting;
  }
}

// Sends the polls that are due and ends probes that ran out of time.
void ProbeRunner::PollDue(Nanos now) {
  for (std::size_t i = 0; i < active_.size(); ++i) {
    const uint64_t j = active_[i];
    Probe& probe = probes_[j];
    if (probe.phase == Phase::kPosting) continue;
    if (now - probe.acked_at > kProbeTimeout) {
      Finish(j, false, now);
    } else if (probe.phase == Phase::kWaiting && probe.next_poll <= now) {
      Poll(j, now);
    }
  }
  std::erase_if(active_, [this](uint64_t j) { return probes_[j].phase == Phase::kDone; });
}

void ProbeRunner::Finish(uint64_t j, bool fresh, Nanos now) {
  Probe& probe = probes_[j];
  probe.phase = Phase::kDone;
  probe.post = {};
  probe.poll = {};
  if (!probe.measured) return;
  ++results_.probes;
  if (fresh) {
    results_.freshness.Record(static_cast<uint64_t>(now - probe.acked_at + 500) / 1000);
  } else {
    ++results_.failed;
  }
}

uint32_t ProbeRunner::Acquire(bool to_gateway) {
  std::vector<uint32_t>& free = to_gateway ? free_gateway_ : free_ingest_;
  if (!free.empty()) {
    const uint32_t tag = free.back();
    free.pop_back();
    return tag;
  }
  const auto tag = static_cast<uint32_t>(pool_.size());
  const Endpoint& endpoint = to_gateway ? options_.gateway : options_.target;
  pool_.push_back(Pooled{std::make_unique<Connection>(loop_, endpoint, *this, tag), to_gateway, 0});
  return tag;
}

void ProbeRunner::Release(uint32_t tag) { (pool_[tag].to_gateway ? free_gateway_ : free_ingest_).push_back(tag); }

Nanos ProbeRunner::NextWake(Nanos now, Nanos next_launch) const {
  Nanos wake = next_launch;
  for (const uint64_t j : active_) {
    const Probe& probe = probes_[j];
    if (probe.phase == Phase::kWaiting) wake = std::min(wake, probe.next_poll);
    if (probe.phase != Phase::kPosting) wake = std::min(wake, probe.acked_at + kProbeTimeout);
  }
  return std::max(wake, now);
}

}  // namespace clickstream::loadgen
