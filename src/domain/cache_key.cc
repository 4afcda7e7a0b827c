#include "domain/cache_key.h"

namespace clickstream::domain {

std::string CountCacheKey(std::string_view user_id, std::string_view page_url) {
  std::string key(kCountKeyPrefix);
  key.reserve(key.size() + user_id.size() + page_url.size() + 16);
  key += std::to_string(user_id.size());
  key += ':';
  key += user_id;
  key += ':';
  key += std::to_string(page_url.size());
  key += ':';
  key += page_url;
  return key;
}

}  // namespace clickstream::domain
