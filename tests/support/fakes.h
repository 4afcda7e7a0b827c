// Fakes of the ports, for unit tests of the services. Each keeps the semantics the port's contract promises
// (the store's effectively-once counting, the cache's monotonic max) so the services are tested against them.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/tracing.h"
#include "ports/count_cache.h"
#include "ports/count_client.h"
#include "ports/event_publisher.h"
#include "ports/event_store.h"
#include "ports/log_end.h"
#include "ports/record_source.h"
#include "ports/timer.h"

namespace clickstream::testing_support {

using Pair = std::pair<std::string, std::string>;

// Holds each publish until the test completes it, as a broker's ack would.
class FakePublisher final : public ports::EventPublisher {
 public:
  struct Published {
    std::string key;
    std::string value;
    int64_t timestamp_ms;
    Done done;
    tracing::TraceContext trace;
  };
  void Publish(std::string_view key, std::string_view value, int64_t timestamp_ms, const tracing::TraceContext& trace,
               Done done) override {
    std::lock_guard lock(mutex);
    published.push_back({std::string(key), std::string(value), timestamp_ms, std::move(done), trace});
  }
  absl::Status CheckReady(std::chrono::milliseconds) override { return ready; }
  void Drain(std::chrono::milliseconds) override {}
  // Completes publish `index` with `status`; an acknowledged one was stored at offset `index` of partition 0.
  void Complete(std::size_t index, absl::Status status) {
    if (status.ok()) {
      published.at(index).done(domain::PartitionOffset{0, static_cast<int64_t>(index) + 1});
    } else {
      published.at(index).done(std::move(status));
    }
  }
  // Completes publish `index` as acknowledged, stored just before `stored`.
  void CompleteAt(std::size_t index, domain::PartitionOffset stored) { published.at(index).done(stored); }

  std::mutex mutex;
  std::vector<Published> published;
  absl::Status ready = absl::OkStatus();
};

class FakeRecordSource final : public ports::RecordSource {
 public:
  absl::StatusOr<std::vector<domain::Record>> Poll(std::size_t max, std::chrono::milliseconds) override {
    std::vector<domain::Record> out;
    while (!pending.empty() && out.size() < max) {
      out.push_back(pending.front());
      pending.pop_front();
    }
    return out;
  }
  absl::Status Commit(const std::vector<domain::PartitionOffset>& next_offsets) override {
    for (const auto& o : next_offsets) committed[o.partition] = o.next_offset;
    return absl::OkStatus();
  }
  absl::Status CheckReady(std::chrono::milliseconds) override { return absl::OkStatus(); }
  std::map<int32_t, int64_t> Lag() override { return {{0, static_cast<int64_t>(pending.size())}}; }

  std::deque<domain::Record> pending;
  std::map<int32_t, int64_t> committed;
};

class FakeDeadLetters final : public ports::DeadLetters {
 public:
  absl::Status Send(const domain::PoisonRecord& letter, std::chrono::milliseconds) override {
    sent.emplace_back(letter.record, letter.reason);
    codes.push_back(letter.reason_code);
    return absl::OkStatus();
  }
  std::vector<std::pair<domain::Record, std::string>> sent;
  std::vector<std::string> codes;  // each letter's reason code, in order
};

// Effectively-once by event_id, like PgEventStore; fails the next `failures_left` calls with UNAVAILABLE, and
// refuses for good (INVALID_ARGUMENT, nothing applied) every call holding an event_id in `refused_ids`.
class FakeEventStore final : public ports::EventStore {
 public:
  absl::StatusOr<ports::AppliedBatch> ApplyBatch(std::string_view, const std::vector<domain::ClickEvent>& events,
                                                 const std::vector<domain::PartitionOffset>& next_offsets) override {
    ++calls;
    if (before_apply) before_apply();
    if (failures_left > 0) {
      --failures_left;
      return absl::UnavailableError("database down");
    }
    for (const auto& e : events) {
      if (refused_ids.contains(e.event_id)) return absl::InvalidArgumentError("index row size exceeds maximum");
    }
    std::set<Pair> touched;
    ports::AppliedBatch result;
    for (const auto& e : events) {
      touched.insert({e.user_id, e.page_url});
      if (ids.insert(e.event_id).second) {
        ++counts[{e.user_id, e.page_url}];
        ++result.inserted;
      }
    }
    for (const auto& o : next_offsets) offsets[o.partition] = std::max(offsets[o.partition], o.next_offset);
    for (const auto& pair : touched) result.counts.push_back({pair.first, pair.second, counts[pair]});
    return result;
  }
  absl::Status Ping() override {
    ++pings;
    return failures_left > 0 ? absl::UnavailableError("database down") : absl::OkStatus();
  }

