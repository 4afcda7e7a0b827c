#include "cli/post.h"

#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "cli/event_input.h"
#include "cli/flags.h"
#include "cli/http_client.h"
#include "cli/progress.h"

namespace clickstream::cli {
namespace {

constexpr const char* kUsage = R"(usage: clickstream post [FILE] [options]

Posts events to ingestion (POST /ingest/batch): NDJSON, one event per line, or one JSON array of events, from FILE
or, without one (or with -), from standard input. An event without an event_id is given one as it is read.

Each batch that gets no answer, or a 429 or 503, is posted again, and so is each event ingestion could not hand to
the broker (unavailable, overloaded): with the same event_ids, so an event whose acknowledgement was lost is not
counted twice. Waits start at 0.2 s and double, to 5 s. On a terminal a progress bar shows the rate and the time
left (on stderr); otherwise a line every 5 s. At the end, on stdout: how many events were accepted and refused, and
the reasons, each with how many and the first event (counted from 1) refused for it.

options:
  --ingest URL       ingestion's base URL (default http://127.0.0.1:8080)
  --api-key KEY      sent as X-API-Key
  --batch-size N     events per request, 1 to 1000 (default 500)
  --retries N        tries after the first, per batch (default 5)
  --timeout S        how long to wait for each answer (default 30)
  --help             this text

exit codes: 0 every event accepted; 1 some refused, or not acknowledged after the retries; 2 bad usage or input
that cannot be read
)";

constexpr std::size_t kMaxBatch = 1000;  // ingestion's default CLICKSTREAM_INGEST_BATCH_MAX_EVENTS
constexpr std::chrono::milliseconds kFirstWait{200};
constexpr std::chrono::milliseconds kLongestWait{5000};

struct Options {
  std::string file = "-";
  ServiceFlags ingest{"http://127.0.0.1:8080", "", std::chrono::seconds(30)};
  std::size_t batch_size = 500;
  std::size_t retries = 5;
};

std::optional<std::string> Parse(const std::vector<std::string>& args, Options& options, bool& help) {
  std::vector<std::string> rest = args;
  if (!rest.empty() && (rest[0] == "-" || rest[0].rfind('-', 0) != 0)) {
    options.file = rest[0];
    rest.erase(rest.begin());
  }
  return ParseCommandFlags(rest, "--ingest", options.ingest, help,
                           [&](const std::string& name, const std::string& value) -> std::optional<std::string> {
                             absl::StatusOr<std::size_t> count = 0;
                             if (name == "--batch-size") {
                               count = CountFlag(name, value, 1, kMaxBatch);
                               if (count.ok()) options.batch_size = *count;
                             } else if (name == "--retries") {
                               count = CountFlag(name, value, 0);
                               if (count.ok()) options.retries = *count;
                             } else {
                               return UnknownOption(name, "post");
                             }
                             if (!count.ok()) return std::string(count.status().message());
                             return std::nullopt;
                           });
}

// What became of the events so far, and why the refused ones were refused.
struct Tally {
  uint64_t read = 0, accepted = 0, rejected = 0;
  struct Reason {
    uint64_t count = 0;
    uint64_t first = 0;  // the first event refused for it, counted from 1
  };
  std::map<std::string, Reason> reasons;

