// What the gRPC client and server of the adapter agree on to carry a trace: the metadata key of the W3C
// traceparent (gRPC metadata keys are lowercase, as this one is) and the span name of the batched call.
#pragma once

namespace clickstream::grpc_adapter {

inline constexpr char kTraceparentMetadata[] = "traceparent";
inline constexpr char kGetEventCountsMethod[] = "analytics.AnalyticsService/GetEventCounts";

}  // namespace clickstream::grpc_adapter
