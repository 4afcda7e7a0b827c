// The aggregate messages on the wire (analytics.TopPagesRequest, ClicksOverTimeRequest and their answers, each
// answer with its freshness) and back.
#pragma once

#include "absl/status/statusor.h"
#include "analytics.pb.h"
#include "domain/aggregates.h"

namespace clickstream::grpc_adapter {

void ToProto(const domain::RankQuery& query, ::analytics::TopPagesRequest& out);
domain::RankQuery FromProto(const ::analytics::TopPagesRequest& request);
void ToProto(const domain::PageRanking& ranking, ::analytics::TopPagesResponse& out);
domain::PageRanking FromProto(const ::analytics::TopPagesResponse& response);

void ToProto(const domain::EventTypeRanking& ranking, ::analytics::EventTypeCountsResponse& out);
domain::EventTypeRanking FromProto(const ::analytics::EventTypeCountsResponse& response);

void ToProto(const domain::SeriesQuery& query, ::analytics::ClicksOverTimeRequest& out);
// INVALID_ARGUMENT naming `bucket` for a bucket name it does not know.
absl::StatusOr<domain::SeriesQuery> FromProto(const ::analytics::ClicksOverTimeRequest& request);
void ToProto(const domain::ClickSeries& series, ::analytics::ClicksOverTimeResponse& out);
domain::ClickSeries FromProto(const ::analytics::ClicksOverTimeResponse& response);

}  // namespace clickstream::grpc_adapter
