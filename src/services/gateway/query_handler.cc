#include "services/gateway/query_handler.h"

#include <string>

#include "common/errors.h"
#include "common/json_text.h"
#include "services/common/http_answers.h"

namespace clickstream::gateway {
namespace {

// {"user_id":"...","page_url":"...","count":n}
std::string CountJson(const CountAnswer& answer) {
  std::string body = "{\"user_id\":";
  common::AppendJsonString(body, answer.query.user_id);
  body += ",\"page_url\":";
  common::AppendJsonString(body, answer.query.page_url);
  body += ",\"count\":" + std::to_string(answer.count) + "}";
  return body;
}

}  // namespace

void HandleQuery(GatewayService& service, const ports::HttpRequest& request, ports::Respond respond) {
  if (!request.body.empty() && !services::AllowsJsonBody(request.content_type)) {
    respond(services::ErrorResponse(
        common::MakeError(common::ErrorKind::kUnsupportedMediaType, "a body must be application/json")));
    return;
  }
  service.Count(
      {services::PresentedKey(request), request.query, request.body, request.trace},
      [respond = std::move(respond)](absl::StatusOr<CountAnswer> answer) {
        respond(answer.ok() ? services::JsonResponse(CountJson(*answer)) : services::ErrorResponse(answer.status()));
      });
}

std::vector<ports::HttpRoute> QueryRoutes(GatewayService& service) {
  return {{"GET", "/analytics/events", [&service](const ports::HttpRequest& request, ports::Respond respond) {
             HandleQuery(service, request, std::move(respond));
           }}};
}

}  // namespace clickstream::gateway
