// The dead-letter messages on the wire (analytics.DeadLetterQuery, DeadLetter, ReplayOutcome) and back.
#pragma once

#include "analytics.pb.h"
#include "domain/dead_letter.h"

namespace clickstream::grpc_adapter {

void ToProto(const domain::DeadLetterFilter& filter, ::analytics::DeadLetterQuery& out);
domain::DeadLetterFilter FromProto(const ::analytics::DeadLetterQuery& query);
void ToProto(const domain::DeadLetter& letter, ::analytics::DeadLetter& out);
domain::DeadLetter FromProto(const ::analytics::DeadLetter& letter);
void ToProto(const domain::ReplayOutcome& outcome, ::analytics::ReplayOutcome& out);
domain::ReplayOutcome FromProto(const ::analytics::ReplayOutcome& outcome);

}  // namespace clickstream::grpc_adapter
