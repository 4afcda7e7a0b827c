#include "services/gateway/dead_letter_routes.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "common/json_text.h"
#include "domain/click_event.h"
#include "domain/dead_letter.h"
#include "domain/field_error.h"
#include "services/common/access.h"
#include "services/common/http_answers.h"
#include "services/common/query_params.h"

namespace clickstream::gateway {
namespace {

constexpr std::size_t kDefaultLimit = 100;

absl::StatusOr<domain::DeadLetterFilter> FilterOf(const std::map<std::string, std::string>& parameters,
                                                  std::size_t max_limit) {
  domain::DeadLetterFilter filter;
  filter.limit = kDefaultLimit;
  for (const auto& [name, value] : parameters) {
    if (name == "ids") {
      for (const auto part : absl::StrSplit(value, ',')) {
        auto id = services::WholeNumber("ids", std::string(part), 1);
        if (!id.ok()) return id.status();
        filter.ids.push_back(*id);
      }
    } else if (name == "reason") {
      // A code no letter can have would select nothing, silently: a misspelt reason must say so.
      if (value != domain::kReasonInvalid && value != domain::kReasonTooOld && value != domain::kReasonTooFarAhead &&
          value != domain::kReasonRefused) {
        return domain::InvalidField(name,
                                    "reason must be invalid, time_stamp_too_old, time_stamp_too_far_ahead or "
                                    "refused");
      }
      filter.reason_code = value;
    } else if (name == "since" || name == "until") {
      auto at = services::Instant(name, value);
      if (!at.ok()) return at.status();
      (name == "since" ? filter.since_us : filter.until_us) = *at;
    } else if (name == "after") {
      auto after = services::WholeNumber("after", value, 0);
      if (!after.ok()) return after.status();
      filter.after_id = *after;
    } else if (name == "limit") {
      auto limit = services::Limit("limit", value, max_limit);
      if (!limit.ok()) return limit.status();
      filter.limit = *limit;
    } else {
      return domain::InvalidField(
          name, "unknown parameter " + name + " (ids, reason, since, until, after and limit choose dead letters)");
    }
  }
  return filter;
}

// An instant in µs as RFC 3339 text, or null for 0.
void AppendTime(std::string& body, int64_t us) {
  if (us <= 0) {
    body += "null";
  } else {
    common::AppendJsonString(body, domain::FormatTimestamp(us));
  }
}

// The record's bytes as "name": their text when they are UTF-8, else "name_base64": their base64.
void AppendBytes(std::string& body, const std::string& name, const std::string& bytes) {
  if (domain::IsUtf8(bytes)) {
    body += "\"" + name + "\":";
    common::AppendJsonString(body, bytes);
  } else {
    body += "\"" + name + "_base64\":";
    common::AppendJsonString(body, absl::Base64Escape(bytes));
  }
}

std::string LettersJson(const std::vector<domain::DeadLetter>& letters, std::size_t limit) {
  std::string body = "{\"dead_letters\":[";
  for (const auto& letter : letters) {
    if (body.back() != '[') body += ',';
    body += "{\"id\":" + std::to_string(letter.id) + ",\"source\":{\"topic\":";
    common::AppendJsonString(body, letter.source_topic);
    body += ",\"partition\":" + std::to_string(letter.source_partition) +
            ",\"offset\":" + std::to_string(letter.source_offset) + "},\"reason_code\":";
    common::AppendJsonString(body, letter.reason_code);
    body += ",\"reason\":";
    common::AppendJsonString(body, letter.reason);
    body += ',';
    AppendBytes(body, "key", letter.key);
    body += ',';
    AppendBytes(body, "value", letter.value);
    body += ",\"record_time\":";
    AppendTime(body, letter.record_time_ms * 1000);
    body += ",\"dead_lettered_at\":";
    AppendTime(body, letter.dead_lettered_us);
    body += ",\"replays\":" + std::to_string(letter.replays) + ",\"last_replayed_at\":";
    AppendTime(body, letter.last_replayed_us);
    body += ",\"replay_position\":";
    if (letter.replay_position.empty()) {
      body += "null";
    } else {
      common::AppendJsonString(body, letter.replay_position);
    }
    body += '}';
  }
  // A full page may have a next one: `after` this id.
  body += "],\"next_after\":";
  body += letters.size() == limit && !letters.empty() ? std::to_string(letters.back().id) : "null";
  body += '}';
  return body;
}

std::string OutcomesJson(const std::vector<domain::ReplayOutcome>& outcomes) {
  std::size_t counts[3] = {0, 0, 0};
  std::string results;
  for (const auto& outcome : outcomes) {
    ++counts[static_cast<int>(outcome.kind)];
    results += results.empty() ? "" : ",";
    results += "{\"id\":" + std::to_string(outcome.id) + ",\"outcome\":\"" + domain::OutcomeName(outcome.kind) + "\"";
    if (!outcome.position.empty()) {
      results += ",\"position\":";
      common::AppendJsonString(results, outcome.position);
    }
    if (!outcome.message.empty()) {
      results += ",\"message\":";
      common::AppendJsonString(results, outcome.message);
    }
    results += '}';
  }
  using Kind = domain::ReplayOutcome::Kind;
  return "{\"replayed\":" + std::to_string(counts[static_cast<int>(Kind::kReplayed)]) +
         ",\"invalid\":" + std::to_string(counts[static_cast<int>(Kind::kInvalid)]) +
         ",\"failed\":" + std::to_string(counts[static_cast<int>(Kind::kFailed)]) + ",\"results\":[" + results + "]}";
}

class Routes {
 public:
  Routes(ports::DeadLetterClient& client, DeadLetterRouteOptions options)
      : client_(client), options_(std::move(options)), keys_(options_.api_keys) {}

