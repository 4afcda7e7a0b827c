#include "services/ingestion/ingest_handler.h"

#include <algorithm>
#include <optional>
#include <string>

#include "common/errors.h"
#include "common/json_text.h"
#include "domain/field_error.h"
#include "services/common/http_answers.h"
#include "services/common/static_files.h"
#include "services/ingestion/tracker_script.h"

namespace clickstream::ingestion {
namespace {

using services::ErrorResponse;

IngestRequest IngestRequestOf(const ports::HttpRequest& request) {
  return {services::PresentedKey(request), request.body, request.trace};
}

// The format a batch body declares. A new endpoint has no legacy clients sending generic types, so unlike
// POST /ingest only the two exact media types (parameters ignored) are read, and text/plain: the one type a
// browser's navigator.sendBeacon can send without a preflight (a string body is text/plain;charset=UTF-8). Its body
// is a JSON array when it starts with '[', else NDJSON.
std::optional<BatchFormat> BatchFormatOf(std::string_view content_type, std::string_view body) {
  const std::string media_type = services::MediaType(content_type);
  if (media_type == "application/json") return BatchFormat::kJsonArray;
  if (media_type == "application/x-ndjson") return BatchFormat::kNdjson;
  if (media_type == "text/plain") {
    const auto first = body.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && body[first] == '[' ? BatchFormat::kJsonArray : BatchFormat::kNdjson;
  }
  return std::nullopt;
}

// absl::string_view is its own type in Debian's Abseil.
std::string_view View(absl::string_view text) { return {text.data(), text.size()}; }

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
  common::AppendJsonString(out, common::HttpErrorFor(common::KindOf(error)).code);
  out += ",\"message\":";
  common::AppendJsonString(out, View(error.message()));
  if (const std::string field = domain::FieldOf(error); !field.empty()) {
    out += ",\"field\":";
    common::AppendJsonString(out, field);
  }
  out += "}}";
}

// The accepted event as the original service echoed it, with where it was stored beside its fields:
// {...event...,"position":"<token>"}. A query passing the token back sees the event counted.
ports::HttpResponse EventAnswer(const AcceptedEvent& accepted) {
  std::string body = accepted.json;
  body.pop_back();  // the event object's closing brace
  body += ",\"position\":";
  common::AppendJsonString(body, domain::PositionToken({accepted.position}));
  body += '}';
  return services::JsonResponse(std::move(body));
}

ports::HttpResponse BatchAnswer(const BatchOutcome& outcome) {
  std::string body;
  body.reserve(64 + outcome.events.size() * 72);
  body += "{\"accepted\":";
  body += std::to_string(outcome.accepted);
  body += ",\"rejected\":";
  body += std::to_string(outcome.events.size() - outcome.accepted);
  body += ",\"results\":[";
  for (std::size_t i = 0; i < outcome.events.size(); ++i) {
    if (i > 0) body += ',';
    AppendResult(body, i, outcome.EventIdOf(i), outcome.ResultOf(i));
  }
  body += ']';
  if (!outcome.position.empty()) {  // nothing accepted, nothing to wait for
    body += ",\"position\":";
    common::AppendJsonString(body, domain::PositionToken(outcome.position));
  }
  body += '}';
  return services::JsonResponse(std::move(body));
}

}  // namespace

void HandleIngest(IngestionService& service, const ports::HttpRequest& request, ports::Respond respond) {
  if (!services::AllowsJsonBody(request.content_type)) {
    respond(ErrorResponse(
        common::MakeError(common::ErrorKind::kUnsupportedMediaType, "content type must be application/json")));
    return;
  }
  service.Ingest(IngestRequestOf(request), [respond = std::move(respond)](absl::StatusOr<AcceptedEvent> event) {
    respond(event.ok() ? EventAnswer(*event) : ErrorResponse(event.status()));
  });
}

void HandleIngestBatch(IngestionService& service, const ports::HttpRequest& request, ports::Respond respond) {
  const auto format = BatchFormatOf(request.content_type, request.body);
  if (!format) {
    respond(ErrorResponse(common::MakeError(common::ErrorKind::kUnsupportedMediaType,
                                            "content type must be application/json (a JSON array of events), "
                                            "application/x-ndjson (one event per line) or text/plain (either)")));
    return;
  }
  service.IngestBatch(IngestRequestOf(request), *format,
                      [respond = std::move(respond)](absl::StatusOr<BatchOutcome> outcome) {
                        respond(outcome.ok() ? BatchAnswer(*outcome) : ErrorResponse(outcome.status()));
                      });
}

std::vector<ports::HttpRoute> IngestRoutes(IngestionService& service) {
  return {{"POST", "/ingest",
           [&service](const ports::HttpRequest& request, ports::Respond respond) {
             HandleIngest(service, request, std::move(respond));
           }},
          {"POST", "/ingest/batch", [&service](const ports::HttpRequest& request, ports::Respond respond) {
             HandleIngestBatch(service, request, std::move(respond));
           }}};
}

absl::StatusOr<ports::HttpRoute> TrackerRoute(const std::string& path, const std::vector<ports::HttpRoute>& routes) {
  const auto& reserved = services::kOperationsPaths;
  if (!path.starts_with('/') ||
      std::any_of(routes.begin(), routes.end(), [&](const auto& r) { return r.path == path; }) ||
      std::find(reserved.begin(), reserved.end(), path) != reserved.end()) {
    return absl::InvalidArgumentError("--tracker-path: " + path +
                                      " must start with / and be no other route of ingestion's");
  }
  return services::FileRoute(
      path, {"tracker.js", "text/javascript; charset=utf-8", std::string(TrackerScript()), "public, max-age=3600"});
}

}  // namespace clickstream::ingestion
