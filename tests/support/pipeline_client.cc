#include "support/pipeline_client.h"

#include <thread>

namespace clickstream::testing_support {
int64_t QueryCount(HttpConnection& gateway, const std::string& user_id, const std::string& page_url) {
  auto result =
      gateway.Request("GET", "/analytics/events?user_id=" + UrlEncode(user_id) + "&page_url=" + UrlEncode(page_url));
  if (result.status != 200) return -1;
  const auto at = result.body.find("\"count\":");
  return at == std::string::npos ? -1 : std::stoll(result.body.substr(at + 8));
}

std::map<Pair, int64_t> WaitForCounts(uint16_t gateway_port, const std::map<Pair, int64_t>& expected,
                                      std::chrono::seconds timeout) {
  HttpConnection gateway(gateway_port);
  std::map<Pair, int64_t> wrong;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    wrong.clear();
    for (const auto& [pair, count] : expected) {
      const int64_t seen = QueryCount(gateway, pair.first, pair.second);
      if (seen != count) wrong[pair] = seen;
    }
    if (wrong.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return wrong;
}

}  // namespace clickstream::testing_support
