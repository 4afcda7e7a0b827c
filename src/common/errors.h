// The services' error vocabulary and the one table that turns each error into an HTTP answer. Errors travel as
// absl::Status; absl's codes name most kinds, and the three that HTTP tells apart but absl does not (an unsupported
// media type, a rate limit, with how long to wait) are marked with a payload. Every HTTP error status the services
// answer with comes from HttpErrorFor.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace clickstream::common {

enum class ErrorKind {
  kInvalidArgument,       // 400: the request is wrong; the same request will fail again
  kUnauthenticated,       // 401: no valid API key
  kPermissionDenied,      // 403
  kNotFound,              // 404
  kConflict,              // 409
  kPayloadTooLarge,       // 413: over a size or count limit (OUT_OF_RANGE)
  kUnsupportedMediaType,  // 415
  kRateLimited,           // 429: over the key's rate; Retry-After says when
  kInternal,              // 500
  kOverloaded,            // 503: a queue is full (RESOURCE_EXHAUSTED); retry later
  kUnavailable,           // 503: a dependency is unreachable; retry later
  kTimeout,               // 504: a deadline passed
};

struct HttpError {
  int status;             // the HTTP status code
  std::string_view code;  // the JSON error body's machine-readable "error", e.g. "invalid_argument"
  bool retryable;         // answers carry Retry-After: trying again later may succeed
  bool asks_for_key;      // answers carry WWW-Authenticate: Bearer
};

const HttpError& HttpErrorFor(ErrorKind kind);

// The kind of a non-OK status: the one it was made with by MakeError, else the one its absl code means (codes
// without a kind of their own, such as CANCELLED or DATA_LOSS, are kInternal; FAILED_PRECONDITION is
// kInvalidArgument).
ErrorKind KindOf(const absl::Status& status);

// A status of `kind` saying `message`.
absl::Status MakeError(ErrorKind kind, std::string_view message);
// kRateLimited, with the wait after which the request would be admitted.
absl::Status RateLimitedError(std::string_view message, std::chrono::milliseconds retry_after);
// The wait a rate-limited status carries, or nullopt.
std::optional<std::chrono::milliseconds> RetryAfterOf(const absl::Status& status);

}  // namespace clickstream::common
