// CountCache over Redis (hiredis). Writes are a monotonic max done by a Lua script, so neither the processor nor a
// reader refilling after a miss can replace a newer count with an older one. While Redis is unreachable, calls
// fail fast with UNAVAILABLE: after a failure no new connection is tried for `reconnect_backoff`.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "ports/count_cache.h"

struct redisContext;

namespace clickstream::redis {

struct RedisOptions {
  std::string address = "127.0.0.1:6379";  // host:port
  std::chrono::milliseconds timeout{200};  // connect and per-command
  std::chrono::seconds ttl{86400};         // safety net only: counts stay exact without it
  std::chrono::milliseconds reconnect_backoff{1000};
  metrics::Registry* metrics = nullptr;  // latency and errors by operation go here when set
};

// Set while InvalidateAll deletes keys (and, should it fail half-way, until it expires or a retry finishes): reads
// then answer every pair as a miss, so a stale count still waiting for its DEL is never served. Outside the count
// keys' prefix, so the SCAN of InvalidateAll never matches it.
inline constexpr std::string_view kInvalidatingKey = "clickstream:cache-invalidating";

// The hash in which the processor records how far the cache reaches (RecordApplied): a field "p<partition>" per
// partition with its next offset, "newest_us" and "written_ms" (Redis' own clock). Outside the count keys' prefix.
inline constexpr std::string_view kAppliedKey = "clickstream:cache-applied";

class RedisCountCache final : public ports::CountCache {
 public:
  explicit RedisCountCache(RedisOptions options);
  ~RedisCountCache() override;

  // ports::CountCache. Thread-safe: each call borrows a connection of its own.
  absl::StatusOr<std::optional<int64_t>> Get(std::string_view user_id, std::string_view page_url) override;
  absl::StatusOr<ports::CachedCounts> GetMany(const std::vector<domain::CountQuery>& pairs) override;
  absl::Status RaiseTo(const std::vector<domain::PageCount>& counts) override;
  absl::Status RecordApplied(const domain::Position& applied, int64_t newest_event_time_us) override;
  absl::Status InvalidateAll() override;
  absl::Status Ping() override;

 private:
  struct Connection;
  absl::StatusOr<std::optional<int64_t>> GetUntimed(std::string_view user_id, std::string_view page_url);
  absl::StatusOr<ports::CachedCounts> GetManyUntimed(const std::vector<domain::CountQuery>& pairs);
  absl::Status RecordAppliedUntimed(const domain::Position& applied, int64_t newest_event_time_us);
  absl::Status RaiseToUntimed(const std::vector<domain::PageCount>& counts);
  absl::Status InvalidateAllUntimed();
  absl::StatusOr<std::unique_ptr<Connection>> Borrow();
  void Return(std::unique_ptr<Connection> connection);
  absl::Status Failed(std::string_view what, const std::string& detail);
  absl::Status RaiseChunk(Connection& connection, const std::vector<domain::PageCount>& counts, std::size_t begin,
                          std::size_t end);

  // Times one operation: records its latency, and an error unless `status` is OK.
  absl::Status Timed(const char* operation, std::chrono::steady_clock::time_point start, absl::Status status);

  const RedisOptions options_;
  std::unique_ptr<metrics::Registry> own_metrics_;
  metrics::Registry& metrics_;
  std::string host_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::atomic<int64_t> next_connect_after_ns_{0};  // steady-clock time before which no connect is tried
};

}  // namespace clickstream::redis
