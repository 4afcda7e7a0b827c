#include "adapters/grpc/aggregate_conversion.h"

#include <algorithm>

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
}

domain::PageRanking FromProto(const ::analytics::TopPagesResponse& response) {
  domain::PageRanking ranking;
  for (const auto& page : response.pages()) ranking.pages.push_back({page.page_url(), page.clicks(), page.users()});
  ranking.next = response.next();
  return ranking;
}

void ToProto(const std::vector<domain::EventTypeCount>& counts, ::analytics::EventTypeCountsResponse& out) {
  for (const auto& count : counts) {
    auto& added = *out.add_event_types();
    added.set_event_type(count.event_type);
    added.set_clicks(count.clicks);
  }
}

std::vector<domain::EventTypeCount> FromProto(const ::analytics::EventTypeCountsResponse& response) {
  std::vector<domain::EventTypeCount> counts;
  for (const auto& count : response.event_types()) counts.push_back({count.event_type(), count.clicks()});
  return counts;
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

void ToProto(const std::vector<domain::SeriesPoint>& points, ::analytics::ClicksOverTimeResponse& out) {
  for (const auto& point : points) {
    auto& added = *out.add_points();
    added.set_start_us(point.start_us);
    added.set_clicks(point.clicks);
  }
}

std::vector<domain::SeriesPoint> FromProto(const ::analytics::ClicksOverTimeResponse& response) {
  std::vector<domain::SeriesPoint> points;
  for (const auto& point : response.points()) points.push_back({point.start_us(), point.clicks()});
  return points;
}

}  // namespace clickstream::grpc_adapter