  int failures_left = 0;
  int pings = 0;
  std::function<void()> before_apply;  // when set, runs first in every ApplyBatch, on the applying thread
  std::set<std::string> refused_ids;
  int calls = 0;
  std::set<std::string> ids;
  std::map<Pair, int64_t> counts;
  std::map<int32_t, int64_t> offsets;
};

// `reads` counts the pairs read, `round_trips` the calls that read them. `before_read`, when set, runs at the start
// of every read on the reading thread: a test blocks there to hold a read in flight, as a hung database would.
class FakeCountStore final : public ports::CountStore {
 public:
  absl::StatusOr<int64_t> GetCount(std::string_view user_id, std::string_view page_url) override {
    auto counts = GetMany({{std::string(user_id), std::string(page_url)}});
    if (!counts.ok()) return counts.status();
    return counts->counts.front();
  }
  absl::StatusOr<ports::StoredCounts> GetMany(const std::vector<domain::CountQuery>& pairs) override {
    if (before_read) before_read();
    std::lock_guard lock(mutex);
    ++round_trips;
    reads += static_cast<int>(pairs.size());
    if (!available) return absl::UnavailableError("database down");
    ports::StoredCounts out;
    for (const auto& pair : pairs) {
      auto it = counts.find({pair.user_id, pair.page_url});
      out.counts.push_back(it == counts.end() ? 0 : it->second);
    }
    out.freshness.position = applied;
    out.freshness.newest_event_time_us = newest_event_time_us;
    out.freshness.age_ms = 7;
    return out;
  }
  absl::StatusOr<domain::Position> AppliedPosition() override {
    std::lock_guard lock(mutex);
    ++position_reads;
    if (!available) return absl::UnavailableError("database down");
    return applied;
  }
  // A pair's raw rows are its entry in `raw_rows`, else its count: consistent unless a test says otherwise.
  absl::StatusOr<ports::StoreAudit> Audit(const std::vector<domain::CountQuery>& pairs) override {
    std::lock_guard lock(mutex);
    if (!available) return absl::UnavailableError("database down");
    ports::StoreAudit audit;
    for (const auto& pair : pairs) audit.pairs.push_back(AuditOf(pair));
    audit.freshness.position = applied;
    return audit;
  }
  // The pairs of `counts` from the first whose user_id is at least `start`, in order, wrapping around.
  absl::StatusOr<ports::StoreAudit> AuditSample(std::size_t size, const std::string& start) override {
    std::lock_guard lock(mutex);
    sample_starts.push_back(start);
    if (!available) return absl::UnavailableError("database down");
    ports::StoreAudit audit;
    auto it = counts.lower_bound({start, ""});
    for (std::size_t i = 0; i < std::min(size, counts.size()); ++i, ++it) {
      if (it == counts.end()) it = counts.begin();
      audit.pairs.push_back(AuditOf({it->first.first, it->first.second}));
    }
    audit.freshness.position = applied;
    return audit;
  }
  domain::Reconciliation AuditOf(const domain::CountQuery& pair) const {
    const auto count = counts.find({pair.user_id, pair.page_url});
    const auto raw = raw_rows.find({pair.user_id, pair.page_url});
    const int64_t counter = count == counts.end() ? 0 : count->second;
    return {pair, counter, raw == raw_rows.end() ? counter : raw->second, std::nullopt, {}};
  }
  absl::Status Ping() override { return available ? absl::OkStatus() : absl::UnavailableError("down"); }
  // What AppliedPosition answers from now on; safe while other threads read.
  void SetApplied(domain::Position position) {
    std::lock_guard lock(mutex);
    applied = std::move(position);
  }

