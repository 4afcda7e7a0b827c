// POST /ingest and POST /ingest/batch over HTTP: each handler reads the request into what IngestionService takes
// (the presented key, the body and, for a batch, its format from the media type) and writes the outcome as the
// answer: 200 with the normalized event or the per-event results, else the JSON error common::HttpErrorFor gives.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ports/http.h"
#include "services/ingestion/ingestion_service.h"

namespace clickstream::ingestion {

void HandleIngest(IngestionService& service, const ports::HttpRequest& request, ports::Respond respond);
void HandleIngestBatch(IngestionService& service, const ports::HttpRequest& request, ports::Respond respond);

// Both routes; `service` must outlive them.
std::vector<ports::HttpRoute> IngestRoutes(IngestionService& service);

// GET `path`: the tracker script (TrackerScript()), which browsers may cache for an hour. `path` must start with '/'
// and be neither one of `routes` nor an operations path (services::kOperationsPaths), else InvalidArgument naming
// --tracker-path.
absl::StatusOr<ports::HttpRoute> TrackerRoute(const std::string& path, const std::vector<ports::HttpRoute>& routes);

}  // namespace clickstream::ingestion
