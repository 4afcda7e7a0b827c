#include "services/analytics/aggregate_service.h"

#include "domain/field_error.h"

namespace clickstream::analytics {

AggregateService::AggregateService(std::unique_ptr<ports::AggregateStore> store, LogEnd log_end,
                                   std::size_t queue_depth)
    : store_(std::move(store)), log_end_(std::move(log_end)), work_(queue_depth) {}

AggregateService::~AggregateService() = default;

template <typename T>
void AggregateService::Post(std::function<absl::StatusOr<T>()> read, Done<T> done) {
  auto shared = std::make_shared<Done<T>>(std::move(done));
  auto read_with_lag = [this, read = std::move(read)] {
    absl::StatusOr<T> answer = read();
    if (answer.ok() && log_end_) {
      if (const auto end = log_end_()) answer->freshness.lag = domain::RecordsBetween(answer->freshness.position, *end);
    }
    return answer;
  };
  if (!work_.Post([read_with_lag = std::move(read_with_lag), shared] { (*shared)(read_with_lag()); })) {
    (*shared)(absl::ResourceExhaustedError("too many aggregate questions waiting; retry later"));
  }
}

void AggregateService::TopPages(domain::RankQuery query, Done<domain::PageRanking> done) {
  if (auto status = domain::ValidateRankQuery(query); !status.ok()) return done(status);
  Post<domain::PageRanking>([this, query = std::move(query)] { return store_->TopPages(query); }, std::move(done));
}

void AggregateService::EventTypeCounts(std::size_t limit, Done<domain::EventTypeRanking> done) {
  if (auto status = domain::ValidateRankQuery({"", limit, ""}); !status.ok()) return done(status);
  Post<domain::EventTypeRanking>([this, limit] { return store_->EventTypeCounts(limit); }, std::move(done));
}

void AggregateService::ClicksOverTime(domain::SeriesQuery query, Done<domain::ClickSeries> done) {
  if (auto status = domain::ValidateSeriesQuery(query); !status.ok()) return done(status);
  Post<domain::ClickSeries>([this, query = std::move(query)] { return store_->ClicksOverTime(query); },
                            std::move(done));
}

}  // namespace clickstream::analytics