  std::function<void()> before_read;  // set before the first read
  domain::Position applied;
  int64_t newest_event_time_us = 0;
  int position_reads = 0;
  std::mutex mutex;
  bool available = true;
  int reads = 0;
  int round_trips = 0;
  std::map<Pair, int64_t> counts;
  std::map<Pair, int64_t> raw_rows;
  std::vector<std::string> sample_starts;  // AuditSample's, in call order
};

// The log's end as the test sets it; `available = false` makes End UNAVAILABLE.
class FakeLogEnd final : public ports::LogEnd {
 public:
  absl::StatusOr<domain::Position> End(std::chrono::milliseconds) override {
    std::lock_guard lock(mutex);
    if (!available) return absl::UnavailableError("brokers down");
    return end;
  }
  void Set(domain::Position position, bool up = true) {
    std::lock_guard lock(mutex);
    end = std::move(position);
    available = up;
  }

  std::mutex mutex;
  domain::Position end;
  bool available = true;
};

// Monotonic max, like the Redis script; `available = false` makes every call UNAVAILABLE.
class FakeCountCache final : public ports::CountCache {
 public:
  absl::StatusOr<std::optional<int64_t>> Get(std::string_view user_id, std::string_view page_url) override {
    std::lock_guard lock(mutex);
    if (!available) return absl::UnavailableError("cache down");
    auto it = values.find({std::string(user_id), std::string(page_url)});
    if (it == values.end()) return std::optional<int64_t>();
    return std::optional<int64_t>(it->second);
  }
  absl::Status RaiseTo(const std::vector<domain::PageCount>& counts) override {
    std::this_thread::sleep_for(raise_delay);  // a slow cache, outside the lock
    std::lock_guard lock(mutex);
    if (!available) return absl::UnavailableError("cache down");
    for (const auto& c : counts) {
      auto [it, inserted] = values.try_emplace({c.user_id, c.page_url}, c.count);
      if (!inserted) it->second = std::max(it->second, c.count);
    }
    return absl::OkStatus();
  }
  absl::Status RecordApplied(const domain::Position& position, int64_t newest_event_time_us) override {
    std::lock_guard lock(mutex);
    ++applied_records;
    if (!available) return absl::UnavailableError("cache down");
    for (const auto& offset : position) domain::Include(applied, offset);
    newest_us = std::max(newest_us, newest_event_time_us);
    return absl::OkStatus();
  }
  absl::StatusOr<ports::CachedCounts> GetMany(const std::vector<domain::CountQuery>& pairs) override {
    ports::CachedCounts cached;
    for (const auto& pair : pairs) {
      auto count = Get(pair.user_id, pair.page_url);
      if (!count.ok()) return count.status();
      cached.counts.push_back(*count);
    }
    std::lock_guard lock(mutex);
    cached.freshness = {domain::CountSource::kCache, applied, newest_us, 3, -1};
    return cached;
  }
  absl::Status InvalidateAll() override {
    std::lock_guard lock(mutex);
    if (!available) return absl::UnavailableError("cache down");
    values.clear();
    ++invalidations;
    return absl::OkStatus();
  }
  absl::Status Ping() override { return available ? absl::OkStatus() : absl::UnavailableError("cache down"); }

  std::mutex mutex;
  bool available = true;
  std::chrono::milliseconds raise_delay{0};  // set before use: how long each RaiseTo takes
  int invalidations = 0;
  std::map<Pair, int64_t> values;
  domain::Position applied;  // as RecordApplied raised it
  int64_t newest_us = 0;
  int applied_records = 0;  // RecordApplied calls, the failed ones included
};

// Answers each pair with its entry in `counts`, else `answer`. With `hold_batches`, GetCounts keeps each batch
// until ReleaseOldest answers it, so tests can hold batches "in flight". Deadlines are recorded, not enforced: a test
// plays the transport's deadline with ReleaseOldestWith(DEADLINE_EXCEEDED).
class FakeCountClient final : public ports::CountClient {
 public:
  void GetCounts(std::vector<domain::CountQuery> pairs, const domain::Position& after, Deadline deadline,
                 const tracing::TraceContext& trace, DoneMany done) override {
    traces.push_back(trace);
    afters.push_back(after);
    std::vector<Result> results;
    for (auto& pair : pairs) {
      asked.push_back({pair.user_id, pair.page_url});
      results.push_back(AnswerFor(asked.back()));
    }
    batch_sizes.push_back(pairs.size());
    deadlines.push_back(deadline);
    if (hold_batches) {
      held.push_back({std::move(done), std::move(results)});
      return;
    }
    done(std::move(results));
  }
  // Answers `reconciliation` with the pair asked, at once; records the pair and deadline.
  void Reconcile(domain::CountQuery pair, Deadline deadline, ReconcileDone done) override {
    reconciled.push_back({pair.user_id, pair.page_url});
    deadlines.push_back(deadline);
    if (!reconciliation.ok()) return done(reconciliation.status());
    domain::Reconciliation answer = *reconciliation;
    answer.pair = std::move(pair);
    done(std::move(answer));
  }
  absl::Status CheckReady(std::chrono::milliseconds) override { return absl::OkStatus(); }

