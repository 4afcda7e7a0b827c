#include "services/gateway/query_handler.h"

#include <memory>
#include <optional>
#include <string>

#include "common/errors.h"
#include "common/json_text.h"
#include "domain/freshness.h"
#include "services/common/http_answers.h"
#include "services/gateway/freshness_json.h"

namespace clickstream::gateway {
namespace {

// The answers of one batch share their freshness and are written one after another on the same thread: render it
// once per thread and batch rather than once per answer (timestamp formatting included), keeping it alive so a
// later one cannot reuse its address.
const std::string& FreshnessJson(const std::shared_ptr<const domain::Freshness>& freshness) {
  thread_local std::shared_ptr<const domain::Freshness> rendered_for;
  thread_local std::string rendered;
  if (freshness != rendered_for) {
    rendered.clear();
    AppendFreshness(rendered, *freshness);
    rendered_for = freshness;
  }
  return rendered;
}

// {"user_id":"...","page_url":"...","count":n,"freshness":{...}}; the original clients read the first three.
std::string CountJson(const CountAnswer& answer) {
  std::string body = "{\"user_id\":";
  common::AppendJsonString(body, answer.query.user_id);
  body += ",\"page_url\":";
  common::AppendJsonString(body, answer.query.page_url);
  body += ",\"count\":" + std::to_string(answer.count);
  if (answer.freshness) body += FreshnessJson(answer.freshness);
  body += '}';
  return body;
}

// {"user_id","page_url","consistent","counter","raw_rows","cache","freshness":{...}}; cache null when it held none.
std::string ReconciliationJson(const domain::Reconciliation& reconciliation) {
  std::string body = "{\"user_id\":";
  common::AppendJsonString(body, reconciliation.pair.user_id);
  body += ",\"page_url\":";
  common::AppendJsonString(body, reconciliation.pair.page_url);
  body += ",\"consistent\":";
  body += reconciliation.Consistent() ? "true" : "false";
  body += ",\"counter\":" + std::to_string(reconciliation.counter) +
          ",\"raw_rows\":" + std::to_string(reconciliation.raw_rows) +
          ",\"cache\":" + (reconciliation.cached ? std::to_string(*reconciliation.cached) : "null");
  AppendFreshness(body, reconciliation.freshness);
  body += '}';
  return body;
}

// A body is JSON or nothing; the answer otherwise.
std::optional<ports::HttpResponse> RefusedBody(const ports::HttpRequest& request) {
  if (request.body.empty() || services::AllowsJsonBody(request.content_type)) return std::nullopt;
  return services::ErrorResponse(
      common::MakeError(common::ErrorKind::kUnsupportedMediaType, "a body must be application/json"));
}

}  // namespace

void HandleReconcile(GatewayService& service, const ports::HttpRequest& request, ports::Respond respond) {
  if (auto refused = RefusedBody(request)) return respond(*std::move(refused));
  service.Reconcile({services::PresentedKey(request), request.query, request.body, request.trace},
                    [respond = std::move(respond)](absl::StatusOr<domain::Reconciliation> reconciliation) {
                      respond(reconciliation.ok() ? services::JsonResponse(ReconciliationJson(*reconciliation))
                                                  : services::ErrorResponse(reconciliation.status()));
                    });
}

void HandleQuery(GatewayService& service, const ports::HttpRequest& request, ports::Respond respond) {
  if (auto refused = RefusedBody(request)) return respond(*std::move(refused));
  service.Count(
      {services::PresentedKey(request), request.query, request.body, request.trace},
      [respond = std::move(respond)](absl::StatusOr<CountAnswer> answer) {
        respond(answer.ok() ? services::JsonResponse(CountJson(*answer)) : services::ErrorResponse(answer.status()));
      });
}

std::vector<ports::HttpRoute> QueryRoutes(GatewayService& service) {
  return {{"GET", "/analytics/events",
           [&service](const ports::HttpRequest& request, ports::Respond respond) {
             HandleQuery(service, request, std::move(respond));
           }},
          {"GET", "/analytics/reconcile", [&service](const ports::HttpRequest& request, ports::Respond respond) {
             HandleReconcile(service, request, std::move(respond));
           }}};
}

}  // namespace clickstream::gateway
