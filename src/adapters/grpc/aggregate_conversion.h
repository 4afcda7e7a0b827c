// The aggregate messages on the wire (analytics.TopPagesRequest, ClicksOverTimeRequest and their answers) and back.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "analytics.pb.h"
#include "domain/aggregates.h"

namespace clickstream::grpc_adapter {

void ToProto(const domain::RankQuery& query, ::analytics::TopPagesRequest& out);
domain::RankQuery FromProto(const ::analytics::TopPagesRequest& request);
void ToProto(const domain::PageRanking& ranking, ::analytics::TopPagesResponse& out);
domain::PageRanking FromProto(const ::analytics::TopPagesResponse& response);

void ToProto(const std::vector<domain::EventTypeCount>& counts, ::analytics::EventTypeCountsResponse& out);
std::vector<domain::EventTypeCount> FromProto(const ::analytics::EventTypeCountsResponse& response);

void ToProto(const domain::SeriesQuery& query, ::analytics::ClicksOverTimeRequest& out);
// INVALID_ARGUMENT naming `bucket` for a bucket name it does not know.
absl::StatusOr<domain::SeriesQuery> FromProto(const ::analytics::ClicksOverTimeRequest& request);
void ToProto(const std::vector<domain::SeriesPoint>& points, ::analytics::ClicksOverTimeResponse& out);
std::vector<domain::SeriesPoint> FromProto(const ::analytics::ClicksOverTimeResponse& response);

}  // namespace clickstream::grpc_adapter
