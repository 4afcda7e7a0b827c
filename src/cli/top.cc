#include "cli/top.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/flags.h"
#include "cli/http_client.h"
#include "cli/json_fields.h"

namespace clickstream::cli {
namespace {

constexpr const char* kUsage = R"(usage: clickstream top [--user-id ID] [--limit N] [--after CURSOR] [options]
       clickstream top --event-types [--limit N] [options]

Pages by clicks, most first, as the gateway counts them (exactly: each event once): across users, with each
page's distinct users, or the pages of one user. With --event-types, event types by clicks instead. One line per
row: rank, clicks, users (across users only), then the page or type; a last line says how fresh they are (the
event-log position they include, the newest event time, the age of the last batch and the records waiting).

options:
  --gateway URL     the gateway's base URL (default http://127.0.0.1:8081)
  --api-key KEY     sent as X-API-Key
  --user-id ID      the pages of this user
  --limit N         rows at most, 1 to 1000 (default 10)
  --after CURSOR    the page of rows after an earlier answer's (printed at the end of a full page)
  --event-types     event types instead of pages
  --timeout S       how long to wait for the gateway (default 10)
  --help            this text

exit codes: 0 printed; 1 the gateway refused or did not answer; 2 bad usage
)";

struct Options {
  ServiceFlags gateway{"http://127.0.0.1:8081"};
  std::string user_id, after;
  std::optional<std::size_t> limit;
  bool event_types = false;
};

std::optional<std::string> Parse(const std::vector<std::string>& args, Options& options, bool& help) {
  std::vector<std::string> rest = args;
  options.event_types = TakeSwitch(rest, "--event-types");
  auto error = ParseCommandFlags(rest, "--gateway", options.gateway, help,
                                 [&](const std::string& name, const std::string& value) -> std::optional<std::string> {
                                   if (name == "--user-id") {
                                     options.user_id = value;
                                   } else if (name == "--after") {
                                     options.after = value;
                                   } else if (name == "--limit") {
                                     auto limit = CountFlag(name, value, 1);
                                     if (!limit.ok()) return std::string(limit.status().message());
                                     options.limit = *limit;
                                   } else {
                                     return UnknownOption(name, "top");
                                   }
                                   return std::nullopt;
                                 });
  if (error) return error;
  if (options.event_types && (!options.user_id.empty() || !options.after.empty())) {
    return std::string("--event-types takes neither --user-id nor --after");
  }
  return std::nullopt;
}

// Prints each object of the array `name` as a row: rank, the number fields, then the text field. False when the
// answer is not such a list.
bool PrintRows(simdjson::ondemand::document& document, const char* name, const char* text_field) {
  simdjson::ondemand::array rows;
  if (document[name].get_array().get(rows) != simdjson::SUCCESS) return false;
  std::size_t rank = 0;
  for (auto element : rows) {
    simdjson::ondemand::object row;
    if (element.get_object().get(row) != simdjson::SUCCESS) return false;
    std::string text, numbers;
    for (auto field : row) {
      std::string_view key, value;
      int64_t number = 0;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
      if (key == text_field && field.value().get_string().get(value) == simdjson::SUCCESS) {
        text = std::string(value);
      } else if (field.value().get_int64().get(number) == simdjson::SUCCESS) {
        numbers += std::to_string(number) + "\t";
      }
    }
    std::printf("%zu\t%s%s\n", ++rank, numbers.c_str(), text.c_str());
  }
  if (rank == 0) std::printf("nothing counted yet\n");
  return true;
}

// One line saying how far the numbers reach, from the answer's freshness: each field as "name value", null as
// "unknown". Nothing when the answer has none (a gateway from before the aggregates carried it).
bool PrintFreshness(simdjson::ondemand::document& document) {
  simdjson::ondemand::object freshness;
  if (document["freshness"].get_object().get(freshness) != simdjson::SUCCESS) return true;
  const auto fields = FieldTexts(freshness);
  if (!fields) return false;
  std::string line;
  for (const auto& [name, text] : *fields) {
    line += line.empty() ? "freshness: " : ", ";
    line += name;
    line += ' ';
    line += text;
  }
  std::printf("%s\n", line.c_str());
  return true;
}

int Print(const std::string& body, bool event_types) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document document;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS) {
    std::printf("FAILED: the gateway's answer is not JSON\n");
    return 1;
  }
  const bool printed =
      event_types ? PrintRows(document, "event_types", "event_type") : PrintRows(document, "pages", "page_url");
  if (!printed) {
    std::printf("FAILED: the gateway's answer is not a ranking\n");
    return 1;
  }
  std::string_view next;
  if (!event_types && document["next"].get_string().get(next) == simdjson::SUCCESS) {
    std::printf("more: --after %s\n", std::string(next).c_str());
  }
  if (!PrintFreshness(document)) {
    std::printf("FAILED: the gateway's freshness is not readable\n");
    return 1;
  }
  return 0;
}

}  // namespace

int RunTop(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  const auto error = Parse(args, options, help);  // before `help` is read
  if (auto exit = EarlyExit("top", error, help, kUsage)) return *exit;
  HttpClient gateway(ApiKeyHeaders(options.gateway.api_key));
  std::string query;
  auto add = [&](const char* name, const std::string& value) {
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + gateway.Escape(value);
  };
  if (options.limit) add("limit", std::to_string(*options.limit));
  if (!options.user_id.empty()) add("user_id", options.user_id);
  if (!options.after.empty()) add("after", options.after);
  const std::string path = options.event_types ? "/analytics/event-types" : "/analytics/top-pages";
  const auto body = OkBody(gateway.Get(options.gateway.url + path + query, options.gateway.timeout));
  if (!body) return 1;
  std::printf(options.event_types       ? "rank\tclicks\tevent_type\n"
              : options.user_id.empty() ? "rank\tclicks\tusers\tpage_url\n"
                                        : "rank\tclicks\tpage_url\n");
  return Print(*body, options.event_types);
}

}  // namespace clickstream::cli
