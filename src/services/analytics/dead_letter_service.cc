#include "services/analytics/dead_letter_service.h"

#include <future>

#include "common/log.h"
#include "domain/batch.h"

namespace clickstream::analytics {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Busy() { return absl::ResourceExhaustedError("too many dead-letter calls waiting; retry later"); }

}  // namespace

DeadLetterService::DeadLetterService(DeadLetterOptions options, std::unique_ptr<ports::DeadLetterLedger> ledger,
                                     std::unique_ptr<ports::EventPublisher> publisher)
    : options_(options), ledger_(std::move(ledger)), publisher_(std::move(publisher)), work_(options_.queue_depth) {}

DeadLetterService::~DeadLetterService() = default;

absl::Status DeadLetterService::Check(const domain::DeadLetterFilter& filter) const {
  if (filter.limit == 0 || filter.limit > options_.max_page) {
    return absl::InvalidArgumentError("limit must be from 1 to " + std::to_string(options_.max_page));
  }
  return absl::OkStatus();
}

void DeadLetterService::List(domain::DeadLetterFilter filter, ListDone done) {
  if (auto status = Check(filter); !status.ok()) return done(status);
  auto shared = std::make_shared<ListDone>(std::move(done));
  if (!work_.Post([this, filter = std::move(filter), shared] { (*shared)(ledger_->List(filter)); })) (*shared)(Busy());
}

void DeadLetterService::Replay(domain::DeadLetterFilter filter, ReplayDone done) {
  if (auto status = Check(filter); !status.ok()) return done(status);
  auto shared = std::make_shared<ReplayDone>(std::move(done));
  const bool posted = work_.Post([this, filter = std::move(filter), shared] {
    auto letters = ledger_->List(filter);
    if (!letters.ok()) return (*shared)(letters.status());
    (*shared)(ReplayNow(*letters));
  });
  if (!posted) (*shared)(Busy());
}

std::vector<domain::ReplayOutcome> DeadLetterService::ReplayNow(const std::vector<domain::DeadLetter>& letters) {
  static const auto log = common::Logger("analytics");
  std::vector<domain::ReplayOutcome> outcomes;
  outcomes.reserve(letters.size());
  for (const auto& letter : letters) {
    outcomes.push_back(ReplayOne(letter));
    const auto& outcome = outcomes.back();
    log->info("dead letter replay id={} outcome={} position={} {}", letter.id, domain::OutcomeName(outcome.kind),
              outcome.position, outcome.message);
  }
  return outcomes;
}

domain::ReplayOutcome DeadLetterService::ReplayOne(const domain::DeadLetter& letter) {
  using Kind = domain::ReplayOutcome::Kind;
  const int64_t record_time_ms = letter.record_time_ms > 0 ? letter.record_time_ms : NowMicros() / 1000;
  // Judged as the processor judges a record: a record of its own, at its own broker time.
  const domain::Batch batch =
      domain::PrepareBatch({{letter.source_partition, letter.source_offset, letter.key, letter.value, record_time_ms}},
                           options_.limits, NowMicros());
  if (batch.events.empty()) {
    return {letter.id, Kind::kInvalid, "", batch.poison.empty() ? "not an event" : batch.poison.front().reason};
  }
  auto published = std::make_shared<std::promise<absl::StatusOr<domain::PartitionOffset>>>();
  auto acknowledged = published->get_future();
  publisher_->Publish(batch.events.front().user_id, letter.value, record_time_ms, {},
                      [published](absl::StatusOr<domain::PartitionOffset> at) { published->set_value(std::move(at)); });
  // The publisher answers by its own timeout; the margin only guards against an answer that never comes.
  if (acknowledged.wait_for(options_.publish_timeout + std::chrono::seconds(5)) != std::future_status::ready) {
    return {letter.id, Kind::kFailed, "", "the broker did not acknowledge the record in time"};
  }
  auto at = acknowledged.get();
  if (!at.ok()) return {letter.id, Kind::kFailed, "", "publishing failed: " + std::string(at.status().message())};
  const domain::Position position = {*at};
  const std::string token = domain::PositionToken(position);
  if (auto marked = ledger_->MarkReplayed(letter.id, position); !marked.ok()) {
    return {letter.id, Kind::kReplayed, token, "published, but not marked replayed: " + std::string(marked.message())};
  }
  return {letter.id, Kind::kReplayed, token, ""};
}

}  // namespace clickstream::analytics
