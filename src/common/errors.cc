#include "common/errors.h"

#include <array>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace clickstream::common {
namespace {

constexpr absl::string_view kKindPayload = "clickstream/error-kind";
constexpr absl::string_view kRetryAfterPayload = "clickstream/retry-after-ms";

struct Row {
  ErrorKind kind;
  absl::StatusCode code;  // the absl code a status of this kind has
  HttpError http;
};

// The table. A kind whose row is the first for its absl code is what that code means by itself (a full queue is
// RESOURCE_EXHAUSTED's own meaning, so kOverloaded comes before kRateLimited); a later row for the same code is told
// apart by the kind payload.
constexpr std::array<Row, 12> kTable = {{
    {ErrorKind::kInvalidArgument, absl::StatusCode::kInvalidArgument, {400, "invalid_argument", false, false}},
    {ErrorKind::kUnauthenticated, absl::StatusCode::kUnauthenticated, {401, "unauthenticated", false, true}},
    {ErrorKind::kPermissionDenied, absl::StatusCode::kPermissionDenied, {403, "permission_denied", false, false}},
    {ErrorKind::kNotFound, absl::StatusCode::kNotFound, {404, "not_found", false, false}},
    {ErrorKind::kConflict, absl::StatusCode::kAlreadyExists, {409, "conflict", false, false}},
    {ErrorKind::kPayloadTooLarge, absl::StatusCode::kOutOfRange, {413, "payload_too_large", false, false}},
    {ErrorKind::kUnsupportedMediaType,
     absl::StatusCode::kInvalidArgument,
     {415, "unsupported_media_type", false, false}},
    {ErrorKind::kOverloaded, absl::StatusCode::kResourceExhausted, {503, "overloaded", true, false}},
    {ErrorKind::kRateLimited, absl::StatusCode::kResourceExhausted, {429, "rate_limited", true, false}},
    {ErrorKind::kInternal, absl::StatusCode::kInternal, {500, "internal", false, false}},
    {ErrorKind::kUnavailable, absl::StatusCode::kUnavailable, {503, "unavailable", true, false}},
    {ErrorKind::kTimeout, absl::StatusCode::kDeadlineExceeded, {504, "timeout", false, false}},
}};

const Row& RowOf(ErrorKind kind) {
  for (const Row& row : kTable) {
    if (row.kind == kind) return row;
  }
  return RowOf(ErrorKind::kInternal);
}

// The kind a bare absl code means: its first row, or for the two codes without a row the kind they come closest to.
ErrorKind KindOfCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kFailedPrecondition: return ErrorKind::kInvalidArgument;
    case absl::StatusCode::kAborted: return ErrorKind::kConflict;
    default: break;
  }
  for (const Row& row : kTable) {
    if (row.code == code) return row.kind;
  }
  return ErrorKind::kInternal;
}

bool IsCodesOwnKind(ErrorKind kind) { return KindOfCode(RowOf(kind).code) == kind; }

}  // namespace

const HttpError& HttpErrorFor(ErrorKind kind) { return RowOf(kind).http; }

ErrorKind KindOf(const absl::Status& status) {
  if (const auto marked = status.GetPayload(kKindPayload)) {
    const std::string name(*marked);
    for (const Row& row : kTable) {
      if (row.code == status.code() && row.http.code == name) return row.kind;
    }
  }
  return KindOfCode(status.code());
}

absl::Status MakeError(ErrorKind kind, std::string_view message) {
  const Row& row = RowOf(kind);
  absl::Status status(row.code, absl::string_view(message.data(), message.size()));
  if (!IsCodesOwnKind(kind)) {
    status.SetPayload(kKindPayload, absl::Cord(absl::string_view(row.http.code.data(), row.http.code.size())));
  }
  return status;
}

absl::Status RateLimitedError(std::string_view message, std::chrono::milliseconds retry_after) {
  absl::Status status = MakeError(ErrorKind::kRateLimited, message);
  status.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(retry_after.count())));
  return status;
}

std::optional<std::chrono::milliseconds> RetryAfterOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryAfterPayload);
  int64_t millis = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &millis)) return std::nullopt;
  return std::chrono::milliseconds(millis);
}

}  // namespace clickstream::common