  void Refuse(uint64_t event_number, const std::string& reason) {
    ++rejected;
    auto& entry = reasons[reason];
    if (entry.count++ == 0) entry.first = event_number;
  }
};

// One event of a batch still to be acknowledged: its text and its number in the input.
struct Pending {
  std::string text;
  uint64_t number = 0;
};

// An error's words: "code field: message", or "code: message".
std::string ReasonOf(std::string_view code, std::string_view field, std::string_view message) {
  std::string reason(code);
  if (!field.empty()) reason += " " + std::string(field);
  return reason + ": " + std::string(message);
}

// Applies a 200's per-event results to `batch`: accepted and refused-for-good events are tallied; the events to try
// again (not handed to the broker) are returned. nullopt when the answer is not a batch answer.
std::optional<std::vector<Pending>> ApplyResults(const std::string& body, const std::vector<Pending>& batch,
                                                 Tally& tally) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document document;
  simdjson::ondemand::array results;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS ||
      document["results"].get_array().get(results) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::vector<Pending> again;
  std::set<uint64_t> answered;
  for (auto element : results) {
    simdjson::ondemand::object result;
    uint64_t index = 0;
    std::string_view status;
    if (element.get_object().get(result) != simdjson::SUCCESS ||
        result["index"].get_uint64().get(index) != simdjson::SUCCESS || index >= batch.size() ||
        result["status"].get_string().get(status) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    answered.insert(index);
    if (status == "accepted") {
      ++tally.accepted;
      continue;
    }
    std::string_view code, message, field;
    simdjson::ondemand::object error;
    if (result["error"].get_object().get(error) == simdjson::SUCCESS) {
      for (auto part : error) {
        std::string_view key, text;
        if (part.unescaped_key().get(key) != simdjson::SUCCESS ||
            part.value().get_string().get(text) != simdjson::SUCCESS) {
          continue;
        }
        if (key == "code") {
          code = text;
        } else if (key == "message") {
          message = text;
        } else if (key == "field") {
          field = text;
        }
      }
    }
    // Not handed to the broker: ingestion says trying again may succeed.
    if (code == "unavailable" || code == "overloaded") {
      again.push_back(batch[index]);
    } else {
      tally.Refuse(batch[index].number, ReasonOf(code, field, message));
    }
  }
  if (answered.size() != batch.size()) return std::nullopt;
  return again;
}

std::string Ndjson(const std::vector<Pending>& batch) {
  std::string body;
  for (const auto& event : batch) body += event.text + "\n";
  return body;
}

// Posts `batch` until every event is answered for good or the tries run out; false when the service refuses the
// key (nothing later can succeed either).
bool PostBatch(HttpClient& ingest, const Options& options, std::vector<Pending> batch, Tally& tally) {
  auto wait = kFirstWait;
  std::string last_problem;
  for (std::size_t attempt = 0; attempt <= options.retries && !batch.empty(); ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(wait);
      wait = std::min(wait * 2, kLongestWait);
    }
    auto answer = ingest.Post(options.ingest.url + "/ingest/batch", Ndjson(batch), "application/x-ndjson",
                              options.ingest.timeout);
    if (!answer.ok()) {
      last_problem = "no answer: " + std::string(answer.status().message());
      continue;
    }
    if (answer->status == 200) {
      auto again = ApplyResults(answer->body, batch, tally);
      if (!again) {
        last_problem = "an answer that is not a batch answer: " + answer->body.substr(0, 200);
        continue;
      }
      batch = *std::move(again);
      last_problem = "not handed to the broker";
      continue;
    }
    last_problem = "HTTP " + std::to_string(answer->status) + ": " + answer->body.substr(0, 300);
    if (answer->status == 429 || answer->status >= 500) continue;
    // Refused whole for good (400, 401, 403, 413, 415): none of it can be accepted by trying again.
    for (const auto& event : batch) tally.Refuse(event.number, last_problem);
    return answer->status != 401 && answer->status != 403;
  }
  for (const auto& event : batch) {
    tally.Refuse(event.number, "not acknowledged after " + std::to_string(options.retries + 1) +
                                   " tries (last: " + last_problem + ")");
  }
  return true;
}

void PrintSummary(const Tally& tally) {
  std::printf("%llu events: %llu accepted, %llu refused\n", static_cast<unsigned long long>(tally.read),
              static_cast<unsigned long long>(tally.accepted), static_cast<unsigned long long>(tally.rejected));
  if (tally.reasons.empty()) return;
  std::printf("refused (how many, first event, why):\n");
  for (const auto& [reason, entry] : tally.reasons) {
    std::printf("  %llu\t%llu\t%s\n", static_cast<unsigned long long>(entry.count),
                static_cast<unsigned long long>(entry.first), reason.c_str());
  }
}

}  // namespace

int RunPost(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  const auto error = Parse(args, options, help);
  if (auto exit = EarlyExit("post", error, help, kUsage)) return *exit;
  auto input = EventInput::Open(options.file);
  if (!input.ok()) {
    std::fprintf(stderr, "clickstream post: %s\n", std::string(input.status().message()).c_str());
    return 2;
  }
  HttpClient ingest(ApiKeyHeaders(options.ingest.api_key));
  Progress progress(stderr, ::isatty(STDERR_FILENO) == 1);
  Tally tally;
  bool go_on = true;
  while (go_on) {
    auto events = (*input)->Next(options.batch_size);
    if (!events.ok()) {
      std::fprintf(stderr, "clickstream post: %s\n", std::string(events.status().message()).c_str());
      PrintSummary(tally);
      return 2;
    }
    if (events->empty()) break;
    std::vector<Pending> batch;
    for (auto& text : *events) batch.push_back({std::move(text), ++tally.read});
    go_on = PostBatch(ingest, options, std::move(batch), tally);
    progress.Update({tally.accepted + tally.rejected, tally.accepted, tally.rejected, (*input)->Fraction()});
  }
  progress.Finish({tally.accepted + tally.rejected, tally.accepted, tally.rejected, (*input)->Fraction()});
  if (!go_on) std::printf("stopped: ingestion refused the key; the events after these were not posted\n");
  PrintSummary(tally);
  return tally.rejected == 0 && go_on ? 0 : 1;
}

}  // namespace clickstream::cli
