// Gateway: GET /analytics/events answers the count of a (user_id, page_url) pair by asking analytics over gRPC.
// The pair comes from the query string or from a JSON body (existing clients send a body with GET).
// Analytics unreachable after the client's retries: 503; past the deadline: 504.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "domain/click_event.h"
#include "ports/count_client.h"
#include "ports/http.h"
#include "services/common/access.h"

namespace clickstream::gateway {

struct GatewayOptions {
  std::size_t max_body_bytes = 16384;
  domain::EventLimits limits;
  std::vector<std::string> api_keys;  // empty: no key needed
};

class GatewayService {
 public:
  GatewayService(GatewayOptions options, std::unique_ptr<ports::CountClient> client);

  // Answers from the client's thread, or inline for bad input.
  void HandleQuery(const ports::HttpRequest& request, ports::Respond respond);

  std::vector<ports::HttpRoute> Routes();
  absl::Status CheckReady();

 private:
  const GatewayOptions options_;
  const std::unique_ptr<ports::CountClient> client_;
  const services::ApiKeys keys_;
};

}  // namespace clickstream::gateway
