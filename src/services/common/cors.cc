#include "services/common/cors.h"

#include <algorithm>
#include <map>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "services/common/http_answers.h"

namespace clickstream::services {
namespace {

constexpr std::string_view kAllowedHeaders = "Content-Type, X-API-Key, Authorization, traceparent";

// "scheme://host[:port]": what browsers put in Origin. No path, query, user or trailing slash: an origin with one
// would never equal what a browser sends, and silently allow nothing.
bool IsOrigin(std::string_view origin) {
  const auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
  const std::string_view scheme = origin.substr(0, scheme_end);
  if (!std::all_of(scheme.begin(), scheme.end(),
                   [](char c) { return absl::ascii_isalnum(c) || c == '+' || c == '-'; })) {
    return false;
  }
  const std::string_view authority = origin.substr(scheme_end + 3);
  if (authority.empty()) return false;
  return std::all_of(authority.begin(), authority.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
  });
}

absl::Status OriginRefused(std::string_view origin) {
  return common::MakeError(common::ErrorKind::kPermissionDenied,
                           "origin " + std::string(origin) + " is not allowed to call this service from a browser");
}

void AllowOrigin(ports::HttpResponse& response, const CorsPolicy& policy, std::string_view origin) {
  response.headers.emplace_back("Access-Control-Allow-Origin", policy.any ? "*" : std::string(origin));
  response.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After");
  if (!policy.any) response.headers.emplace_back("Vary", "Origin");
}

ports::HttpHandler Guarded(ports::HttpHandler handler, const std::shared_ptr<const CorsPolicy>& policy) {
  return [handler = std::move(handler), policy](const ports::HttpRequest& request, ports::Respond respond) {
    if (request.origin.empty()) return handler(request, std::move(respond));
    if (!policy->Allows(request.origin)) return respond(ErrorResponse(OriginRefused(request.origin)));
    handler(request, [policy, origin = request.origin, respond = std::move(respond)](ports::HttpResponse response) {
      AllowOrigin(response, *policy, origin);
      respond(std::move(response));
    });
  };
}

ports::HttpHandler Preflight(std::string methods, const std::shared_ptr<const CorsPolicy>& policy) {
  return [methods = std::move(methods), policy](const ports::HttpRequest& request, const ports::Respond& respond) {
    if (request.origin.empty() || !policy->Allows(request.origin)) {
      return respond(ErrorResponse(OriginRefused(request.origin.empty() ? "(none)" : request.origin)));
    }
    ports::HttpResponse response{204, "", "application/json", {}};
    AllowOrigin(response, *policy, request.origin);
    response.headers.emplace_back("Access-Control-Allow-Methods", methods);
    response.headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowedHeaders));
    response.headers.emplace_back("Access-Control-Max-Age", std::to_string(policy->max_age.count()));
    respond(std::move(response));
  };
}

}  // namespace

bool CorsPolicy::Allows(std::string_view origin) const {
  if (any) return true;
  const std::string lower = absl::AsciiStrToLower(absl::string_view(origin.data(), origin.size()));
  return std::find(origins.begin(), origins.end(), lower) != origins.end();
}

absl::StatusOr<CorsPolicy> ParseCorsOrigins(std::string_view setting, std::string_view value) {
  CorsPolicy policy;
  for (absl::string_view entry : absl::StrSplit(absl::string_view(value.data(), value.size()), ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) continue;
    if (entry == "*") {
      policy.any = true;
      continue;
    }
    const std::string origin = absl::AsciiStrToLower(entry);
    if (!IsOrigin(origin)) {
      return absl::InvalidArgumentError(std::string(setting) + ": " + std::string(entry) +
                                        " is not an origin (scheme://host[:port], no path, e.g. https://shop.example)");
    }
    policy.origins.push_back(origin);
  }
  return policy;
}

std::vector<ports::HttpRoute> WithCors(std::vector<ports::HttpRoute> routes, const CorsPolicy& policy) {
  if (!policy.enabled()) return routes;
  auto shared = std::make_shared<const CorsPolicy>(policy);
  std::map<std::string, std::vector<std::string>> methods_by_path;
  for (auto& route : routes) {
    methods_by_path[route.path].push_back(route.method);
    route.handler = Guarded(std::move(route.handler), shared);
  }
  for (auto& [path, methods] : methods_by_path) {
    routes.push_back({"OPTIONS", path, Preflight(absl::StrJoin(methods, ", "), shared)});
  }
  return routes;
}

}  // namespace clickstream::services
