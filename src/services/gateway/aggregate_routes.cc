#include "services/gateway/aggregate_routes.h"

#include <memory>

#include "common/json_text.h"
#include "domain/aggregates.h"
#include "domain/field_error.h"
#include "services/common/access.h"
#include "services/common/http_answers.h"
#include "services/common/query_params.h"
#include "services/gateway/freshness_json.h"

namespace clickstream::gateway {
namespace {

constexpr std::size_t kDefaultLimit = 10;
constexpr int64_t kDefaultRangeUs = 24LL * 3600 * 1'000'000;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Unknown(const std::string& name, const char* known) {
  return domain::InvalidField(name, "unknown parameter " + name + " (" + known + ")");
}

// An error analytics found in a question: the one value the gateway cannot check itself is `field`'s (a cursor, a
// time zone's name), and gRPC does not carry which field it was.
absl::Status Naming(absl::Status status, const char* field) {
  if (!absl::IsInvalidArgument(status) || !domain::FieldOf(status).empty()) return status;
  return domain::InvalidField(field, std::string(status.message()));
}

absl::StatusOr<domain::RankQuery> RankQueryOf(const std::map<std::string, std::string>& parameters,
                                              const domain::EventLimits& limits) {
  domain::RankQuery query{"", kDefaultLimit, ""};
  for (const auto& [name, value] : parameters) {
    if (name == "user_id") {
      if (auto status = domain::CheckIdField("user_id", value, limits); !status.ok()) return status;
      query.user_id = value;
    } else if (name == "limit") {
      auto limit = services::Limit(name, value, domain::kMaxRankLimit);
      if (!limit.ok()) return limit.status();
      query.limit = *limit;
    } else if (name == "after") {
      query.after = value;
    } else {
      return Unknown(name, "user_id, limit and after choose top pages");
    }
  }
  return query;
}

absl::StatusOr<std::size_t> TypeLimitOf(const std::map<std::string, std::string>& parameters) {
  std::size_t limit = kDefaultLimit;
  for (const auto& [name, value] : parameters) {
    if (name != "limit") return Unknown(name, "limit chooses how many event types");
    auto parsed = services::Limit(name, value, domain::kMaxRankLimit);
    if (!parsed.ok()) return parsed.status();
    limit = *parsed;
  }
  return limit;
}

absl::StatusOr<domain::SeriesQuery> SeriesQueryOf(const std::map<std::string, std::string>& parameters) {
  std::optional<int64_t> from, to;
  domain::SeriesQuery query;
  for (const auto& [name, value] : parameters) {
    if (name == "from" || name == "to") {
      auto at = services::Instant(name, value);
      if (!at.ok()) return at.status();
      (name == "from" ? from : to) = *at;
    } else if (name == "bucket") {
      const auto bucket = domain::ParseBucket(value);
      if (!bucket) return domain::InvalidField(name, "bucket must be minute, hour or day");
      query.bucket = *bucket;
    } else if (name == "time_zone") {
      query.time_zone = value;
    } else {
      return Unknown(name, "from, to, bucket and time_zone choose the series");
    }
  }
  query.to_us = to.value_or(from ? *from + kDefaultRangeUs : NowMicros());
  query.from_us = from.value_or(query.to_us - kDefaultRangeUs);
  if (auto status = domain::ValidateSeriesQuery(query); !status.ok()) return status;
  return query;
}

std::string RankingJson(const domain::RankQuery& query, const domain::PageRanking& ranking) {
  std::string body = "{\"user_id\":";
  if (query.user_id.empty()) {
    body += "null";
  } else {
    common::AppendJsonString(body, query.user_id);
  }
  body += ",\"pages\":[";
  for (const auto& page : ranking.pages) {
    if (body.back() != '[') body += ',';
    body += "{\"page_url\":";
    common::AppendJsonString(body, page.page_url);
    body += ",\"clicks\":" + std::to_string(page.clicks);
    if (page.users >= 0) body += ",\"users\":" + std::to_string(page.users);
    body += '}';
  }
  body += "],\"next\":";
  if (ranking.next.empty()) {
    body += "null";
  } else {
    common::AppendJsonString(body, ranking.next);
  }
  AppendFreshness(body, ranking.freshness);
  return body + '}';
}

std::string EventTypesJson(const domain::EventTypeRanking& ranking) {
  std::string body = "{\"event_types\":[";
  for (const auto& count : ranking.event_types) {
    if (body.back() != '[') body += ',';
    body += "{\"event_type\":";
    common::AppendJsonString(body, count.event_type);
    body += ",\"clicks\":" + std::to_string(count.clicks) + '}';
  }
  body += ']';
  AppendFreshness(body, ranking.freshness);
  return body + '}';
}

std::string SeriesJson(const domain::SeriesQuery& query, const domain::ClickSeries& series) {
  std::string body = "{\"bucket\":\"" + std::string(domain::BucketName(query.bucket)) + "\",\"time_zone\":";
  common::AppendJsonString(body, query.time_zone);
  body += ",\"points\":[";
  int64_t total = 0;
  for (const auto& point : series.points) {
    if (body.back() != '[') body += ',';
    body += "{\"start\":";
    common::AppendJsonString(body, domain::FormatTimestamp(point.start_us));
    body += ",\"clicks\":" + std::to_string(point.clicks) + '}';
    total += point.clicks;
  }
  body += "],\"total\":" + std::to_string(total);
  AppendFreshness(body, series.freshness);
  return body + '}';
}

class Routes {
 public:
  Routes(ports::AggregateClient& client, AggregateRouteOptions options)
      : client_(client), options_(std::move(options)), keys_(options_.api_keys) {}

