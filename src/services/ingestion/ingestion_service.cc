#include "services/ingestion/ingestion_service.h"

#include <algorithm>
#include <string>

#include "common/errors.h"
#include "common/thread_timer.h"
#include "domain/field_error.h"

namespace clickstream::ingestion {
namespace {

using common::ErrorKind;
using common::MakeError;

absl::Status TooLarge(std::string_view what, std::size_t limit) {
  return MakeError(ErrorKind::kPayloadTooLarge,
                   std::string(what) + " is larger than " + std::to_string(limit) + " bytes");
}

// Adds `amount` to `counter` if the sum stays within `limit`. Compare-and-swap rather than add-then-undo: a request
// that does not fit must not make a concurrent one see a queue fuller than it is.
bool AddWithin(std::atomic<std::size_t>& counter, std::size_t amount, std::size_t limit) {
  std::size_t current = counter.load();
  do {
    if (current + amount > limit) return false;
  } while (!counter.compare_exchange_weak(current, current + amount));
  return true;
}

// What a pending event costs beyond its request body: the service's copy and librdkafka's copy of its value.
std::size_t HeldBytes(const domain::ClickEvent& event) {
  constexpr std::size_t kJsonOverhead = 128;  // names, quotes, time_stamp; escapes are counted by their fields
  return 2 * (kJsonOverhead + event.event_id.size() + event.user_id.size() + event.event_type.size() +
              event.page_url.size());
}

// Events refused as invalid (400 for a single post, "rejected" in a batch), by reason code.
metrics::Counter& InvalidCounter(metrics::Registry& registry, std::string_view reason) {
  return registry.GetCounter("clickstream_ingest_invalid_events_total",
                             "events ingestion refused as invalid, by reason (time_stamp_too_old, "
                             "time_stamp_too_far_ahead, invalid)",
                             {{"reason", std::string(reason)}});
}

}  // namespace

// One batch awaiting its acknowledgements. `pending` counts the publishes not yet completed plus one held by the
// service while it is still publishing; whoever brings it to zero reports and frees the batch, so the outcome goes
// out exactly once, after the last completion, on whichever thread that comes.
struct IngestionService::PendingBatch {
  IngestionService* service;
  BatchDone done;
  BatchOutcome outcome;  // `published` and `stored` slots are each written by their own publish's completion only
  std::vector<domain::PartitionOffset> stored;  // by index: where an accepted event was stored
  std::atomic<std::size_t> pending;
  std::size_t bytes = 0;  // reserved in in_flight_bytes_ until the outcome goes

  void Complete(std::size_t index, const absl::StatusOr<domain::PartitionOffset>& position) {
    // Whatever made the publish fail (timeout, broker down, full producer queue), the client does the same thing:
    // send that event again, which event_id makes safe.
    if (position.ok()) {
      stored[index] = *position;
    } else {
      outcome.published[index] = absl::UnavailableError(position.status().message());
    }
    service->in_flight_.fetch_sub(1);
    Release();
  }

