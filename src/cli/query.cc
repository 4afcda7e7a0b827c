#include "cli/query.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/flags.h"
#include "cli/http_client.h"
#include "cli/json_fields.h"

namespace clickstream::cli {
namespace {

constexpr const char* kUsage = R"(usage: clickstream query --user-id ID --page-url URL [--position TOKEN] [options]

The count of one (user_id, page_url) pair as the gateway answers it (GET /analytics/events), and how fresh it is:
where it was read (cache or database), the event-log position it includes, the newest event time applied, how
long since the processor last moved it (age_ms) and the records still waiting (lag). With --position, a token
from an ingestion answer, the count includes that event: the gateway waits for it, within its bound.

options:
  --gateway URL       the gateway's base URL (default http://127.0.0.1:8081)
  --api-key KEY       sent as X-API-Key
  --user-id ID        the pair
  --page-url URL
  --position TOKEN    count at least the events up to this position
  --json              print the gateway's answer as it came
  --timeout S         how long to wait for the gateway (default 10)
  --help              this text

exit codes: 0 answered; 1 the gateway refused (a 503 when the position was not reached in time) or did not
answer; 2 bad usage
)";

struct Options {
  ServiceFlags gateway{"http://127.0.0.1:8081"};
  std::string user_id, page_url, position;
  bool json = false;
};

std::optional<std::string> Parse(const std::vector<std::string>& args, Options& options, bool& help) {
  std::vector<std::string> rest = args;
  options.json = TakeSwitch(rest, "--json");
  auto error = ParseCommandFlags(rest, "--gateway", options.gateway, help,
                                 [&](const std::string& name, const std::string& value) -> std::optional<std::string> {
                                   if (name == "--user-id") {
                                     options.user_id = value;
                                   } else if (name == "--page-url") {
                                     options.page_url = value;
                                   } else if (name == "--position") {
                                     options.position = value;
                                   } else {
                                     return UnknownOption(name, "query");
                                   }
                                   return std::nullopt;
                                 });
  if (error) return error;
  if (!help && (options.user_id.empty() || options.page_url.empty())) {
    return std::string("name the pair: --user-id and --page-url");
  }
  return std::nullopt;
}

int Print(const std::string& body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document document;
  int64_t count = 0;
  simdjson::ondemand::object freshness;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS ||
      document["count"].get_int64().get(count) != simdjson::SUCCESS) {
    std::printf("FAILED: the gateway's answer is not a count\n");
    return 1;
  }
  std::printf("count: %lld\n", static_cast<long long>(count));
  if (document["freshness"].get_object().get(freshness) == simdjson::SUCCESS) {
    const auto fields = FieldTexts(freshness);
    if (!fields) {
      std::printf("FAILED: the gateway's freshness is not readable\n");
      return 1;
    }
    for (const auto& [name, text] : *fields) std::printf("%s: %s\n", name.c_str(), text.c_str());
  }
  return 0;
}

}  // namespace

int RunQuery(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  const auto error = Parse(args, options, help);  // before `help` is read
  if (auto exit = EarlyExit("query", error, help, kUsage)) return *exit;
  HttpClient gateway(ApiKeyHeaders(options.gateway.api_key));
  std::string url = options.gateway.url + "/analytics/events?user_id=" + gateway.Escape(options.user_id) +
                    "&page_url=" + gateway.Escape(options.page_url);
  if (!options.position.empty()) url += "&position=" + gateway.Escape(options.position);
  const auto body = OkBody(gateway.Get(url, options.gateway.timeout));
  if (!body) return 1;
  if (options.json) {
    std::printf("%s\n", body->c_str());
    return 0;
  }
  return Print(*body);
}

}  // namespace clickstream::cli
