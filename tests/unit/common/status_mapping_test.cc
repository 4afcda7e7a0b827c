#include "common/status_mapping.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(ErrorJson("invalid_argument", "say \"hi\"\n"), R"({"error":"invalid_argument","message":"say \"hi\"\n"})");
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

}  // namespace
}  // namespace clickstream::common
