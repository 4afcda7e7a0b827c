#include "services/ingestion/ingestion_service.h"

#include <algorithm>
#include <string>

#include "services/common/http_answers.h"

namespace clickstream::ingestion {

using services::ErrorResponse;

IngestionService::IngestionService(IngestionOptions options, std::unique_ptr<ports::EventPublisher> publisher,
                                   std::function<int64_t()> now_us)
    : options_(options),
      publisher_(std::move(publisher)),
      now_us_(std::move(now_us)),
      keys_(options_.api_keys),
      limiter_(std::max<std::size_t>(1, options_.api_keys.size()), options_.events_per_second_per_key,
               options_.burst_per_key) {}

void IngestionService::HandleIngest(const ports::HttpRequest& request, ports::Respond respond) {
  std::size_t key = 0;
  if (auto denied = services::CheckAccess(keys_, request, key)) {
    respond(std::move(*denied));
    return;
  }
  if (auto wait = limiter_.TryTake(key, 1, std::chrono::steady_clock::now())) {
    auto response = ErrorResponse(429, "rate_limited", "this API key is over its event rate; retry later");
    response.headers.emplace_back("Retry-After", std::to_string((wait->count() + 999) / 1000));
    respond(std::move(response));
    return;
  }
  if (request.body.size() > options_.max_body_bytes) {
    respond(ErrorResponse(413, "payload_too_large",
                          "body is larger than " + std::to_string(options_.max_body_bytes) + " bytes"));
    return;
  }
  if (!services::AllowsJsonBody(request.content_type)) {
    respond(ErrorResponse(415, "unsupported_media_type", "content type must be application/json"));
    return;
  }
  auto event = domain::ParseClickEvent(request.body, options_.limits, now_us_());
  if (!event.ok()) {
    respond(ErrorResponse(event.status()));
    return;
  }
  if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1);
    respond(ErrorResponse(absl::ResourceExhaustedError("too many events awaiting the broker; retry later")));
    return;
  }
  std::string normalized = domain::ToJson(*event);
  // The publisher copies the value before Publish returns; the answer keeps its own copy for the 200 body.
  auto done = [this, respond = std::move(respond), body = normalized](absl::Status status) {
    in_flight_.fetch_sub(1);
    if (status.ok()) {
      respond(services::JsonResponse(body));
    } else {
      respond(ErrorResponse(status));
    }
  };
  publisher_->Publish(event->user_id, normalized, std::move(done));
}

std::vector<ports::HttpRoute> IngestionService::Routes() {
  return {{"POST", "/ingest", [this](const ports::HttpRequest& request, ports::Respond respond) {
             HandleIngest(request, std::move(respond));
           }}};
}

absl::Status IngestionService::CheckReady() { return publisher_->CheckReady(std::chrono::milliseconds(1000)); }

void IngestionService::Drain(std::chrono::milliseconds timeout) { publisher_->Drain(timeout); }

}  // namespace clickstream::ingestion
