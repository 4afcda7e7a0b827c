// Gateway: answers the count of a (user_id, page_url) pair by asking analytics over gRPC. The pair comes from the
// query-string parameters or from a JSON body (existing clients send a body with GET). Analytics unreachable after
// the client's retries: unavailable; past the look-up's deadline (query_deadline from the moment the request
// arrived): timeout. HTTP is translated by query_handler.h; this decides.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domain/click_event.h"
#include "domain/count_query.h"
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

// What a client sent: the API key it presented (empty: none), the query-string parameters and the body. All are
// read before the call returns.
struct QueryRequest {
  std::string_view presented_key;
  const std::map<std::string, std::string>& parameters;
  std::string_view body;
  tracing::TraceContext trace = {};  // the request's; a sampled one goes on to analytics
};

struct CountAnswer {
  domain::CountQuery query;
  int64_t count = 0;
  std::shared_ptr<const domain::Freshness> freshness;  // null when analytics sent none
};

class GatewayService {
 public:
  using CountDone = std::function<void(absl::StatusOr<CountAnswer>)>;

  // Look-ups go to `analytics` in coalesced batches (its only user); `timer` keeps their deadlines and is the clock
  // they are measured with (steady_clock in production).
  GatewayService(GatewayOptions options, std::unique_ptr<ports::CountClient> analytics,
                 std::unique_ptr<ports::Timer> timer);

  // `done` runs on the client's thread (its deadline timer's included), or inline when the request is refused
  // before the look-up (no key, too large, invalid).
  void Count(const QueryRequest& request, CountDone done);

  // Reconciliation of the pair the request names, asked of analytics in a call of its own; refused as Count
  // refuses. `done` runs as Count's does.
  using ReconcileDone = std::function<void(absl::StatusOr<domain::Reconciliation>)>;
  void Reconcile(const QueryRequest& request, ReconcileDone done);

  absl::Status CheckReady();

 private:
  // The pair `request` names, or why it is refused (no key, too large, invalid).
  absl::StatusOr<domain::CountQuery> PairOf(const QueryRequest& request) const;

  const GatewayOptions options_;
  const std::unique_ptr<CoalescingCountClient> lookups_;
  const services::ApiKeys keys_;
};

}  // namespace clickstream::gateway
