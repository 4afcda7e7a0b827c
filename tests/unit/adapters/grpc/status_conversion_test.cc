#include "adapters/grpc/status_conversion.h"

#include <gtest/gtest.h>

namespace clickstream::grpc_adapter {
namespace {

TEST(GrpcStatusConversion, KeepsCodeAndMessageBothWays) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    const absl::Status round_trip = FromGrpcStatus(ToGrpcStatus(status));
    EXPECT_EQ(round_trip.code(), status.code());
    EXPECT_EQ(round_trip.message(), status.message());
  }
  EXPECT_EQ(ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(42), "x")).error_code(), grpc::StatusCode::UNKNOWN);
}

// GetEventCounts carries each pair's code as a plain int32: a number outside the numbering reads as UNKNOWN.
TEST(GrpcStatusConversion, PerPairCodeNumbersAreCheckedBothWays) {
  for (int code = 1; code <= 16; ++code) {
    const auto absl_code = static_cast<absl::StatusCode>(code);
    const absl::Status read = FromCodeNumber(ToCodeNumber(absl_code), "why");
    EXPECT_EQ(read.code(), absl_code);
    EXPECT_EQ(read.message(), "why");
  }
  for (const int32_t out_of_range : {-1, 17, 1000}) {
    EXPECT_EQ(FromCodeNumber(out_of_range, "x").code(), absl::StatusCode::kUnknown) << out_of_range;
  }
  EXPECT_EQ(ToCodeNumber(static_cast<absl::StatusCode>(42)), 2);  // UNKNOWN
}

}  // namespace
}  // namespace clickstream::grpc_adapter