  void List(const ports::HttpRequest& request, ports::Respond respond) {
    auto filter = Admit(request);
    if (!filter.ok()) return respond(services::ErrorResponse(filter.status()));
    const std::size_t limit = filter->limit;
    client_.ListDeadLetters(*filter, Deadline(), [respond = std::move(respond), limit](auto letters) {
      respond(letters.ok() ? services::JsonResponse(LettersJson(*letters, limit))
                           : services::ErrorResponse(letters.status()));
    });
  }

  void Replay(const ports::HttpRequest& request, ports::Respond respond) {
    auto filter = Admit(request);
    if (!filter.ok()) return respond(services::ErrorResponse(filter.status()));
    if (filter->ids.empty() && filter->reason_code.empty() && filter->since_us == 0 && filter->until_us == 0) {
      return respond(services::ErrorResponse(
          domain::InvalidField("ids", "name the dead letters to replay: ids, a reason, or since and until")));
    }
    client_.ReplayDeadLetters(*filter, Deadline(), [respond = std::move(respond)](auto outcomes) {
      respond(outcomes.ok() ? services::JsonResponse(OutcomesJson(*outcomes))
                            : services::ErrorResponse(outcomes.status()));
    });
  }

 private:
  absl::StatusOr<domain::DeadLetterFilter> Admit(const ports::HttpRequest& request) const {
    if (auto key = services::Authenticate(keys_, services::PresentedKey(request)); !key.ok()) return key.status();
    return FilterOf(request.query, options_.max_limit);
  }

  ports::DeadLetterClient::Deadline Deadline() const { return std::chrono::steady_clock::now() + options_.deadline; }

  ports::DeadLetterClient& client_;
  const DeadLetterRouteOptions options_;
  const services::ApiKeys keys_;
};

}  // namespace

std::vector<ports::HttpRoute> DeadLetterRoutes(ports::DeadLetterClient& client, DeadLetterRouteOptions options) {
  auto routes = std::make_shared<Routes>(client, std::move(options));
  return {{"GET", "/dead-letters",
           [routes](const ports::HttpRequest& request, ports::Respond respond) {
             routes->List(request, std::move(respond));
           }},
          {"POST", "/dead-letters/replay", [routes](const ports::HttpRequest& request, ports::Respond respond) {
             routes->Replay(request, std::move(respond));
           }}};
}

}  // namespace clickstream::gateway
