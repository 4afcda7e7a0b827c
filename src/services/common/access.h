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

// Token buckets, one per key index: `rate` tokens a second, at most `burst` saved up. Thread-safe.
class RateLimiter {
 public:
  RateLimiter(std::size_t keys, double rate_per_second, double burst);
  bool enabled() const { return rate_ > 0; }
  // Takes `cost` tokens from the key's bucket; on refusal, how long until they would be there.
  std::optional<std::chrono::milliseconds> TryTake(std::size_t key, double cost,
                                                   std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated{};
  };
  const double rate_;
  const double burst_;
  std::mutex mutex_;
  std::vector<Bucket> buckets_;
};

// The answer for a request that presents no valid key (401, with WWW-Authenticate), or nullopt when it may pass;
// `key_index` receives the matched key.
std::optional<ports::HttpResponse> CheckAccess(const ApiKeys& keys, const ports::HttpRequest& request,
                                               std::size_t& key_index);

}  // namespace clickstream::services
