#include "common/status_mapping.h"

#include <gtest/gtest.h>

#include "adapters/grpc/status_conversion.h"
#include "common/json_text.h"

namespace clickstream::common {
namespace {

TEST(ToHttpStatus, MapsEveryCode) {
  const std::pair<absl::StatusCode, int> table[] = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 500},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 503},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 500},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401},
      {static_cast<absl::StatusCode>(99), 500},
  };
  for (const auto& [code, http] : table) EXPECT_EQ(ToHttpStatus(code), http) << static_cast<int>(code);
}

TEST(ToHttpStatus, OnlyTransientFailuresAskForRetry) {
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kDeadlineExceeded));
}

TEST(ErrorJson, EscapesAndOmitsAnEmptyField) {
  EXPECT_EQ(ErrorJson("invalid_argument", "say \"hi\"\n"),
            R"({"error":"invalid_argument","message":"say \"hi\"\n"})");
  EXPECT_EQ(ErrorJson("e", "m", "f"), R"({"error":"e","message":"m","field":"f"})");
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControlCharactersAnywhere) {
  std::string out = "x";
  AppendJsonString(out, std::string("\"a\\b\tc\x01\x1f") + "plain \xe2\x82\xac\r\n" + std::string(1, '\0'));
  EXPECT_EQ(out, std::string(R"(x"\"a\\b\tc\u0001\u001fplain )") + "\xe2\x82\xac" + R"(\r\n\u0000")");
  out.clear();
  AppendJsonString(out, "");
  EXPECT_EQ(out, R"("")");
}

TEST(GrpcStatusConversion, KeepsCodeAndMessageBothWays) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    const absl::Status round_trip = grpc_adapter::FromGrpcStatus(grpc_adapter::ToGrpcStatus(status));
    EXPECT_EQ(round_trip.code(), status.code());
    EXPECT_EQ(round_trip.message(), status.message());
  }
  EXPECT_EQ(grpc_adapter::ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(42), "x")).error_code(),
            grpc::StatusCode::UNKNOWN);
}

// GetEventCounts carries each pair's code as a plain int32: a number outside the numbering reads as UNKNOWN.
TEST(GrpcStatusConversion, PerPairCodeNumbersAreCheckedBothWays) {
  for (int code = 1; code <= 16; ++code) {
    const auto absl_code = static_cast<absl::StatusCode>(code);
    const absl::Status read = grpc_adapter::FromCodeNumber(grpc_adapter::ToCodeNumber(absl_code), "why");
    EXPECT_EQ(read.code(), absl_code);
    EXPECT_EQ(read.message(), "why");
  }
  for (const int32_t out_of_range : {-1, 17, 1000}) {
    EXPECT_EQ(grpc_adapter::FromCodeNumber(out_of_range, "x").code(), absl::StatusCode::kUnknown) << out_of_range;
  }
  EXPECT_EQ(grpc_adapter::ToCodeNumber(static_cast<absl::StatusCode>(42)), 2);  // UNKNOWN
}

}  // namespace
}  // namespace clickstream::common
