// The tracker script ingestion serves (web/tracker/tracker.js), built into the executable so that every ingestion,
// the container image's included, serves the version it was built with.
#pragma once

#include <string_view>

namespace clickstream::ingestion {

std::string_view TrackerScript();

}  // namespace clickstream::ingestion
