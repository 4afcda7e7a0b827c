#include "adapters/grpc/aggregate_conversion.h"

#include <algorithm>

#include "adapters/grpc/freshness_conversion.h"
#include "domain/field_error.h"

namespace clickstream::grpc_adapter {

void ToProto(const domain::RankQuery& query, ::analytics::TopPagesRequest& out) {
  out.set_user_id(query.user_id);
  out.set_limit(static_cast<int32_t>(std::min<std::size_t>(query.limit, INT32_MAX)));
  out.set_after(query.after);
}

domain::RankQuery FromProto(const ::analytics::TopPagesRequest& request) {
  // A negative limit becomes 0, which validation refuses.
  return {request.user_id(), static_cast<std::size_t>(std::max(request.limit(), 0)), request.after()};
}

void ToProto(const domain::PageRanking& ranking, ::analytics::TopPagesResponse& out) {
  for (const auto& page : ranking.pages) {
    auto& added = *out.add_pages();
    added.set_page_url(page.page_url);
    added.set_clicks(page.clicks);
    added.set_users(page.users);
  }
  out.set_next(ranking.next);
  ToProto(ranking.freshness, *out.mutable_freshness());
}

domain::PageRanking FromProto(const ::analytics::TopPagesResponse& response) {
  domain::PageRanking ranking;
  for (const auto& page : response.pages()) ranking.pages.push_back({page.page_url(), page.clicks(), page.users()});
  ranking.next = response.next();
  ranking.freshness = FromProto(response.freshness());
  return ranking;
}

void ToProto(const domain::EventTypeRanking& ranking, ::analytics::EventTypeCountsResponse& out) {
  for (const auto& count : ranking.event_types) {
    auto& added = *out.add_event_types();
    added.set_event_type(count.event_type);
    added.set_clicks(count.clicks);
  }
  ToProto(ranking.freshness, *out.mutable_freshness());
}

domain::EventTypeRanking FromProto(const ::analytics::EventTypeCountsResponse& response) {
  domain::EventTypeRanking ranking;
  for (const auto& count : response.event_types()) ranking.event_types.push_back({count.event_type(), count.clicks()});
  ranking.freshness = FromProto(response.freshness());
  return ranking;
}

void ToProto(const domain::SeriesQuery& query, ::analytics::ClicksOverTimeRequest& out) {
  out.set_from_us(query.from_us);
  out.set_to_us(query.to_us);
  out.set_bucket(std::string(domain::BucketName(query.bucket)));
  out.set_time_zone(query.time_zone);
}

absl::StatusOr<domain::SeriesQuery> FromProto(const ::analytics::ClicksOverTimeRequest& request) {
  const auto bucket = domain::ParseBucket(request.bucket());
  if (!bucket) return domain::InvalidField("bucket", "bucket must be minute, hour or day");
  return domain::SeriesQuery{request.from_us(), request.to_us(), *bucket, request.time_zone()};
}

void ToProto(const domain::ClickSeries& series, ::analytics::ClicksOverTimeResponse& out) {
  for (const auto& point : series.points) {
    auto& added = *out.add_points();
    added.set_start_us(point.start_us);
    added.set_clicks(point.clicks);
  }
  ToProto(series.freshness, *out.mutable_freshness());
}

domain::ClickSeries FromProto(const ::analytics::ClicksOverTimeResponse& response) {
  domain::ClickSeries series;
  for (const auto& point : response.points()) series.points.push_back({point.start_us(), point.clicks()});
  series.freshness = FromProto(response.freshness());
  return series;
}

}  // namespace clickstream::grpc_adapter
