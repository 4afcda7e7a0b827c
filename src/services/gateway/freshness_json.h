// How fresh an answer is, as the gateway writes it into every JSON answer that carries a count or counts.
#pragma once

#include <string>

#include "domain/freshness.h"

namespace clickstream::gateway {

// Appends ,"freshness":{"source","position","newest_event_time","age_ms","lag"} to `body`, each unknown value null
// (a position or newest event time not known yet, an age or lag of -1).
void AppendFreshness(std::string& body, const domain::Freshness& freshness);

}  // namespace clickstream::gateway
