// The questions beyond one (user, page) counter: pages ranked by clicks (across users, or of one user), clicks by
// event_type, and clicks over time in buckets of a caller's time zone. The processor keeps their tables in the
// transaction that counts each event (infra/init.sql), so their answers are as exact as the counters. Each answer
// carries the freshness of the snapshot it was read in, as a count does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "domain/freshness.h"

namespace clickstream::domain {

// A page of a ranking, most clicks first. `after` is the `next` of the page before (empty: the first page);
// `next` is empty when nothing follows.
struct RankQuery {
  std::string user_id;  // the pages of this user (page_clicks); empty: across users (page_totals)
  std::size_t limit = 10;
  std::string after;
};

struct RankedPage {
  std::string page_url;
  int64_t clicks = 0;
  int64_t users = -1;  // distinct users who clicked it; -1 in a user's own ranking
};

struct PageRanking {
  std::vector<RankedPage> pages;
  std::string next;
  Freshness freshness;
};

struct EventTypeCount {
  std::string event_type;
  int64_t clicks = 0;
};

struct EventTypeRanking {
  std::vector<EventTypeCount> event_types;  // most clicks first
  Freshness freshness;
};

enum class Bucket { kMinute, kHour, kDay };

std::optional<Bucket> ParseBucket(std::string_view name);  // "minute", "hour", "day"
std::string_view BucketName(Bucket bucket);

// Clicks whose time_stamp is in [from, to) (both cut to the minute), in buckets that start at the caller's
// `time_zone`'s whole minutes, hours or days (an IANA name: a day of a DST change is 23 or 25 hours long). Every
// bucket of the range is answered, those without clicks with 0; one cut by `from` or `to` counts only the minutes
// inside.
struct SeriesQuery {
  int64_t from_us = 0;
  int64_t to_us = 0;
  Bucket bucket = Bucket::kHour;
  std::string time_zone = "UTC";
};

struct SeriesPoint {
  int64_t start_us = 0;  // the bucket's first instant
  int64_t clicks = 0;
};

struct ClickSeries {
  std::vector<SeriesPoint> points;  // in time order
  Freshness freshness;
};

inline constexpr std::size_t kMaxRankLimit = 1000;
inline constexpr std::size_t kMaxSeriesBuckets = 10'000;

// INVALID_ARGUMENT naming the field: a limit outside 1..kMaxRankLimit; a range that is empty, reversed, or holds
// more than kMaxSeriesBuckets buckets (a day counted as 23 hours); a time zone name that is empty or longer than
// 64 bytes (whether it exists is the database's to say).
absl::Status ValidateRankQuery(const RankQuery& query);
absl::Status ValidateSeriesQuery(const SeriesQuery& query);

}  // namespace clickstream::domain
