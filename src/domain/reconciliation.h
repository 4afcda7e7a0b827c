// A counter checked against what it counts: the pair's counter in page_clicks and its raw rows in click_events,
// read in one database snapshot (the processor changes both in one transaction, so they are equal in every
// snapshot unless something is wrong), and the cache's count read before that snapshot, which can never be above
// it: the cache only ever holds counts the database committed.
#pragma once

#include <cstdint>
#include <optional>

#include "domain/count_query.h"
#include "domain/freshness.h"

namespace clickstream::domain {

struct Reconciliation {
  CountQuery pair;
  int64_t counter = 0;            // page_clicks.click_count, 0 when the pair has no row
  int64_t raw_rows = 0;           // rows of the pair in click_events
  std::optional<int64_t> cached;  // the cache's count; none when it holds none or cannot be read
  Freshness freshness;            // the database snapshot's position, newest event time and age

  // The counter equals its raw rows, and the cache is not ahead of the counter.
  bool Consistent() const { return counter == raw_rows && (!cached || *cached <= counter); }
};

}  // namespace clickstream::domain
