// domain::Freshness (analytics.Freshness) and domain::Reconciliation (analytics.ReconcileResponse) on the wire and
// back, for the server and the client alike.
#pragma once

#include "analytics.pb.h"
#include "domain/freshness.h"
#include "domain/reconciliation.h"

namespace clickstream::grpc_adapter {

void ToProto(const domain::Freshness& freshness, ::analytics::Freshness& out);
// A position that does not parse (a newer server's format) is left empty: the count stays good, only its position
// unknown.
domain::Freshness FromProto(const ::analytics::Freshness& freshness);

void ToProto(const domain::Reconciliation& reconciliation, ::analytics::ReconcileResponse& out);
domain::Reconciliation FromProto(const ::analytics::ReconcileResponse& reconciliation);

}  // namespace clickstream::grpc_adapter
