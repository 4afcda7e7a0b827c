#include "adapters/grpc/freshness_conversion.h"

#include <string>

namespace clickstream::grpc_adapter {

void ToProto(const domain::Freshness& freshness, ::analytics::Freshness& out) {
  out.set_source(std::string(domain::SourceName(freshness.source)));
  out.set_position(domain::PositionToken(freshness.position));
  out.set_newest_event_time_us(freshness.newest_event_time_us);
  out.set_age_ms(freshness.age_ms);
  out.set_lag(freshness.lag);
}

domain::Freshness FromProto(const ::analytics::Freshness& freshness) {
  domain::Freshness out;
  out.source = freshness.source() == "cache" ? domain::CountSource::kCache : domain::CountSource::kDatabase;
  if (!freshness.position().empty()) {
    auto position = domain::ParsePositionToken(freshness.position());
    if (position.ok()) out.position = std::move(*position);
  }
  out.newest_event_time_us = freshness.newest_event_time_us();
  out.age_ms = freshness.age_ms();
  out.lag = freshness.lag();
  return out;
}

void ToProto(const domain::Reconciliation& reconciliation, ::analytics::ReconcileResponse& out) {
  out.set_user_id(reconciliation.pair.user_id);
  out.set_page_url(reconciliation.pair.page_url);
  out.set_consistent(reconciliation.Consistent());
  out.set_counter(reconciliation.counter);
  out.set_raw_rows(reconciliation.raw_rows);
  out.set_cached(reconciliation.cached.has_value());
  out.set_cache_count(reconciliation.cached.value_or(0));
  ToProto(reconciliation.freshness, *out.mutable_freshness());
}

domain::Reconciliation FromProto(const ::analytics::ReconcileResponse& reconciliation) {
  domain::Reconciliation out{{reconciliation.user_id(), reconciliation.page_url()},
                             reconciliation.counter(),
                             reconciliation.raw_rows(),
                             std::nullopt,
                             {}};
  if (reconciliation.cached()) out.cached = reconciliation.cache_count();
  out.freshness = FromProto(reconciliation.freshness());
  return out;
}

}  // namespace clickstream::grpc_adapter
