#include "cli/dead_letters.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "cli/flags.h"
#include "cli/http_client.h"

namespace clickstream::cli {
namespace {

constexpr const char* kUsage = R"(usage: clickstream dead-letters list [options]
       clickstream dead-letters replay (--ids ID,... | --reason CODE | --since T --until T) [options]

The records the processor could not count, kept in the dead-letter ledger. `list` prints them, oldest first, one
per line: id, when, reason code, replays so far, source (topic/partition/offset) and reason. `replay` validates the
chosen letters again with today's limits and publishes the valid ones to the event log again; a letter replayed
twice still counts once (its event_id).

options:
  --gateway URL     the gateway's base URL (default http://127.0.0.1:8081)
  --api-key KEY     sent as X-API-Key
  --ids ID,...      these letters
  --reason CODE     letters of this reason code (invalid, time_stamp_too_old, time_stamp_too_far_ahead, refused)
  --since T         dead-lettered at or after T (RFC 3339, e.g. 2026-12-01T00:00:00Z)
  --until T         dead-lettered before T
  --after ID        list: the page after this id (printed at the end of a full page)
  --limit N         letters at most (default 100)
  --timeout S       how long to wait for the gateway (default 60)
  --help            this text

exit codes: 0 done (for replay: every letter replayed); 1 a letter not replayed, or the gateway refused or did not
answer; 2 bad usage
)";

// The gateway's query-string names of the filter options.
const std::map<std::string, std::string> kFilterOptions = {{"--ids", "ids"},     {"--reason", "reason"},
                                                           {"--since", "since"}, {"--until", "until"},
                                                           {"--after", "after"}, {"--limit", "limit"}};

struct Options {
  std::string command;
  ServiceFlags gateway{"http://127.0.0.1:8081", "", std::chrono::seconds(60)};
  std::vector<std::pair<std::string, std::string>> filter;  // query-string name, value
};

std::optional<std::string> Parse(const std::vector<std::string>& args, Options& options, bool& help) {
  if (args.empty() || (args[0] != "list" && args[0] != "replay")) {
    help = !args.empty() && (args[0] == "--help" || args[0] == "-h");
    return help ? std::nullopt : std::optional<std::string>("name a command: list or replay");
  }
  options.command = args[0];
  return ParseCommandFlags({args.begin() + 1, args.end()}, "--gateway", options.gateway, help,
                           [&](const std::string& name, const std::string& value) -> std::optional<std::string> {
                             const auto filter = kFilterOptions.find(name);
                             if (filter == kFilterOptions.end()) return UnknownOption(name, "dead-letters");
                             options.filter.emplace_back(filter->second, value);
                             return std::nullopt;
                           });
}

std::string Text(simdjson::ondemand::value value) {
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  return "-";
}

int64_t Number(simdjson::ondemand::value value) {
  int64_t number = 0;
  return value.get_int64().get(number) == simdjson::SUCCESS ? number : -1;
}

int PrintList(const std::string& body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document document;
  simdjson::ondemand::array letters;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS ||
      document["dead_letters"].get_array().get(letters) != simdjson::SUCCESS) {
    std::printf("FAILED: the gateway's answer is not a list of dead letters\n");
    return 1;
  }
  std::size_t count = 0;
  for (auto element : letters) {
    simdjson::ondemand::object letter;
    if (element.get_object().get(letter) != simdjson::SUCCESS) return 1;
    int64_t id = 0, replays = 0, partition = 0, offset = 0;
    std::string when, code, reason, topic;
    for (auto field : letter) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) continue;
      if (key == "id") id = Number(field.value());
      if (key == "replays") replays = Number(field.value());
      if (key == "dead_lettered_at") when = Text(field.value());
      if (key == "reason_code") code = Text(field.value());
      if (key == "reason") reason = Text(field.value());
      if (key == "source") {
        simdjson::ondemand::object source;
        if (field.value().get_object().get(source) != simdjson::SUCCESS) continue;
        for (auto part : source) {
          std::string_view name;
          if (part.unescaped_key().get(name) != simdjson::SUCCESS) continue;
          if (name == "topic") topic = Text(part.value());
          if (name == "partition") partition = Number(part.value());
          if (name == "offset") offset = Number(part.value());
        }
      }
    }
    std::printf("%lld %s %s replays=%lld %s/%lld/%lld %s\n", static_cast<long long>(id), when.c_str(), code.c_str(),
                static_cast<long long>(replays), topic.c_str(), static_cast<long long>(partition),
                static_cast<long long>(offset), reason.c_str());
    ++count;
  }
  int64_t next = 0;
  if (document["next_after"].get_int64().get(next) == simdjson::SUCCESS) {
    std::printf("%zu letters; more after: --after %lld\n", count, static_cast<long long>(next));
  } else {
    std::printf("%zu letters\n", count);
  }
  return 0;
}

int PrintReplay(const std::string& body) {
  std::printf("%s\n", body.c_str());
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document document;
  int64_t replayed = 0, invalid = 0, failed = 0;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS ||
      document["replayed"].get_int64().get(replayed) != simdjson::SUCCESS ||
      document["invalid"].get_int64().get(invalid) != simdjson::SUCCESS ||
      document["failed"].get_int64().get(failed) != simdjson::SUCCESS) {
    std::printf("FAILED: the gateway's answer is not a replay's\n");
    return 1;
  }
  std::printf("result: %lld replayed, %lld still invalid, %lld failed\n", static_cast<long long>(replayed),
              static_cast<long long>(invalid), static_cast<long long>(failed));
  return invalid == 0 && failed == 0 ? 0 : 1;
}

}  // namespace

int RunDeadLetters(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  const auto error = Parse(args, options, help);  // before `help` is read
  if (auto exit = EarlyExit("dead-letters", error, help, kUsage)) return *exit;
  HttpClient gateway(ApiKeyHeaders(options.gateway.api_key));
  std::string query;
  for (const auto& [name, value] : options.filter)
    query += (query.empty() ? "?" : "&") + name + "=" + gateway.Escape(value);
  const bool list = options.command == "list";
  const auto body = OkBody(
      list ? gateway.Get(options.gateway.url + "/dead-letters" + query, options.gateway.timeout)
           : gateway.Post(options.gateway.url + "/dead-letters/replay" + query, "", "", options.gateway.timeout));
  if (!body) return 1;
  return list ? PrintList(*body) : PrintReplay(*body);
}

}  // namespace clickstream::cli
