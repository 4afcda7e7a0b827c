#include "services/ingestion/ingestion_service.h"

#include <algorithm>
#include <string>

#include "common/json_text.h"
#include "common/status_mapping.h"
#include "domain/field_error.h"
#include "services/common/http_answers.h"

namespace clickstream::ingestion {
namespace {

using services::ErrorResponse;

ports::HttpResponse PayloadTooLarge(std::string_view message) {
  return ErrorResponse(413, "payload_too_large", message);
}

// absl::string_view is its own type in Debian's Abseil.
std::string_view View(absl::string_view text) { return {text.data(), text.size()}; }

// The format a batch body declares. A new endpoint has no legacy clients sending generic types, so unlike
// POST /ingest only the two exact media types (parameters ignored) are read.
std::optional<domain::BatchFormat> BatchFormatOf(std::string_view content_type) {
  const std::string media_type = services::MediaType(content_type);
  if (media_type == "application/json") return domain::BatchFormat::kJsonArray;
  if (media_type == "application/x-ndjson") return domain::BatchFormat::kNdjson;
  return std::nullopt;
}

// {"index":i,"event_id":"...","status":"accepted"} or the same with "status":"rejected" and
// "error":{"code","message","field"?}; event_id is left out when unknown.
void AppendResult(std::string& out, std::size_t index, std::string_view event_id, const absl::Status& error) {
  out += "{\"index\":";
  out += std::to_string(index);
  if (!event_id.empty()) {
    out += ",\"event_id\":";
    common::AppendJsonString(out, event_id);
  }
  if (error.ok()) {
    out += ",\"status\":\"accepted\"}";
    return;
  }
  out += ",\"status\":\"rejected\",\"error\":{\"code\":";
  common::AppendJsonString(out, common::ToErrorCode(error.code()));
  out += ",\"message\":";
  common::AppendJsonString(out, View(error.message()));
  if (const std::string field = domain::FieldOf(error); !field.empty()) {
    out += ",\"field\":";
    common::AppendJsonString(out, field);
  }
  out += "}}";
}

// The answer once every publish of a batch completed. `published[i]` is the publish's outcome for a valid event.
// When events were valid but the broker acknowledged none, nothing of the batch was stored: a 503 with Retry-After
// says "try the whole batch again" more plainly than a 200 listing only failures.
ports::HttpResponse BatchAnswer(const std::vector<domain::BatchEvent>& events,
                                const std::vector<absl::Status>& published) {
  std::size_t accepted = 0, valid = 0;
  const absl::Status* first_failure = nullptr;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!events[i].event.ok()) continue;
    ++valid;
    if (published[i].ok()) {
      ++accepted;
    } else if (first_failure == nullptr) {
      first_failure = &published[i];
    }
  }
  if (valid > 0 && accepted == 0) {
    return ErrorResponse(absl::UnavailableError("the broker acknowledged no event of the batch (" +
                                                std::string(first_failure->message()) + "); retry the batch"));
  }
  std::string body;
  body.reserve(64 + events.size() * 72);
  body += "{\"accepted\":";
  body += std::to_string(accepted);
  body += ",\"rejected\":";
  body += std::to_string(events.size() - accepted);
  body += ",\"results\":[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) body += ',';
    const auto& event = events[i].event;
    AppendResult(body, i, event.ok() ? std::string_view(event->event_id) : events[i].event_id,
                 event.ok() ? published[i] : event.status());
  }
  body += "]}";
  return services::JsonResponse(std::move(body));
}

}  // namespace

// One batch awaiting its acknowledgements. `pending` counts the publishes not yet completed plus one held by the
// handler while it is still publishing; whoever brings it to zero answers and frees the batch, so the answer goes
// out exactly once, after the last completion, on whichever thread that comes.
struct IngestionService::PendingBatch {
  IngestionService* service;
  ports::Respond respond;
  std::vector<domain::BatchEvent> events;
  std::vector<absl::Status> published;  // by index; each slot is written by its own publish's completion only
  std::atomic<std::size_t> pending;
  std::size_t bytes = 0;  // reserved in in_flight_bytes_ until the answer goes

