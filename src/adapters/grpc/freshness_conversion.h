// domain::Freshness on the wire (analytics.Freshness) and back, for the server and the client alike.
#pragma once

#include "analytics.pb.h"
#include "domain/freshness.h"

namespace clickstream::grpc_adapter {

void ToProto(const domain::Freshness& freshness, ::analytics::Freshness& out);
// A position that does not parse (a newer server's format) is left empty: the count stays good, only its position
// unknown.
domain::Freshness FromProto(const ::analytics::Freshness& freshness);

}  // namespace clickstream::grpc_adapter
