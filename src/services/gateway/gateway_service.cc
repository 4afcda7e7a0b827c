#include "services/gateway/gateway_service.h"

#include <string>

#include "common/json_text.h"
#include "domain/count_query.h"
#include "services/common/http_answers.h"

namespace clickstream::gateway {

using services::ErrorResponse;

GatewayService::GatewayService(GatewayOptions options, std::unique_ptr<ports::CountClient> analytics,
                               std::unique_ptr<ports::Timer> timer)
    : options_(std::move(options)),
      lookups_(std::make_unique<CoalescingCountClient>(options_.coalescing, std::move(analytics), std::move(timer))),
      keys_(options_.api_keys) {}

void GatewayService::HandleQuery(const ports::HttpRequest& request, ports::Respond respond) {
  // The deadline runs from the request's arrival, not from when a batch finally takes it to analytics.
  const ports::CountClient::Deadline deadline = lookups_->Now() + options_.query_deadline;
  std::size_t key = 0;
  if (auto denied = services::CheckAccess(keys_, request, key)) {
    respond(std::move(*denied));
    return;
  }
  if (request.body.size() > options_.max_body_bytes) {
    respond(ErrorResponse(413, "payload_too_large",
                          "body is larger than " + std::to_string(options_.max_body_bytes) + " bytes"));
    return;
  }
  if (!request.body.empty() && !services::AllowsJsonBody(request.content_type)) {
    respond(ErrorResponse(415, "unsupported_media_type", "a body must be application/json"));
    return;
  }
  auto query = domain::ParseCountQuery(request.query, request.body, options_.limits);
  if (!query.ok()) {
    respond(ErrorResponse(query.status()));
    return;
  }
  lookups_->LookUp(query->user_id, query->page_url, deadline,
                   [respond = std::move(respond), query = *query](absl::StatusOr<int64_t> count) {
                     if (!count.ok()) {
                       respond(ErrorResponse(count.status()));
                       return;
                     }
                     std::string body = "{\"user_id\":";
                     common::AppendJsonString(body, query.user_id);
                     body += ",\"page_url\":";
                     common::AppendJsonString(body, query.page_url);
                     body += ",\"count\":" + std::to_string(*count) + "}";
                     respond(services::JsonResponse(std::move(body)));
                   });
}

std::vector<ports::HttpRoute> GatewayService::Routes() {
  return {{"GET", "/analytics/events", [this](const ports::HttpRequest& request, ports::Respond respond) {
             HandleQuery(request, std::move(respond));
           }}};
}

absl::Status GatewayService::CheckReady() { return lookups_->CheckReady(std::chrono::milliseconds(1000)); }

}  // namespace clickstream::gateway