  void Complete(std::size_t index, const absl::Status& status) {
    // Whatever made the publish fail (timeout, broker down, full producer queue), the client does the same thing:
    // send that event again, which event_id makes safe.
    if (!status.ok()) published[index] = absl::UnavailableError(status.message());
    service->in_flight_.fetch_sub(1);
    Release();
  }

  void Release() {
    // acq_rel: the last one sees every other completion's write to `published`.
    if (pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    ports::Respond answer = std::move(respond);
    ports::HttpResponse response = BatchAnswer(events, published);
    service->in_flight_bytes_.fetch_sub(bytes);
    delete this;
    answer(std::move(response));
  }
};

IngestionService::IngestionService(IngestionOptions options, std::unique_ptr<ports::EventPublisher> publisher,
                                   std::function<int64_t()> now_us)
    : options_(std::move(options)),
      now_us_(std::move(now_us)),
      keys_(options_.api_keys),
      limiter_(std::max<std::size_t>(1, options_.api_keys.size()), options_.events_per_second_per_key,
               options_.burst_per_key),
      publisher_(std::move(publisher)) {}

std::optional<ports::HttpResponse> IngestionService::TakeRate(std::size_t key, std::size_t events) {
  auto wait = limiter_.TryTake(key, static_cast<double>(events), std::chrono::steady_clock::now());
  if (!wait) return std::nullopt;
  auto response = ErrorResponse(429, "rate_limited", "this API key is over its event rate; retry later");
  response.headers.emplace_back("Retry-After", std::to_string((wait->count() + 999) / 1000));
  return response;
}

namespace {

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

}  // namespace

std::optional<ports::HttpResponse> IngestionService::ReserveInFlight(std::size_t events, std::size_t bytes) {
  if (bytes > options_.max_in_flight_bytes) {
    return PayloadTooLarge("this request needs " + std::to_string(bytes) +
                           " bytes while it waits for the broker, "
                           "more than ingestion ever holds (" +
                           std::to_string(options_.max_in_flight_bytes) + "); send fewer or smaller events");
  }
  const auto full = [] {
    return ErrorResponse(absl::ResourceExhaustedError("too many events awaiting the broker; retry later"));
  };
  if (!AddWithin(in_flight_, events, options_.max_in_flight)) return full();
  if (!AddWithin(in_flight_bytes_, bytes, options_.max_in_flight_bytes)) {
    in_flight_.fetch_sub(events);
    return full();
  }
  return std::nullopt;
}

void IngestionService::HandleIngest(const ports::HttpRequest& request, ports::Respond respond) {
  std::size_t key = 0;
  if (auto denied = services::CheckAccess(keys_, request, key)) {
    respond(std::move(*denied));
    return;
  }
  if (auto limited = TakeRate(key, 1)) {
    respond(std::move(*limited));
    return;
  }
  if (request.body.size() > options_.max_body_bytes) {
    respond(PayloadTooLarge("body is larger than " + std::to_string(options_.max_body_bytes) + " bytes"));
    return;
  }
  if (!services::AllowsJsonBody(request.content_type)) {
    respond(ErrorResponse(415, "unsupported_media_type", "content type must be application/json"));
    return;
  }
  const int64_t now_ms = NowMillis();
  auto event = domain::ParseClickEvent(request.body, options_.limits, now_ms * 1000);
  if (!event.ok()) {
    respond(ErrorResponse(event.status()));
    return;
  }
  std::string normalized = domain::ToJson(*event);
  // Held until the answer: the request (its body), the answer's copy of the event and librdkafka's.
  const std::size_t bytes = request.body.size() + 2 * normalized.size();
  if (auto refused = ReserveInFlight(1, bytes)) {
    respond(std::move(*refused));
    return;
  }
  // The publisher copies the value before Publish returns; the answer keeps its own copy for the 200 body.
  auto done = [this, respond = std::move(respond), body = normalized, bytes](const absl::Status& status) {
    in_flight_.fetch_sub(1);
    in_flight_bytes_.fetch_sub(bytes);
    if (status.ok()) {
      respond(services::JsonResponse(body));
    } else {
      respond(ErrorResponse(status));
    }
  };
  publisher_->Publish(event->user_id, normalized, now_ms, std::move(done));
}

std::optional<ports::HttpResponse> IngestionService::CheckBatchRequest(const ports::HttpRequest& request,
                                                                       std::size_t& key, domain::BatchFormat& format) {
  if (auto denied = services::CheckAccess(keys_, request, key)) return denied;
  if (request.body.size() > options_.batch_max_body_bytes) {
    return PayloadTooLarge("body is larger than " + std::to_string(options_.batch_max_body_bytes) + " bytes");
  }
  const auto declared = BatchFormatOf(request.content_type);
  if (!declared) {
    return ErrorResponse(415, "unsupported_media_type",
                         "content type must be application/json (a JSON array of events) or application/x-ndjson "
                         "(one event per line)");
  }
  format = *declared;
  return std::nullopt;
}

void IngestionService::HandleIngestBatch(const ports::HttpRequest& request, ports::Respond respond) {
  std::size_t key = 0;
  domain::BatchFormat format{};
  if (auto refused = CheckBatchRequest(request, key, format)) {
    respond(std::move(*refused));
    return;
  }
  const int64_t now_ms = NowMillis();
  auto events =
      domain::ParseClickEventBatch(request.body, format, options_.batch_max_events, options_.limits, now_ms * 1000);
  if (!events.ok()) {
    const bool too_many = events.status().code() == absl::StatusCode::kOutOfRange;
    respond(too_many ? PayloadTooLarge(View(events.status().message())) : ErrorResponse(events.status()));
    return;
  }
  // Every event of the body costs a token, valid or not, as a refused single post does.
  if (limiter_.enabled() && static_cast<double>(events->size()) > options_.burst_per_key) {
    respond(PayloadTooLarge("a batch of " + std::to_string(events->size()) +
                            " events is more than this API key may ever post at once (its burst); send smaller "
                            "batches"));
    return;
  }
  if (auto limited = TakeRate(key, events->size())) {
    respond(std::move(*limited));
    return;
  }
  const auto valid = static_cast<std::size_t>(
      std::count_if(events->begin(), events->end(), [](const domain::BatchEvent& e) { return e.event.ok(); }));
  if (valid == 0) {
    respond(BatchAnswer(*events, {}));
    return;
  }
  std::size_t bytes = request.body.size();
  for (const auto& event : *events) {
    if (event.event.ok()) bytes += HeldBytes(*event.event);
  }
  if (auto refused = ReserveInFlight(valid, bytes)) {
    respond(std::move(*refused));
    return;
  }
  PublishBatch(std::move(respond), std::move(*events), valid, bytes, now_ms);
}

void IngestionService::PublishBatch(ports::Respond respond, std::vector<domain::BatchEvent> events, std::size_t valid,
                                    std::size_t bytes, int64_t now_ms) {
  // Owned by the count in `pending`: freed by whichever Release brings it to zero.
  auto* batch = new PendingBatch{this, std::move(respond), std::move(events), {}, {}, bytes};
  batch->published.resize(batch->events.size());
  batch->pending.store(valid + 1);  // + the handler's own hold, so no completion can answer mid-loop
  for (std::size_t i = 0; i < batch->events.size(); ++i) {
    const auto& event = batch->events[i].event;
    if (!event.ok()) continue;
    // Two words, so std::function stores the callback without allocating.
    publisher_->Publish(event->user_id, domain::ToJson(*event), now_ms,
                        [batch, i](const absl::Status& status) { batch->Complete(i, status); });
  }
  batch->Release();
}

std::vector<ports::HttpRoute> IngestionService::Routes() {
  return {{"POST", "/ingest",
           [this](const ports::HttpRequest& request, ports::Respond respond) {
             HandleIngest(request, std::move(respond));
           }},
          {"POST", "/ingest/batch", [this](const ports::HttpRequest& request, ports::Respond respond) {
             HandleIngestBatch(request, std::move(respond));
           }}};
}

absl::Status IngestionService::CheckReady() { return publisher_->CheckReady(std::chrono::milliseconds(1000)); }

// Events are validated against this clock and their records carry it as their Kafka timestamp, in whole
// milliseconds on both sides, so the processor's check against the record's timestamp gives the same verdict.
int64_t IngestionService::NowMillis() const { return now_us_() / 1000; }

void IngestionService::Drain(std::chrono::milliseconds timeout) { publisher_->Drain(timeout); }

}  // namespace clickstream::ingestion
