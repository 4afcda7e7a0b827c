#include "cli/reconcile.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>

#include "adapters/postgres/pg_table_audit.h"
#include "cli/flags.h"
#include "cli/http_client.h"
#include "common/json_text.h"

namespace clickstream::cli {
namespace {

constexpr const char* kUsage = R"(usage: clickstream reconcile --user-id ID --page-url URL [options]
       clickstream reconcile --database-url URL [options]

Checks counters against the events they count, and reports both numbers.

With --user-id and --page-url, asks the gateway about that pair (GET /analytics/reconcile): its counter and its raw
events, read in one database snapshot, and the cache's count, which may trail the counter but never pass it.

With --database-url, checks every counter in PostgreSQL against its raw events and finds events no counter counts,
in one snapshot (two full scans of each table: run it when the database can take it), and lists the pairs that
differ.

options:
  --gateway URL         the gateway's base URL (default http://127.0.0.1:8081)
  --user-id ID          the pair to check through the gateway
  --page-url URL
  --api-key KEY         sent as X-API-Key to the gateway
  --timeout S           how long to wait for the gateway (default 10)
  --database-url URL    check the whole table in this PostgreSQL
  --topic NAME          the topic whose applied position is reported (default clicks)
  --list N              drifting pairs to list at most (default 20)
  --help                this text

exit codes: 0 consistent; 1 drift found, or the gateway or database could not answer; 2 bad usage
)";

struct Options {
  ServiceFlags gateway{"http://127.0.0.1:8081"};
  std::string user_id;
  std::string page_url;
  std::string database_url;
  std::string topic = "clicks";
  std::size_t list = 20;
};

// An error message, or nullopt with `options` filled.
std::optional<std::string> Parse(const std::vector<std::string>& args, Options& options, bool& help) {
  bool user_given = false, page_given = false;
  auto error = ParseCommandFlags(args, "--gateway", options.gateway, help,
                                 [&](const std::string& name, const std::string& value) -> std::optional<std::string> {
                                   if (name == "--user-id") {
                                     options.user_id = value;
                                     user_given = true;
                                   } else if (name == "--page-url") {
                                     options.page_url = value;
                                     page_given = true;
                                   } else if (name == "--database-url") {
                                     options.database_url = value;
                                   } else if (name == "--topic") {
                                     options.topic = value;
                                   } else if (name == "--list") {
                                     auto count = CountFlag(name, value, 0);
                                     if (!count.ok()) return std::string(count.status().message());
                                     options.list = *count;
                                   } else {
                                     return UnknownOption(name, "reconcile");
                                   }
                                   return std::nullopt;
                                 });
  if (error) return error;
  if (help) return std::nullopt;
  if (user_given != page_given) return "--user-id and --page-url go together";
  if (user_given == !options.database_url.empty()) {
    return "give either --user-id and --page-url (one pair) or --database-url (the whole table)";
  }
  return std::nullopt;
}

std::string Quoted(const std::string& text) {
  std::string quoted;
  common::AppendJsonString(quoted, text);
  return quoted;
}

int ReconcilePair(const Options& options) {
  HttpClient gateway(ApiKeyHeaders(options.gateway.api_key));
  auto answer = gateway.Get(options.gateway.url + "/analytics/reconcile?user_id=" + gateway.Escape(options.user_id) +
                                "&page_url=" + gateway.Escape(options.page_url),
                            options.gateway.timeout);
  if (!answer.ok()) {
    std::printf("FAILED: %s\n", std::string(answer.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", answer->body.c_str());
  if (answer->status != 200) {
    std::printf("FAILED: the gateway answered %ld\n", answer->status);
    return 1;
  }
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(answer->body);
  simdjson::ondemand::document document;
  bool consistent = false;
  int64_t counter = 0, raw_rows = 0;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS ||
      document["consistent"].get_bool().get(consistent) != simdjson::SUCCESS ||
      document["counter"].get_int64().get(counter) != simdjson::SUCCESS ||
      document["raw_rows"].get_int64().get(raw_rows) != simdjson::SUCCESS) {
    std::printf("FAILED: the gateway's answer is not a reconciliation\n");
    return 1;
  }
  std::printf("result: %s (counter %lld, raw rows %lld)\n", consistent ? "consistent" : "DRIFT",
              static_cast<long long>(counter), static_cast<long long>(raw_rows));
  return consistent ? 0 : 1;
}

int ReconcileTable(const Options& options) {
  const auto started = std::chrono::steady_clock::now();
  auto audit = postgres::AuditTable(options.database_url, options.topic, options.list);
  if (!audit.ok()) {
    std::printf("FAILED: %s\n", std::string(audit.status().message()).c_str());
    return 1;
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("database: %lld pairs, %lld counted, %lld raw rows, position %s of %s (one snapshot, %.1f s)\n",
              static_cast<long long>(audit->pairs), static_cast<long long>(audit->counted),
              static_cast<long long>(audit->raw_rows),
              audit->position.empty() ? "(nothing applied)" : domain::PositionToken(audit->position).c_str(),
              options.topic.c_str(), took);
  for (const auto& pair : audit->listed) {
    std::printf("  user_id %s page_url %s: counter %lld, raw rows %lld\n", Quoted(pair.pair.user_id).c_str(),
                Quoted(pair.pair.page_url).c_str(), static_cast<long long>(pair.counter),
                static_cast<long long>(pair.raw_rows));
  }
  if (audit->drifting > static_cast<int64_t>(audit->listed.size())) {
    std::printf("  ... and %lld more\n",
                static_cast<long long>(audit->drifting) - static_cast<long long>(audit->listed.size()));
  }
  std::printf("result: %s (%lld of %lld pairs differ)\n", audit->drifting == 0 ? "consistent" : "DRIFT",
              static_cast<long long>(audit->drifting), static_cast<long long>(audit->pairs));
  return audit->drifting == 0 ? 0 : 1;
}

}  // namespace

int RunReconcile(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  const auto error = Parse(args, options, help);  // before `help` is read
  if (auto exit = EarlyExit("reconcile", error, help, kUsage)) return *exit;
  return options.database_url.empty() ? ReconcilePair(options) : ReconcileTable(options);
}

}  // namespace clickstream::cli
