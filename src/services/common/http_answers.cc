#include "services/common/http_answers.h"

#include "absl/strings/ascii.h"
#include "common/errors.h"
#include "common/json_text.h"
#include "common/log.h"
#include "domain/field_error.h"
#include "domain/position.h"

namespace clickstream::services {

ports::HttpResponse ErrorResponse(const absl::Status& status) {
  const common::HttpError& error = common::HttpErrorFor(common::KindOf(status));
  ports::HttpResponse response;
  response.status = error.status;
  response.body = common::ErrorJson(error.code, std::string(status.message()), domain::FieldOf(status));
  // A wait for a position that ran out says how far the counts got, in the token format the client sent.
  if (const std::string applied = domain::AppliedPositionOf(status); !applied.empty()) {
    response.body.pop_back();
    response.body += ",\"position\":";
    common::AppendJsonString(response.body, applied);
    response.body += '}';
  }
  if (error.retryable) {
    // Whole seconds, rounded up so the client never comes back too early.
    const auto wait = common::RetryAfterOf(status).value_or(std::chrono::seconds(1));
    response.headers.emplace_back("Retry-After", std::to_string((wait.count() + 999) / 1000));
  }
  if (error.asks_for_key) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

ports::HttpResponse JsonResponse(std::string body) {
  return ports::HttpResponse{200, std::move(body), "application/json", {}};
}

std::string MediaType(std::string_view content_type) {
  const std::string_view declared = content_type.substr(0, content_type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(absl::string_view(declared.data(), declared.size())));
}

bool AllowsJsonBody(std::string_view content_type) {
  const std::string normalized = MediaType(content_type);
  // The original service read the body whatever its declared type, and its clients (curl -d, form posts) often
  // send a generic one: accept those, refuse only types that say the body is something else.
  return normalized.empty() || normalized == "application/json" || normalized.ends_with("+json") ||
         normalized == "text/plain" || normalized == "application/x-www-form-urlencoded";
}

std::vector<ports::HttpRoute> OperationsRoutes(const ReadinessProbe& probe, const metrics::Registry& registry) {
  return {
      {"GET", std::string(kOperationsPaths[2]),
       [&registry](const ports::HttpRequest&, const ports::Respond& respond) {
         respond(ports::HttpResponse{200, registry.Render(), "text/plain; version=0.0.4; charset=utf-8", {}});
       }},
      {"GET", std::string(kOperationsPaths[0]),
       [](const ports::HttpRequest&, const ports::Respond& respond) { respond(JsonResponse(R"({"status":"ok"})")); }},
      {"GET", std::string(kOperationsPaths[1]),
       [&probe](const ports::HttpRequest&, const ports::Respond& respond) {
         const absl::Status status = probe.Latest();
         if (status.ok()) {
           respond(JsonResponse(R"({"status":"ready"})"));
         } else {
           respond(ErrorResponse(absl::UnavailableError(status.message())));
         }
       }},
  };
}

}  // namespace clickstream::services
