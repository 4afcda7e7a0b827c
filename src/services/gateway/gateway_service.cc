#include "services/gateway/gateway_service.h"

#include <string>

#include "common/errors.h"
#include "domain/position.h"

namespace clickstream::gateway {

GatewayService::GatewayService(GatewayOptions options, std::unique_ptr<ports::CountClient> analytics,
                               std::unique_ptr<ports::Timer> timer)
    : options_(std::move(options)),
      lookups_(std::make_unique<CoalescingCountClient>(options_.coalescing, std::move(analytics), std::move(timer))),
      keys_(options_.api_keys) {}

absl::StatusOr<domain::CountQuery> GatewayService::PairOf(const QueryRequest& request) const {
  if (auto key = services::Authenticate(keys_, request.presented_key); !key.ok()) return key.status();
  if (request.body.size() > options_.max_body_bytes) {
    return common::MakeError(common::ErrorKind::kPayloadTooLarge,
                             "body is larger than " + std::to_string(options_.max_body_bytes) + " bytes");
  }
  return domain::ParseCountQuery(request.parameters, request.body, options_.limits);
}

void GatewayService::Count(const QueryRequest& request, CountDone done) {
  // The deadline runs from the request's arrival, not from when a batch finally takes it to analytics.
  const ports::CountClient::Deadline deadline = lookups_->Now() + options_.query_deadline;
  auto query = PairOf(request);
  if (!query.ok()) return done(query.status());
  auto answer = [done = std::move(done), query = *query](CoalescingCountClient::Result reading) {
    if (!reading.ok()) return done(reading.status());
    done(CountAnswer{query, reading->count, std::move(reading->freshness)});
  };
  const auto position = request.parameters.find("position");
  if (position == request.parameters.end()) {
    return lookups_->LookUp(query->user_id, query->page_url, deadline, request.trace, std::move(answer));
  }
  auto after = domain::ParsePositionToken(position->second);
  if (!after.ok()) return answer(after.status());
  lookups_->LookUpAfter(*after, query->user_id, query->page_url, deadline, request.trace, std::move(answer));
}

void GatewayService::Reconcile(const QueryRequest& request, ReconcileDone done) {
  const ports::CountClient::Deadline deadline = lookups_->Now() + options_.query_deadline;
  auto pair = PairOf(request);
  if (!pair.ok()) return done(pair.status());
  lookups_->Reconcile(*std::move(pair), deadline, std::move(done));
}

absl::Status GatewayService::CheckReady() { return lookups_->CheckReady(std::chrono::milliseconds(1000)); }

}  // namespace clickstream::gateway
