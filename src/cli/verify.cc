#include "cli/verify.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/flags.h"
#include "cli/http_client.h"
#include "common/json_text.h"

namespace clickstream::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Pair = std::pair<std::string, std::string>;

constexpr const char* kUsage = R"(usage: clickstream verify [options]

Posts a tagged stream of click events to a running stack, some of them twice (as retrying clients do), waits until
the gateway counts every tagged (user, page) pair exactly, and with --database-url checks each pair's counter
against its raw rows in PostgreSQL. Starts, stops and restarts nothing; what it posts stays (tagged verify-...).

options:
  --ingest URL          ingestion's base URL (default http://127.0.0.1:8080)
  --gateway URL         the gateway's base URL (default http://127.0.0.1:8081)
  --events N            distinct events to post (default 1000)
  --pairs N             distinct (user, page) pairs they go to (default 20)
  --duplicates N        of those events, how many are posted a second time (default: a tenth)
  --timeout S           how long to wait for exact counts, and for each post to be acknowledged (default 30)
  --api-key KEY         sent as X-API-Key to ingestion and the gateway
  --database-url URL    PostgreSQL to check raw rows in (default: not checked)
  --help                this text

exit codes: 0 every count exact; 1 a count lost or doubled, or the stack refused or did not answer; 2 bad usage
)";

struct Options {
  std::string ingest = "http://127.0.0.1:8080";
  std::string gateway = "http://127.0.0.1:8081";
  std::size_t events = 1000;
  std::size_t pairs = 20;
  std::optional<std::size_t> duplicates;
  std::chrono::seconds timeout{30};
  std::string api_key;
  std::string database_url;
};

// An error message, or nullopt with `options` filled.
std::optional<std::string> Parse(const std::vector<std::string>& args, Options& options, bool& help) {
  auto flags = SplitFlags(args);
  if (!flags.ok()) return std::string(flags.status().message());
  help = flags->help;
  for (const auto& [name, value] : flags->values) {
    const auto count = [&, &name = name, &value = value](std::size_t& field, std::size_t min) {
      auto parsed = CountFlag(name, value, min);
      if (parsed.ok()) field = *parsed;
      return parsed.ok() ? std::nullopt : std::optional<std::string>(parsed.status().message());
    };
    std::optional<std::string> error;
    if (name == "--ingest") {
      options.ingest = value;
    } else if (name == "--gateway") {
      options.gateway = value;
    } else if (name == "--events") {
      error = count(options.events, 1);
    } else if (name == "--pairs") {
      error = count(options.pairs, 1);
    } else if (name == "--duplicates") {
      std::size_t duplicates = 0;
      error = count(duplicates, 0);
      options.duplicates = duplicates;
    } else if (name == "--timeout") {
      std::size_t seconds = 0;
      error = count(seconds, 1);
      options.timeout = std::chrono::seconds(seconds);
    } else if (name == "--api-key") {
      options.api_key = value;
    } else if (name == "--database-url") {
      options.database_url = value;
    } else {
      return "unknown option " + name + " (see clickstream verify --help)";
    }
    if (error) return error;
  }
  if (options.duplicates.value_or(0) > options.events) return "--duplicates cannot exceed --events";
  return std::nullopt;
}

std::string RandomHex(std::size_t digits) {
  static std::random_device device;
  std::string out;
  while (out.size() < digits) out += absl::StrCat(absl::Hex(device(), absl::kZeroPad8));
  return out.substr(0, digits);
}

