// absl::Status <-> grpc::Status. The two share their code numbers (absl's codes are gRPC's), so the conversion
// keeps the code and the message.
#pragma once

#include <cstdint>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace clickstream::grpc_adapter {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// A per-pair result's code as GetEventCounts carries it (an int32 of the google.rpc.Code numbering), both ways. A
// number outside that numbering, from a newer or broken peer, reads as UNKNOWN.
int32_t ToCodeNumber(absl::StatusCode code);
absl::Status FromCodeNumber(int32_t code, const std::string& message);

}  // namespace clickstream::grpc_adapter