  void Release() {
    // acq_rel: the last one sees every other completion's write to `published`.
    if (pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    BatchDone report = std::move(done);
    absl::StatusOr<BatchOutcome> result = Conclude(std::move(outcome), stored);
    service->in_flight_bytes_.fetch_sub(bytes);
    delete this;
    report(std::move(result));
  }

  // When events were valid but the broker acknowledged none, nothing of the batch was stored: "try the whole batch
  // again" says so more plainly than an outcome listing only failures.
  static absl::StatusOr<BatchOutcome> Conclude(BatchOutcome outcome,
                                               const std::vector<domain::PartitionOffset>& stored) {
    const absl::Status* first_failure = nullptr;
    for (std::size_t i = 0; i < outcome.events.size(); ++i) {
      if (!outcome.events[i].event.ok()) continue;
      if (outcome.published[i].ok()) {
        ++outcome.accepted;
        domain::Include(outcome.position, stored[i]);
      } else if (first_failure == nullptr) {
        first_failure = &outcome.published[i];
      }
    }
    if (first_failure != nullptr && outcome.accepted == 0) {
      return absl::UnavailableError("the broker acknowledged no event of the batch (" +
                                    std::string(first_failure->message()) + "); retry the batch");
    }
    return outcome;
  }
};

IngestionService::IngestionService(IngestionOptions options, std::unique_ptr<ports::EventPublisher> publisher,
                                   std::function<int64_t()> now_us, std::unique_ptr<ports::Clock> clock)
    : options_(std::move(options)),
      now_us_(std::move(now_us)),
      clock_(clock ? std::move(clock) : std::make_unique<common::SteadyClock>()),
      keys_(options_.api_keys),
      limiter_(std::max<std::size_t>(1, options_.api_keys.size()), options_.events_per_second_per_key,
               options_.burst_per_key, *clock_),
      metrics_(metrics::GivenOrOwn(options_.metrics, own_metrics_)),
      publisher_(std::move(publisher)) {
  // Every reason shows from the start, at 0, so a rate over it never starts from nothing.
  for (const auto reason : {domain::kReasonInvalid, domain::kReasonTooOld, domain::kReasonTooFarAhead}) {
    InvalidCounter(metrics_, reason);
  }
}

void IngestionService::CountInvalid(const absl::Status& refusal) {
  InvalidCounter(metrics_, domain::ReasonOf(refusal)).Inc();
}

absl::Status IngestionService::TakeRate(std::size_t key, std::size_t events) {
  auto wait = limiter_.TryTake(key, static_cast<double>(events));
  if (!wait) return absl::OkStatus();
  return common::RateLimitedError("this API key is over its event rate; retry later", *wait);
}

absl::Status IngestionService::ReserveInFlight(std::size_t events, std::size_t bytes) {
  if (bytes > options_.max_in_flight_bytes) {
    return MakeError(ErrorKind::kPayloadTooLarge,
                     "this request needs " + std::to_string(bytes) +
                         " bytes while it waits for the broker, more than ingestion ever holds (" +
                         std::to_string(options_.max_in_flight_bytes) + "); send fewer or smaller events");
  }
  absl::Status full = MakeError(ErrorKind::kOverloaded, "too many events awaiting the broker; retry later");
  if (!AddWithin(in_flight_, events, options_.max_in_flight)) return full;
  if (!AddWithin(in_flight_bytes_, bytes, options_.max_in_flight_bytes)) {
    in_flight_.fetch_sub(events);
    return full;
  }
  return absl::OkStatus();
}

void IngestionService::Ingest(const IngestRequest& request, EventDone done) {
  auto key = services::Authenticate(keys_, request.presented_key);
  if (!key.ok()) return done(key.status());
  if (auto limited = TakeRate(*key, 1); !limited.ok()) return done(limited);
  if (request.body.size() > options_.max_body_bytes) return done(TooLarge("body", options_.max_body_bytes));
  const int64_t now_ms = NowMillis();
  auto event = domain::ParseClickEvent(request.body, options_.limits, now_ms * 1000);
  if (!event.ok()) {
    CountInvalid(event.status());
    return done(event.status());
  }
  std::string normalized = domain::ToJson(*event);
  // Held until the answer: the request (its body), the answer's copy of the event and librdkafka's.
  const std::size_t bytes = request.body.size() + 2 * normalized.size();
  if (auto refused = ReserveInFlight(1, bytes); !refused.ok()) return done(refused);
  // The publisher copies the value before Publish returns; the outcome keeps its own copy for the answer.
  auto published = [this, done = std::move(done), body = normalized,
                    bytes](const absl::StatusOr<domain::PartitionOffset>& position) {
    in_flight_.fetch_sub(1);
    in_flight_bytes_.fetch_sub(bytes);
    if (position.ok()) {
      done(AcceptedEvent{body, *position});
    } else {
      done(position.status());
    }
  };
  publisher_->Publish(event->user_id, normalized, now_ms, request.trace, std::move(published));
}

absl::StatusOr<std::vector<domain::BatchEvent>> IngestionService::ParseBatch(const IngestRequest& request,
                                                                             BatchFormat format, int64_t now_ms) {
  if (request.body.size() > options_.batch_max_body_bytes) return TooLarge("body", options_.batch_max_body_bytes);
  return ParseBatchBody(request.body, format, options_.batch_max_events, options_.limits, now_ms * 1000);
}

void IngestionService::IngestBatch(const IngestRequest& request, BatchFormat format, BatchDone done) {
  auto key = services::Authenticate(keys_, request.presented_key);
  if (!key.ok()) return done(key.status());
  const int64_t now_ms = NowMillis();
  auto events = ParseBatch(request, format, now_ms);
  if (!events.ok()) return done(events.status());
  // Every event of the body costs a token, valid or not, as a refused single post does.
  if (limiter_.enabled() && static_cast<double>(events->size()) > options_.burst_per_key) {
    return done(MakeError(ErrorKind::kPayloadTooLarge,
                          "a batch of " + std::to_string(events->size()) +
                              " events is more than this API key may ever post at once (its burst); send smaller "
                              "batches"));
  }
  if (auto limited = TakeRate(*key, events->size()); !limited.ok()) return done(limited);
  std::size_t valid = 0;
  for (const auto& event : *events) {
    if (event.event.ok()) {
      ++valid;
    } else {
      CountInvalid(event.event.status());
    }
  }
  if (valid == 0) {
    BatchOutcome outcome{std::move(*events), {}, 0, {}};
    outcome.published.resize(outcome.events.size());
    return done(std::move(outcome));
  }
  std::size_t bytes = request.body.size();
  for (const auto& event : *events) {
    if (event.event.ok()) bytes += HeldBytes(*event.event);
  }
  if (auto refused = ReserveInFlight(valid, bytes); !refused.ok()) return done(refused);
  PublishBatch(std::move(done), std::move(*events), valid, bytes, now_ms, request.trace);
}

void IngestionService::PublishBatch(BatchDone done, std::vector<domain::BatchEvent> events, std::size_t valid,
                                    std::size_t bytes, int64_t now_ms, const tracing::TraceContext& trace) {
  // Owned by the count in `pending`: freed by whichever Release brings it to zero.
  auto* batch = new PendingBatch{this, std::move(done), {std::move(events), {}, 0, {}}, {}, {}, bytes};
  batch->outcome.published.resize(batch->outcome.events.size());
  batch->stored.resize(batch->outcome.events.size());
  batch->pending.store(valid + 1);  // + the service's own hold, so no completion can report mid-loop
  for (std::size_t i = 0; i < batch->outcome.events.size(); ++i) {
    const auto& event = batch->outcome.events[i].event;
    if (!event.ok()) continue;
    // Two words, so std::function stores the callback without allocating.
    publisher_->Publish(
        event->user_id, domain::ToJson(*event), now_ms, trace,
        [batch, i](const absl::StatusOr<domain::PartitionOffset>& position) { batch->Complete(i, position); });
  }
  batch->Release();
}

absl::Status IngestionService::CheckReady() { return publisher_->CheckReady(std::chrono::milliseconds(1000)); }

// Events are validated against this clock and their records carry it as their Kafka timestamp, in whole
// milliseconds on both sides, so the processor's check against the record's timestamp gives the same verdict.
int64_t IngestionService::NowMillis() const { return now_us_() / 1000; }

void IngestionService::Drain(std::chrono::milliseconds timeout) { publisher_->Drain(timeout); }

}  // namespace clickstream::ingestion