// The tagged stream: event i goes to pair i % pairs; ids and pages are long random text, as real ones are.
class Stream {
 public:
  explicit Stream(const Options& options) : tag_("verify-" + RandomHex(16)) {
    for (std::size_t k = 0; k < options.pairs; ++k) {
      pairs_.emplace_back(absl::StrCat(tag_, "-user-", RandomHex(12)), absl::StrCat("/verify/", RandomHex(24), "/", k));
    }
  }
  const std::string& tag() const { return tag_; }
  const std::vector<Pair>& pairs() const { return pairs_; }
  const Pair& PairOf(std::size_t i) const { return pairs_[i % pairs_.size()]; }
  std::string EventId(std::size_t i) const { return tag_ + "-evt-" + std::to_string(i); }
  // Without time_stamp, unlike domain::ToJson: ingestion stamps it, so this machine's clock cannot get an event
  // refused.
  std::string Body(std::size_t i) const {
    std::string body = "{\"event_id\":";
    common::AppendJsonString(body, EventId(i));
    body += ",\"user_id\":";
    common::AppendJsonString(body, PairOf(i).first);
    body += ",\"event_type\":\"click\",\"page_url\":";
    common::AppendJsonString(body, PairOf(i).second);
    body += "}";
    return body;
  }

 private:
  std::string tag_;
  std::vector<Pair> pairs_;
};

// Posts until acknowledged, retrying what the stack asks to be retried (429, 503) and what got no answer, with
// the same event_id. Returns the error that ended it otherwise.
std::optional<std::string> PostUntilAcknowledged(HttpClient& client, const std::string& url, const std::string& body,
                                                 Clock::time_point give_up, int& retries) {
  std::string last;
  while (Clock::now() < give_up) {
    auto answer = client.Post(url, body, "application/json", milliseconds(10000));
    if (answer.ok() && answer->status == 200) return std::nullopt;
    if (answer.ok() && answer->status != 429 && answer->status != 503) {
      return "ingestion refused a valid event with " + std::to_string(answer->status) + ": " + answer->body;
    }
    last = answer.ok() ? std::to_string(answer->status) + " " + answer->body : std::string(answer.status().message());
    ++retries;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return "no acknowledgement within the timeout; last answer: " + last;
}

std::optional<int64_t> CountOf(HttpClient& client, const std::string& gateway, const Pair& pair) {
  auto answer = client.Get(
      gateway + "/analytics/events?user_id=" + client.Escape(pair.first) + "&page_url=" + client.Escape(pair.second),
      milliseconds(5000));
  if (!answer.ok() || answer->status != 200) return std::nullopt;
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(answer->body);
  simdjson::ondemand::document document;
  int64_t count = 0;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS) return std::nullopt;
  if (document["count"].get_int64().get(count) != simdjson::SUCCESS) return std::nullopt;
  return count;
}

struct Mismatch {
  int64_t expected = 0;
  std::optional<int64_t> seen;
};

// Rows and counters of the tagged pairs against the acknowledged ids; one line per disagreement.
std::vector<std::string> CheckDatabase(const std::string& url, const Stream& stream,
                                       const std::map<Pair, std::set<std::string>>& acknowledged, int64_t& rows) {
  std::vector<std::string> problems;
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  std::map<Pair, std::set<std::string>> stored;
  for (const auto& row : tx.exec_params("SELECT user_id, page_url, event_id FROM click_events WHERE event_id LIKE $1",
                                        stream.tag() + "-evt-%")) {
    stored[{row[0].as<std::string>(), row[1].as<std::string>()}].insert(row[2].as<std::string>());
    ++rows;
  }
  for (const auto& [pair, ids] : acknowledged) {
    const auto counter = tx.exec_params(
        "SELECT click_count FROM page_clicks WHERE pair_key = clickstream_pair_key($1, $2)", pair.first, pair.second);
    const int64_t count = counter.empty() ? 0 : counter[0][0].as<int64_t>();
    const auto& rows_of_pair = stored[pair];
    std::size_t missing = 0, extra = 0;
    for (const auto& id : ids) missing += rows_of_pair.count(id) == 0;
    for (const auto& id : rows_of_pair) extra += ids.count(id) == 0;
    if (missing > 0 || extra > 0 || count != static_cast<int64_t>(rows_of_pair.size())) {
      problems.push_back(absl::StrCat(pair.first, " ", pair.second, ": counter ", count, ", rows ", rows_of_pair.size(),
                                      ", acknowledged ", ids.size(), " (", missing, " acknowledged without a row, ",
                                      extra, " rows never acknowledged)"));
    }
  }
  return problems;
}

}  // namespace

