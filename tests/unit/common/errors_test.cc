#include "common/errors.h"

#include <gtest/gtest.h>

#include <set>

namespace clickstream::common {
namespace {

using std::chrono::milliseconds;

// The one table, row by row: a change to any HTTP answer of any service shows here.
TEST(HttpErrorFor, GivesEachKindItsStatusCodeAndHeaders) {
  struct Expected {
    ErrorKind kind;
    int status;
    std::string_view code;
    bool retryable;
    bool asks_for_key;
  };
  const Expected table[] = {
      {ErrorKind::kInvalidArgument, 400, "invalid_argument", false, false},
      {ErrorKind::kUnauthenticated, 401, "unauthenticated", false, true},
      {ErrorKind::kPermissionDenied, 403, "permission_denied", false, false},
      {ErrorKind::kNotFound, 404, "not_found", false, false},
      {ErrorKind::kConflict, 409, "conflict", false, false},
      {ErrorKind::kPayloadTooLarge, 413, "payload_too_large", false, false},
      {ErrorKind::kUnsupportedMediaType, 415, "unsupported_media_type", false, false},
      {ErrorKind::kRateLimited, 429, "rate_limited", true, false},
      {ErrorKind::kInternal, 500, "internal", false, false},
      {ErrorKind::kOverloaded, 503, "overloaded", true, false},
      {ErrorKind::kUnavailable, 503, "unavailable", true, false},
      {ErrorKind::kTimeout, 504, "timeout", false, false},
  };
  std::set<std::string_view> codes;
  for (const auto& expected : table) {
    const HttpError& error = HttpErrorFor(expected.kind);
    EXPECT_EQ(error.status, expected.status) << expected.code;
    EXPECT_EQ(error.code, expected.code);
    EXPECT_EQ(error.retryable, expected.retryable) << expected.code;
    EXPECT_EQ(error.asks_for_key, expected.asks_for_key) << expected.code;
    codes.insert(error.code);
    // Every kind survives being made into a status and read back.
    EXPECT_EQ(KindOf(MakeError(expected.kind, "m")), expected.kind) << expected.code;
  }
  EXPECT_EQ(codes.size(), std::size(table)) << "each kind has a code of its own";
}

// Statuses made elsewhere (absl, gRPC, the adapters) carry only a code: each code means one kind.
TEST(KindOf, ReadsEveryBareAbslCode) {
  const std::pair<absl::StatusCode, ErrorKind> table[] = {
      {absl::StatusCode::kCancelled, ErrorKind::kInternal},
      {absl::StatusCode::kUnknown, ErrorKind::kInternal},
      {absl::StatusCode::kInvalidArgument, ErrorKind::kInvalidArgument},
      {absl::StatusCode::kDeadlineExceeded, ErrorKind::kTimeout},
      {absl::StatusCode::kNotFound, ErrorKind::kNotFound},
      {absl::StatusCode::kAlreadyExists, ErrorKind::kConflict},
      {absl::StatusCode::kPermissionDenied, ErrorKind::kPermissionDenied},
      {absl::StatusCode::kResourceExhausted, ErrorKind::kOverloaded},
      {absl::StatusCode::kFailedPrecondition, ErrorKind::kInvalidArgument},
      {absl::StatusCode::kAborted, ErrorKind::kConflict},
      {absl::StatusCode::kOutOfRange, ErrorKind::kPayloadTooLarge},
      {absl::StatusCode::kUnimplemented, ErrorKind::kInternal},
      {absl::StatusCode::kInternal, ErrorKind::kInternal},
      {absl::StatusCode::kUnavailable, ErrorKind::kUnavailable},
      {absl::StatusCode::kDataLoss, ErrorKind::kInternal},
      {absl::StatusCode::kUnauthenticated, ErrorKind::kUnauthenticated},
      {static_cast<absl::StatusCode>(99), ErrorKind::kInternal},
  };
  for (const auto& [code, kind] : table) {
    EXPECT_EQ(KindOf(absl::Status(code, "m")), kind) << static_cast<int>(code);
  }
}

TEST(MakeError, KeepsTheAbslCodeOthersExpectAndTheMessage) {
  const absl::Status unsupported = MakeError(ErrorKind::kUnsupportedMediaType, "content type must be JSON");
  EXPECT_EQ(unsupported.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(unsupported.message(), "content type must be JSON");
  EXPECT_EQ(MakeError(ErrorKind::kRateLimited, "m").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(MakeError(ErrorKind::kPayloadTooLarge, "m").code(), absl::StatusCode::kOutOfRange);
}

TEST(RateLimitedError, CarriesItsWait) {
  const absl::Status limited = RateLimitedError("slow down", milliseconds(1500));
  EXPECT_EQ(KindOf(limited), ErrorKind::kRateLimited);
  EXPECT_EQ(RetryAfterOf(limited), milliseconds(1500));
  EXPECT_EQ(RetryAfterOf(MakeError(ErrorKind::kOverloaded, "full")), std::nullopt);
}

}  // namespace
}  // namespace clickstream::common
