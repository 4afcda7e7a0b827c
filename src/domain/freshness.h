// How current a count is: where it was read, which position of the event log it includes, the newest event time
// applied, how long ago the processor last moved it, and how many records still wait. Every query answer carries
// one, so a user can see how far to trust a number rather than trust it blindly.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "domain/position.h"

namespace clickstream::domain {

enum class CountSource { kDatabase, kCache };

std::string_view SourceName(CountSource source);  // "database", "cache"

struct Freshness {
  CountSource source = CountSource::kDatabase;
  // The count includes every event stored before this position (and perhaps later ones). Database: read in the
  // count's own snapshot. Cache: what the processor had raised the cache to before the count was read. Empty:
  // nothing applied yet, or not known.
  Position position;
  int64_t newest_event_time_us = 0;  // the newest time_stamp among the events applied; 0 when unknown
  // Milliseconds since the processor last applied a batch (database) or last raised the cache (cache), by the
  // clock of the store that holds the state; -1 when unknown. Grows while nothing new arrives: lag tells apart.
  int64_t age_ms = -1;
  int64_t lag = -1;  // records published but not yet in `position`; -1 when unknown
};

// A count with its freshness, shared by every pair read in the same snapshot.
struct Reading {
  int64_t count = 0;
  std::shared_ptr<const Freshness> freshness;
};

}  // namespace clickstream::domain
