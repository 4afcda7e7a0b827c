// absl::Status <-> grpc::Status. The two share their code numbers (absl's codes are gRPC's), so the conversion
// keeps the code and the message.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace clickstream::grpc_adapter {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace clickstream::grpc_adapter
