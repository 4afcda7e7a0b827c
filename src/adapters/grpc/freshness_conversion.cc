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

}  // namespace clickstream::grpc_adapter
