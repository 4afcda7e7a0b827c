// Access control for the HTTP services: optional API keys (compared in constant time) and a per-key rate limit
// (a token bucket per key). Both are off when no keys are configured, as in a local run.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ports/http.h"
#include "ports/timer.h"

namespace clickstream::services {

// Reads a key setting: "" (no keys: open), "k1,k2" (a list), or "@/path" (a file, one key per line; blank lines and
// lines starting with '#' are skipped). Errors name the file but never a key.
absl::StatusOr<std::vector<std::string>> LoadApiKeys(std::string_view setting);

class ApiKeys {
 public:
  explicit ApiKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  bool enabled() const { return !keys_.empty(); }
  std::size_t size() const { return keys_.size(); }

  // The index of the key `presented` equals, or nullopt. Every configured key is compared over its whole length
  // whatever matches, so the time taken does not tell how much of a key was right.
  std::optional<std::size_t> Match(std::string_view presented) const;

 private:
  std::vector<std::string> keys_;
};

// The key a request presents: "X-API-Key: <key>" or "Authorization: Bearer <key>"; empty when neither.
std::string_view PresentedKey(const ports::HttpRequest& request);

// Token buckets, one per key index: `rate` tokens a second, at most `burst` saved up, refilled by `clock`'s time
// (which must outlive the limiter). Thread-safe.
class RateLimiter {
 public:
  RateLimiter(std::size_t keys, double rate_per_second, double burst, ports::Clock& clock);
  bool enabled() const { return rate_ > 0; }
  // Takes `cost` tokens from the key's bucket; on refusal, how long until they would be there.
  std::optional<std::chrono::milliseconds> TryTake(std::size_t key, double cost);

 private:
  struct Bucket {
    double tokens = 0;
    ports::Clock::TimePoint updated{};
  };
  const double rate_;
  const double burst_;
  ports::Clock& clock_;
  std::mutex mutex_;
  std::vector<Bucket> buckets_;
};

// The index of the key `presented` matches (0 when no keys are configured: access is open), or UNAUTHENTICATED
// saying whether a key was missing or wrong.
absl::StatusOr<std::size_t> Authenticate(const ApiKeys& keys, std::string_view presented);

}  // namespace clickstream::services
