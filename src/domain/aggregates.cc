#include "domain/aggregates.h"

#include "domain/field_error.h"

namespace clickstream::domain {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;

// The shortest a bucket can be, so that a range's bucket count is never underestimated: a day of a DST change can
// have 23 hours.
int64_t ShortestUs(Bucket bucket) {
  switch (bucket) {
    case Bucket::kMinute: return kMinuteUs;
    case Bucket::kHour: return 60 * kMinuteUs;
    case Bucket::kDay: return 23 * 60 * kMinuteUs;
  }
  return kMinuteUs;
}

}  // namespace

std::optional<Bucket> ParseBucket(std::string_view name) {
  if (name == "minute") return Bucket::kMinute;
  if (name == "hour") return Bucket::kHour;
  if (name == "day") return Bucket::kDay;
  return std::nullopt;
}

std::string_view BucketName(Bucket bucket) {
  switch (bucket) {
    case Bucket::kMinute: return "minute";
    case Bucket::kHour: return "hour";
    case Bucket::kDay: return "day";
  }
  return "hour";
}

absl::Status ValidateRankQuery(const RankQuery& query) {
  if (query.limit < 1 || query.limit > kMaxRankLimit) {
    return InvalidField("limit", "limit must be from 1 to " + std::to_string(kMaxRankLimit));
  }
  return absl::OkStatus();
}

absl::Status ValidateSeriesQuery(const SeriesQuery& query) {
  if (query.to_us <= query.from_us) return InvalidField("to", "to must be after from");
  // One bucket more than the range holds whole: a range that does not start on a bucket's first minute is cut.
  const int64_t buckets = (query.to_us - query.from_us) / ShortestUs(query.bucket) + 2;
  if (buckets > static_cast<int64_t>(kMaxSeriesBuckets)) {
    return InvalidField("to", "the range holds more than " + std::to_string(kMaxSeriesBuckets) + " " +
                                  std::string(BucketName(query.bucket)) + " buckets");
  }
  if (query.time_zone.empty() || query.time_zone.size() > 64) {
    return InvalidField("time_zone", "time_zone must be an IANA time zone name, such as Europe/Berlin");
  }
  return absl::OkStatus();
}

}  // namespace clickstream::domain
