// `clickstream post`: events from a file or standard input (NDJSON or a JSON array) to ingestion's
// POST /ingest/batch, in batches, with retries that keep each event's event_id, progress, and a summary of what was
// accepted and why the rest was refused.
#pragma once

#include <string>
#include <vector>

namespace clickstream::cli {

// Exit codes: 0 every event accepted; 1 some refused, or not acknowledged after the retries; 2 bad usage or
// unreadable input.
int RunPost(const std::vector<std::string>& args);

}  // namespace clickstream::cli
