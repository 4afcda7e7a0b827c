// GET /analytics/events and GET /analytics/reconcile over HTTP: reads the request into what GatewayService takes
// (the presented key, the query-string parameters, the body) and writes the outcome as the answer: 200 with the
// pair and its count or its reconciliation, else the JSON error common::HttpErrorFor gives.
#pragma once

#include <vector>

#include "ports/http.h"
#include "services/gateway/gateway_service.h"

namespace clickstream::gateway {

void HandleQuery(GatewayService& service, const ports::HttpRequest& request, ports::Respond respond);
void HandleReconcile(GatewayService& service, const ports::HttpRequest& request, ports::Respond respond);

// The routes; `service` must outlive them.
std::vector<ports::HttpRoute> QueryRoutes(GatewayService& service);

}  // namespace clickstream::gateway
