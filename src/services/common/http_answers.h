// Answers every HTTP-facing service gives the same way: JSON errors from a status, content-type checks, and the
// /healthz and /readyz endpoints.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/metrics.h"
#include "ports/http.h"
#include "services/common/readiness_probe.h"

namespace clickstream::services {

// The JSON error answer for a non-OK status, as common::HttpErrorFor its kind says: the status code, the error
// code, the field it names, Retry-After when trying again later may succeed (the status's own wait when it has
// one) and WWW-Authenticate when a key is missing.
ports::HttpResponse ErrorResponse(const absl::Status& status);
ports::HttpResponse JsonResponse(std::string body);

// The media type of a Content-Type value, lower case, without parameters or surrounding whitespace.
std::string MediaType(std::string_view content_type);

// True when the declared content type allows a JSON body: absent, application/json or *+json, and the generic
// text/plain and application/x-www-form-urlencoded that existing clients send (parameters ignored).
bool AllowsJsonBody(std::string_view content_type);

// The paths of OperationsRoutes, which every service serves beside its own routes (a route of its own there would
// never be reached).
inline constexpr std::array<std::string_view, 3> kOperationsPaths = {"/healthz", "/readyz", "/metrics"};

// GET /healthz (alive: always 200), GET /readyz (200 when `probe` last succeeded, else 503) and GET /metrics
// (`registry` in the Prometheus text format). Both must outlive the routes.
std::vector<ports::HttpRoute> OperationsRoutes(const ReadinessProbe& probe, const metrics::Registry& registry);

}  // namespace clickstream::services
