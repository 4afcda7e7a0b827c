#include "services/common/access.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/files.h"

namespace clickstream::services {
namespace {

std::string Trimmed(std::string_view text) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
}

// Compares without an early exit: the loop always runs over the whole configured key.
bool ConstantTimeEquals(std::string_view configured, std::string_view presented) {
  unsigned char difference = configured.size() == presented.size() ? 0 : 1;
  for (std::size_t i = 0; i < configured.size(); ++i) {
    const char other = i < presented.size() ? presented[i] : 0;
    difference |= static_cast<unsigned char>(configured[i] ^ other);
  }
  return difference == 0;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> LoadApiKeys(std::string_view setting) {
  std::vector<std::string> keys;
  if (setting.starts_with("@")) {
    const std::string path(setting.substr(1));
    auto text = common::ReadWholeFile(path, "API key");
    if (!text.ok()) return text.status();
    for (absl::string_view line : absl::StrSplit(*text, '\n')) {
      std::string key = Trimmed(std::string_view(line.data(), line.size()));
      if (!key.empty() && key[0] != '#') keys.push_back(std::move(key));
    }
    if (keys.empty()) return absl::InvalidArgumentError("API key file " + path + " holds no key");
    return keys;
  }
  for (absl::string_view part : absl::StrSplit(absl::string_view(setting.data(), setting.size()), ',')) {
    std::string key = Trimmed(std::string_view(part.data(), part.size()));
    if (!key.empty()) keys.push_back(std::move(key));
  }
  return keys;
}

std::optional<std::size_t> ApiKeys::Match(std::string_view presented) const {
  std::optional<std::size_t> match;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (ConstantTimeEquals(keys_[i], presented) && !match) match = i;
  }
  return match;
}

std::string_view PresentedKey(const ports::HttpRequest& request) {
  if (!request.api_key.empty()) return request.api_key;
  std::string_view authorization = request.authorization;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      absl::EqualsIgnoreCase(absl::string_view(authorization.data(), kBearer.size()), "bearer ")) {
    return authorization.substr(kBearer.size());
  }
  return {};
}

RateLimiter::RateLimiter(std::size_t keys, double rate_per_second, double burst, ports::Clock& clock)
    : rate_(rate_per_second), burst_(std::max(burst, 1.0)), clock_(clock), buckets_(keys) {}

std::optional<std::chrono::milliseconds> RateLimiter::TryTake(std::size_t key, double cost) {
  if (!enabled()) return std::nullopt;
  const ports::Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mutex_);
  Bucket& bucket = buckets_.at(key);
  if (bucket.updated == ports::Clock::TimePoint{}) {
    bucket.tokens = burst_;  // a key starts with a full bucket
  } else {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
  }
  bucket.updated = now;
  if (bucket.tokens >= cost) {
    bucket.tokens -= cost;
    return std::nullopt;
  }
  const double wait_seconds = (cost - bucket.tokens) / rate_;
  // Rounded up: a client that waits this long finds its tokens there.
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait_seconds * 1000)));
}

absl::StatusOr<std::size_t> Authenticate(const ApiKeys& keys, std::string_view presented) {
  if (!keys.enabled()) return 0;
  if (auto match = keys.Match(presented)) return *match;
  return absl::UnauthenticatedError(presented.empty() ? "an API key is required (X-API-Key or Authorization: Bearer)"
                                                      : "the API key is not valid");
}

}  // namespace clickstream::services
