// The OpenAPI 3.1 documents of the two HTTP services (api/ingestion.openapi.json, api/gateway.openapi.json), built
// into the executable and served by each at GET /openapi.json, so a running service describes itself as built.
#pragma once

#include <string_view>

namespace clickstream::services {

std::string_view IngestionApiDocument();
std::string_view GatewayApiDocument();

}  // namespace clickstream::services
