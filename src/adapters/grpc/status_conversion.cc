#include "adapters/grpc/status_conversion.h"

namespace clickstream::grpc_adapter {
namespace {

constexpr int32_t kHighestCode = 16;  // UNAUTHENTICATED, the last of the google.rpc.Code numbering

absl::StatusCode CheckedCode(int32_t number) {
  return number >= 0 && number <= kHighestCode ? static_cast<absl::StatusCode>(number) : absl::StatusCode::kUnknown;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(ToCodeNumber(status.code())), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return FromCodeNumber(static_cast<int32_t>(status.error_code()), status.error_message());
}

int32_t ToCodeNumber(absl::StatusCode code) { return static_cast<int32_t>(CheckedCode(static_cast<int32_t>(code))); }

absl::Status FromCodeNumber(int32_t code, const std::string& message) {
  return absl::Status(CheckedCode(code), message);
}

}  // namespace clickstream::grpc_adapter
