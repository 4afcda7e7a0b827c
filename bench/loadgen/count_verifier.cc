// Count verification through the gateway (see count_verifier.h).
#include "count_verifier.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <memory>

#include "answer_json.h"
#include "connection.h"
#include "event_loop.h"
#include "run_control.h"

namespace clickstream::loadgen {
namespace {

constexpr std::size_t kConnections = 16;
// A pair still behind is asked again after this pause: the pipeline needs time, the gateway needs no hammering.
constexpr Nanos kRetryPause = 50 * kNanosPerMilli;
constexpr Nanos kHousekeepingPeriod = 10 * kNanosPerMilli;
constexpr std::size_t kMaxExamples = 5;

class CountVerifier final : public ExchangeObserver {
 public:
  CountVerifier(const Options& options, const std::vector<VerifyItem>& items) : options_(options), items_(items) {
    states_.resize(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      states_[i].request = RenderCountQuery(options.gateway, items[i].pair, options.api_key);
      queue_.push_back({0, i});
    }
    for (std::size_t c = 0; c < std::min(kConnections, items.size()); ++c) {
      connections_.push_back(std::make_unique<Connection>(loop_, options.gateway, *this, static_cast<uint32_t>(c)));
      free_.push_back(static_cast<uint32_t>(c));
    }
    in_flight_.resize(connections_.size());
  }

  VerifyReport Run() {
    const Nanos deadline = NowNanos() + SecondsToNanos(options_.verify_timeout_s);
    Nanos next_progress = NowNanos() + kNanosPerSecond;
    unresolved_ = items_.size();
    while (unresolved_ > 0) {
      const Nanos now = NowNanos();
      if (now >= deadline) break;
      Dispatch(now);
      for (auto& connection : connections_) {
        if (connection->busy() && now - connection->sent_at() > kRequestTimeout) connection->Abort(now);
      }
      if (now >= next_progress) {
        std::fprintf(stderr, "verify: %zu of %zu pairs still short\n", unresolved_, items_.size());
        next_progress = now + kNanosPerSecond;
      }
      Nanos wake = std::min(deadline, now + kHousekeepingPeriod);
      if (!free_.empty() && !queue_.empty()) wake = std::min(wake, queue_.front().first);
      loop_.RunOnce(wake);
    }
    return Report();
  }

  void OnResponse(Connection& connection, const HttpResponse& response, Nanos now) override {
    const std::size_t i = in_flight_[connection.tag()];
    free_.push_back(connection.tag());
    const std::optional<int64_t> count = response.status == 200 ? ReadCount(response.body) : std::nullopt;
    if (!count) return Retry(i, now);
    State& state = states_[i];
    state.last_count = *count;
    const auto low = static_cast<int64_t>(items_[i].acknowledged);
    const auto high = static_cast<int64_t>(items_[i].acknowledged + items_[i].uncertain);
    if (*count < low) return Retry(i, now);
    state.resolved = true;
    state.wrong = *count > high;
    --unresolved_;
  }

  void OnFailure(Connection& connection, Nanos now) override {
    free_.push_back(connection.tag());
    Retry(in_flight_[connection.tag()], now);
  }

 private:
  struct State {
    std::string request;
    int64_t last_count = -1;  // -1: never answered
    bool resolved = false;
    bool wrong = false;
  };

  void Dispatch(Nanos now) {
    while (!free_.empty() && !queue_.empty() && queue_.front().first <= now) {
      const std::size_t i = queue_.front().second;
      queue_.pop_front();
      const uint32_t tag = free_.back();
      free_.pop_back();
      in_flight_[tag] = i;
      if (!connections_[tag]->Send(states_[i].request, now)) {
        free_.push_back(tag);
        Retry(i, now);
        return;  // the gateway refuses connections: try again after the pause rather than spin
      }
    }
  }

  void Retry(std::size_t i, Nanos now) { queue_.push_back({now + kRetryPause, i}); }

  VerifyReport Report() const {
    VerifyReport report;
    report.checked = items_.size();
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const State& state = states_[i];
      if (state.resolved && !state.wrong) continue;
      ++report.wrong;
      if (report.examples.size() >= kMaxExamples) continue;
      const VerifyItem& item = items_[i];
      std::string example = item.pair.user_id + " " + item.pair.page_url;
      example += ": expected " + std::to_string(item.acknowledged);
      if (item.uncertain > 0) example += " (+" + std::to_string(item.uncertain) + " uncertain)";
      example += ", last seen " + (state.last_count < 0 ? "no answer" : std::to_string(state.last_count));
      report.examples.push_back(std::move(example));
    }
    return report;
  }

  const Options& options_;
  const std::vector<VerifyItem>& items_;
  EventLoop loop_;
  std::vector<std::unique_ptr<Connection>> connections_;  // destroyed before loop_ (declared after it)
  std::vector<uint32_t> free_;
  std::vector<std::size_t> in_flight_;               // per connection: the item it asks about
  std::deque<std::pair<Nanos, std::size_t>> queue_;  // (not before, item); times only grow, so FIFO is in order
  std::vector<State> states_;
  std::size_t unresolved_ = 0;
};

}  // namespace

VerifyReport VerifyCounts(const Options& options, const std::vector<VerifyItem>& items) {
  CountVerifier verifier(options, items);
  return verifier.Run();
}

}  // namespace clickstream::loadgen