  void ReleaseOldest() {
    Held batch = std::move(held.front());
    held.erase(held.begin());
    batch.done(std::move(batch.results));
  }
  // Answers the oldest held batch with `status` for every pair, as a failed call would.
  void ReleaseOldestWith(const absl::Status& status) {
    Held batch = std::move(held.front());
    held.erase(held.begin());
    batch.done(std::vector<Result>(batch.results.size(), status));
  }

  // The pair's entry in `counts`, else `answer`; a count comes with `freshness`.
  Result AnswerFor(const Pair& pair) const {
    auto it = counts.find(pair);
    const absl::StatusOr<int64_t> count = it == counts.end() ? answer : absl::StatusOr<int64_t>(it->second);
    if (!count.ok()) return count.status();
    return domain::Reading{*count, freshness};
  }

  struct Held {
    DoneMany done;
    std::vector<Result> results;
  };
  absl::StatusOr<int64_t> answer = 0;
  std::shared_ptr<const domain::Freshness> freshness;  // null: none sent
  absl::StatusOr<domain::Reconciliation> reconciliation = domain::Reconciliation{};
  std::vector<Pair> reconciled;
  std::map<Pair, int64_t> counts;
  std::vector<Pair> asked;
  std::vector<std::size_t> batch_sizes;
  std::vector<Deadline> deadlines;            // of each call, in order
  std::vector<tracing::TraceContext> traces;  // of each call, in order
  std::vector<domain::Position> afters;       // of each call, in order
  bool hold_batches = false;
  std::vector<Held> held;
};

// Time that moves only when the test says: Advance runs the tasks that fall due, in deadline order, on the test's
// thread (never inside RunAt, as the port promises).
class FakeTimer final : public ports::Timer {
 public:
  TimePoint Now() override {
    std::lock_guard lock(mutex);
    return now;
  }
  TaskId RunAt(TimePoint when, std::function<void()> task) override {
    std::lock_guard lock(mutex);
    tasks[{when, next_id}] = std::move(task);
    return next_id++;
  }
  bool Cancel(TaskId id) override {
    std::lock_guard lock(mutex);
    for (auto it = tasks.begin(); it != tasks.end(); ++it) {
      if (it->first.second == id) {
        tasks.erase(it);
        return true;
      }
    }
    return false;
  }
  void Advance(std::chrono::steady_clock::duration by) {
    std::unique_lock lock(mutex);
    const TimePoint until = now + by;
    while (!tasks.empty() && tasks.begin()->first.first <= until) {
      now = std::max(now, tasks.begin()->first.first);
      auto task = std::move(tasks.begin()->second);
      tasks.erase(tasks.begin());
      lock.unlock();
      task();
      lock.lock();
    }
    now = until;
  }
  std::size_t pending() {
    std::lock_guard lock(mutex);
    return tasks.size();
  }

  std::mutex mutex;
  TimePoint now = TimePoint() + std::chrono::hours(1);
  TaskId next_id = 1;
  std::map<std::pair<TimePoint, TaskId>, std::function<void()>> tasks;
};

// Keeps the spans it is given, as a tracing backend would.
class FakeSpanSink final : public tracing::SpanSink {
 public:
  void Export(tracing::SpanData span) override {
    std::lock_guard lock(mutex);
    spans.push_back(std::move(span));
  }
  std::vector<tracing::SpanData> Spans() {
    std::lock_guard lock(mutex);
    return spans;
  }

  std::mutex mutex;
  std::vector<tracing::SpanData> spans;
};

}  // namespace clickstream::testing_support