  void TopPages(const ports::HttpRequest& request, ports::Respond respond) {
    auto query = Admit(request, [&] { return RankQueryOf(request.query, options_.limits); });
    if (!query.ok()) return respond(services::ErrorResponse(query.status()));
    client_.TopPages(*query, Deadline(), [respond = std::move(respond), query = *query](auto ranking) {
      respond(ranking.ok() ? services::JsonResponse(RankingJson(query, *ranking))
                           : services::ErrorResponse(Naming(ranking.status(), "after")));
    });
  }

  void EventTypes(const ports::HttpRequest& request, ports::Respond respond) {
    auto limit = Admit(request, [&] { return TypeLimitOf(request.query); });
    if (!limit.ok()) return respond(services::ErrorResponse(limit.status()));
    client_.EventTypeCounts(*limit, Deadline(), [respond = std::move(respond)](auto counts) {
      respond(counts.ok() ? services::JsonResponse(EventTypesJson(*counts)) : services::ErrorResponse(counts.status()));
    });
  }

  void ClicksOverTime(const ports::HttpRequest& request, ports::Respond respond) {
    auto query = Admit(request, [&] { return SeriesQueryOf(request.query); });
    if (!query.ok()) return respond(services::ErrorResponse(query.status()));
    client_.ClicksOverTime(*query, Deadline(), [respond = std::move(respond), query = *query](auto points) {
      respond(points.ok() ? services::JsonResponse(SeriesJson(query, *points))
                          : services::ErrorResponse(Naming(points.status(), "time_zone")));
    });
  }

 private:
  // The question `parse` reads from the request, once the request's key is admitted.
  template <typename Parse>
  auto Admit(const ports::HttpRequest& request, Parse parse) const -> decltype(parse()) {
    if (auto key = services::Authenticate(keys_, services::PresentedKey(request)); !key.ok()) return key.status();
    return parse();
  }

  ports::AggregateClient::Deadline Deadline() const { return std::chrono::steady_clock::now() + options_.deadline; }

  ports::AggregateClient& client_;
  const AggregateRouteOptions options_;
  const services::ApiKeys keys_;
};

}  // namespace

std::vector<ports::HttpRoute> AggregateRoutes(ports::AggregateClient& client, AggregateRouteOptions options) {
  auto routes = std::make_shared<Routes>(client, std::move(options));
  return {{"GET", "/analytics/top-pages",
           [routes](const ports::HttpRequest& request, ports::Respond respond) {
             routes->TopPages(request, std::move(respond));
           }},
          {"GET", "/analytics/event-types",
           [routes](const ports::HttpRequest& request, ports::Respond respond) {
             routes->EventTypes(request, std::move(respond));
           }},
          {"GET", "/analytics/clicks-over-time", [routes](const ports::HttpRequest& request, ports::Respond respond) {
             routes->ClicksOverTime(request, std::move(respond));
           }}};
}

}  // namespace clickstream::gateway
