// Cross-origin requests from browsers (CORS): which web origins may post events to ingestion or ask the gateway,
// from a page of theirs. Browsers send an Origin header with such requests, and ask first (a preflight OPTIONS)
// before any that is not a plain form post; other clients send none and are unaffected.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ports/http.h"

namespace clickstream::services {

struct CorsPolicy {
  std::vector<std::string> origins;   // exact "scheme://host[:port]", lower case
  bool any = false;                   // "*": every origin
  std::chrono::seconds max_age{600};  // how long a browser may reuse a preflight's answer

  bool enabled() const { return any || !origins.empty(); }
  bool Allows(std::string_view origin) const;
};

// Reads an origins setting: "" (none: no cross-origin answers, Origin ignored), "*" (any), or a comma-separated
// list of origins ("https://shop.example,http://localhost:3000"), each a scheme, a host and an optional port, with no
// path. Errors name `setting` and the entry.
absl::StatusOr<CorsPolicy> ParseCorsOrigins(std::string_view setting, std::string_view value);

// `routes`, answering browsers as `policy` says (unchanged when it allows none):
// - a request whose Origin is allowed gets Access-Control-Allow-Origin (and Vary: Origin), so its page can read the
//   answer, Retry-After included;
// - a request whose Origin is not allowed is refused 403 with a JSON error before its handler runs: a page elsewhere
//   cannot post events through its visitors' browsers, even as a plain form post that needs no preflight;
// - OPTIONS on each path answers the preflight: 204 with the path's methods, the headers a client may send
//   (Content-Type, X-API-Key, Authorization, traceparent) and the policy's max age; 403 for an origin not allowed.
std::vector<ports::HttpRoute> WithCors(std::vector<ports::HttpRoute> routes, const CorsPolicy& policy);

}  // namespace clickstream::services
