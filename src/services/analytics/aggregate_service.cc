#include "services/analytics/aggregate_service.h"

#include "domain/field_error.h"

namespace clickstream::analytics {

AggregateService::AggregateService(std::unique_ptr<ports::AggregateStore> store, std::size_t queue_depth)
    : store_(std::move(store)), work_(queue_depth) {}

AggregateService::~AggregateService() = default;

template <typename T>
void AggregateService::Post(std::function<absl::StatusOr<T>()> read, Done<T> done) {
  auto shared = std::make_shared<Done<T>>(std::move(done));
  if (!work_.Post([read = std::move(read), shared] { (*shared)(read()); })) {
    (*shared)(absl::ResourceExhaustedError("too many aggregate questions waiting; retry later"));
  }
}

void AggregateService::TopPages(domain::RankQuery query, Done<domain::PageRanking> done) {
  if (auto status = domain::ValidateRankQuery(query); !status.ok()) return done(status);
  Post<domain::PageRanking>([this, query = std::move(query)] { return store_->TopPages(query); }, std::move(done));
}

void AggregateService::EventTypeCounts(std::size_t limit, Done<std::vector<domain::EventTypeCount>> done) {
  if (auto status = domain::ValidateRankQuery({"", limit, ""}); !status.ok()) return done(status);
  Post<std::vector<domain::EventTypeCount>>([this, limit] { return store_->EventTypeCounts(limit); }, std::move(done));
}

void AggregateService::ClicksOverTime(domain::SeriesQuery query, Done<std::vector<domain::SeriesPoint>> done) {
  if (auto status = domain::ValidateSeriesQuery(query); !status.ok()) return done(status);
  Post<std::vector<domain::SeriesPoint>>([this, query = std::move(query)] { return store_->ClicksOverTime(query); },
                                         std::move(done));
}

}  // namespace clickstream::analytics
