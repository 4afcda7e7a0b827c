#include "cli/tail.h"

#include <simdjson.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "cli/flags.h"
#include "cli/http_client.h"

namespace clickstream::cli {
namespace {

constexpr const char* kUsage = R"(usage: clickstream tail [--user-id ID [--page-url URL]] [options]

Live counts through the gateway, asked every --interval-ms: with --user-id and --page-url, that pair's count; with
--user-id alone, that user's top pages; with neither, the top pages across users. The first lines are the counts as
they are; then a line each time one changes. Each line: the local time, the count, its change since the line
before (+N), and what it counts. Runs until Ctrl-C (SIGINT), SIGTERM or --duration.

options:
  --gateway URL      the gateway's base URL (default http://127.0.0.1:8081)
  --api-key KEY      sent as X-API-Key
  --user-id ID       one user's pages, or with --page-url one pair
  --page-url URL     with --user-id: one pair
  --limit N          pages watched, 1 to 1000 (default 10)
  --interval-ms N    how often to ask, from 100 (default 1000)
  --duration S       stop after S seconds (default 0: never)
  --timeout S        how long to wait for each answer (default 10)
  --help             this text

exit codes: 0 stopped; 1 the gateway refused or did not answer three times running; 2 bad usage
)";

constexpr int kFailuresTolerated = 3;

struct Options {
  ServiceFlags gateway{"http://127.0.0.1:8081"};
  std::string user_id, page_url;
  std::size_t limit = 10;
  std::chrono::milliseconds interval{1000};
  std::chrono::seconds duration{0};
};

std::optional<std::string> Parse(const std::vector<std::string>& args, Options& options, bool& help) {
  auto error = ParseCommandFlags(args, "--gateway", options.gateway, help,
                                 [&](const std::string& name, const std::string& value) -> std::optional<std::string> {
                                   absl::StatusOr<std::size_t> count = 0;
                                   if (name == "--user-id") {
                                     options.user_id = value;
                                   } else if (name == "--page-url") {
                                     options.page_url = value;
                                   } else if (name == "--limit") {
                                     count = CountFlag(name, value, 1, 1000);
                                     if (count.ok()) options.limit = *count;
                                   } else if (name == "--interval-ms") {
                                     count = CountFlag(name, value, 100);
                                     if (count.ok()) options.interval = std::chrono::milliseconds(*count);
                                   } else if (name == "--duration") {
                                     count = CountFlag(name, value, 0);
                                     if (count.ok()) options.duration = std::chrono::seconds(*count);
                                   } else {
                                     return UnknownOption(name, "tail");
                                   }
                                   if (!count.ok()) return std::string(count.status().message());
                                   return std::nullopt;
                                 });
  if (error) return error;
  if (!options.page_url.empty() && options.user_id.empty()) return std::string("--page-url needs --user-id");
  return std::nullopt;
}

// What is watched, by name (a page, or the pair), and its count.
using Counts = std::map<std::string, int64_t>;

std::optional<Counts> ReadCounts(const std::string& body, bool pair, const std::string& pair_name) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document document;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS) return std::nullopt;
  Counts counts;
  if (pair) {
    int64_t count = 0;
    if (document["count"].get_int64().get(count) != simdjson::SUCCESS) return std::nullopt;
    counts[pair_name] = count;
    return counts;
  }
  simdjson::ondemand::array pages;
  if (document["pages"].get_array().get(pages) != simdjson::SUCCESS) return std::nullopt;
  for (auto element : pages) {
    simdjson::ondemand::object page;
    std::string_view url;
    int64_t clicks = 0;
    if (element.get_object().get(page) != simdjson::SUCCESS ||
        page["page_url"].get_string().get(url) != simdjson::SUCCESS ||
        page["clicks"].get_int64().get(clicks) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    counts[std::string(url)] = clicks;
  }
  return counts;
}

void PrintChanges(const Counts& before, const Counts& now) {
  const std::time_t clock = std::time(nullptr);
  std::tm local{};
  localtime_r(&clock, &local);
  char at[16];
  std::strftime(at, sizeof at, "%H:%M:%S", &local);
  for (const auto& [name, count] : now) {
    const auto earlier = before.find(name);
    const int64_t was = earlier == before.end() ? 0 : earlier->second;
    if (earlier != before.end() && was == count) continue;
    std::printf("%s\t%lld\t%+lld\t%s\n", at, static_cast<long long>(count), static_cast<long long>(count - was),
                name.c_str());
  }
  std::fflush(stdout);
}

// Waits `interval` for SIGINT or SIGTERM (blocked in every thread by main, so they arrive here); true when one came.
bool StopSignalWithin(std::chrono::milliseconds interval) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  const timespec wait{static_cast<time_t>(interval.count() / 1000),
                      static_cast<long>(interval.count() % 1000) * 1000000};
  return sigtimedwait(&signals, nullptr, &wait) > 0;
}

}  // namespace

int RunTail(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  const auto error = Parse(args, options, help);
  if (auto exit = EarlyExit("tail", error, help, kUsage)) return *exit;
  HttpClient gateway(ApiKeyHeaders(options.gateway.api_key));
  const bool pair = !options.page_url.empty();
  std::string url;
  if (pair) {
    url = options.gateway.url + "/analytics/events?user_id=" + gateway.Escape(options.user_id) +
          "&page_url=" + gateway.Escape(options.page_url);
  } else {
    url = options.gateway.url + "/analytics/top-pages?limit=" + std::to_string(options.limit) +
          (options.user_id.empty() ? "" : "&user_id=" + gateway.Escape(options.user_id));
  }
  const std::string pair_name = options.user_id + " " + options.page_url;
  const auto end = std::chrono::steady_clock::now() + options.duration;
  Counts shown;
  int failures = 0;
  do {
    auto answer = gateway.Get(url, options.gateway.timeout);
    std::optional<Counts> counts;
    if (answer.ok() && answer->status == 200) counts = ReadCounts(answer->body, pair, pair_name);
    if (!counts) {
      const std::string why = !answer.ok()            ? std::string(answer.status().message())
                              : answer->status != 200 ? "HTTP " + std::to_string(answer->status) + ": " + answer->body
                                                      : "an answer that is not a count";
      std::fprintf(stderr, "clickstream tail: %s\n", why.c_str());
      if (++failures >= kFailuresTolerated) return 1;
    } else {
      failures = 0;
      PrintChanges(shown, *counts);
      // A page that left the top keeps its last count here, so coming back shows only what changed.
      for (const auto& [name, count] : *counts) shown[name] = count;
    }
    if (options.duration.count() > 0 && std::chrono::steady_clock::now() >= end) break;
  } while (!StopSignalWithin(options.interval));
  return 0;
}

}  // namespace clickstream::cli