int RunVerify(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  const auto error = Parse(args, options, help);  // before `help` is read
  if (auto exit = EarlyExit("verify", error, help, kUsage)) return *exit;
  const std::size_t duplicates = options.duplicates.value_or(options.events / 10);
  const auto headers = ApiKeyHeaders(options.api_key);
  HttpClient ingest(headers), gateway(headers);
  const Stream stream(options);
  std::printf("clickstream verify: run %s: %zu events over %zu pairs to %s, %zu of them twice\n", stream.tag().c_str(),
              options.events, options.pairs, options.ingest.c_str(), duplicates);

  const std::string ingest_url = options.ingest + "/ingest";
  const auto started = Clock::now();
  std::map<Pair, std::set<std::string>> acknowledged;
  for (const auto& pair : stream.pairs()) acknowledged[pair];
  int retries = 0;
  for (std::size_t i = 0; i < options.events + duplicates; ++i) {
    const std::size_t event = i < options.events ? i : i - options.events;  // the duplicates: the first events again
    if (auto error =
            PostUntilAcknowledged(ingest, ingest_url, stream.Body(event), Clock::now() + options.timeout, retries)) {
      std::printf("FAILED: event %s: %s\n", stream.EventId(event).c_str(), error->c_str());
      return 1;
    }
    acknowledged[stream.PairOf(event)].insert(stream.EventId(event));
  }
  const double post_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("posted: %zu posts acknowledged in %.1f s (%.0f/s), %d retried\n", options.events + duplicates, post_s,
              static_cast<double>(options.events + duplicates) / post_s, retries);

  // Until every pair's count is exact, or the timeout: a count still rising is not yet wrong. Exact means exact in
  // two reads of every pair half a second apart, so a count passing through the right number on its way past it
  // (an event counted twice, late) is not taken for right.
  std::map<Pair, Mismatch> waiting;
  const auto counts_started = Clock::now();
  const auto deadline = counts_started + options.timeout;
  bool confirming = false;
  while (true) {
    waiting.clear();
    for (const auto& [pair, ids] : acknowledged) {
      const Mismatch read{static_cast<int64_t>(ids.size()), CountOf(gateway, options.gateway, pair)};
      if (read.seen != read.expected) waiting.emplace(pair, read);
    }
    if (waiting.empty() && confirming) break;
    if (Clock::now() >= deadline) break;
    confirming = waiting.empty();
    std::this_thread::sleep_for(milliseconds(confirming ? 500 : 100));
  }
  const double counts_s = std::chrono::duration<double>(Clock::now() - counts_started).count();
  bool exact = waiting.empty();
  std::printf("gateway: %zu of %zu pairs exact after %.1f s\n", options.pairs - waiting.size(), options.pairs,
              counts_s);
  for (const auto& [pair, mismatch] : waiting) {
    const std::string seen = mismatch.seen ? std::to_string(*mismatch.seen) : "no answer";
    const char* verdict = !mismatch.seen ? "" : *mismatch.seen < mismatch.expected ? " (lost)" : " (double counted)";
    std::printf("  %s %s: expected %lld, gateway says %s%s\n", pair.first.c_str(), pair.second.c_str(),
                static_cast<long long>(mismatch.expected), seen.c_str(), verdict);
  }

  if (!options.database_url.empty()) {
    try {
      int64_t rows = 0;
      const auto problems = CheckDatabase(options.database_url, stream, acknowledged, rows);
      std::printf(
          "database: %lld raw rows for %zu events; %zu of %zu counters equal their rows and the acknowledged "
          "event_ids\n",
          static_cast<long long>(rows), options.events, options.pairs - problems.size(), options.pairs);
      for (const auto& problem : problems) std::printf("  %s\n", problem.c_str());
      exact = exact && problems.empty();
    } catch (const std::exception& error) {
      std::printf("FAILED: database check: %s\n", error.what());
      return 1;
    }
  }
  std::printf("result: %s\n", exact ? "exact" : "NOT EXACT");
  return exact ? 0 : 1;
}

}  // namespace clickstream::cli
