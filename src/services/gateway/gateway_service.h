// Gateway: GET /analytics/events answers the count of a (user_id, page_url) pair by asking analytics over gRPC.
// The pair comes from the query string or from a JSON body (existing clients send a body with GET).
// Analytics unreachable after the client's retries: 503; past the look-up's deadline (query_deadline from the
// moment the request arrived): 504.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "domain/click_event.h"
#include "ports/http.h"
#include "ports/timer.h"
#include "services/common/access.h"
#include "services/gateway/coalescing_count_client.h"

namespace clickstream::gateway {

struct GatewayOptions {
  std::size_t max_body_bytes = 16384;
  domain::EventLimits limits;
  std::vector<std::string> api_keys;               // empty: no key needed
  std::chrono::milliseconds query_deadline{5000};  // each look-up's, from its arrival
  CoalescingOptions coalescing;
};

class GatewayService {
 public:
  // Look-ups go to `analytics` in coalesced batches (its only user); `timer` keeps their deadlines and is the clock
  // they are measured with (steady_clock in production).
  GatewayService(GatewayOptions options, std::unique_ptr<ports::CountClient> analytics,
                 std::unique_ptr<ports::Timer> timer);

  // Answers from the client's thread (its deadline timer's included), or inline for bad input.
  void HandleQuery(const ports::HttpRequest& request, ports::Respond respond);

  std::vector<ports::HttpRoute> Routes();
  absl::Status CheckReady();

 private:
  const GatewayOptions options_;
  const std::unique_ptr<CoalescingCountClient> lookups_;
  const services::ApiKeys keys_;
};

}  // namespace clickstream::gateway
