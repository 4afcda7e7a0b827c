#include "domain/count_query.h"

#include <simdjson.h>

#include "absl/strings/ascii.h"
#include "common/status_mapping.h"

namespace clickstream::domain {
namespace {

using common::InvalidField;

absl::Status ReadBody(std::string_view json_body, CountQuery& query) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (parser.parse(json_body.data(), json_body.size()).get(root) != simdjson::SUCCESS ||
      root.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidField("", "body must be a JSON object with user_id and page_url");
  }
  for (const simdjson::dom::key_value_pair field : object) {
    std::string* target =
        field.key == "user_id" ? &query.user_id : field.key == "page_url" ? &query.page_url : nullptr;
    if (target == nullptr) continue;
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) {
      return InvalidField(field.key, std::string(field.key) + " must be a string");
    }
    // A query-string parameter wins over the body.
    if (target->empty()) target->assign(value);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCountQuery(const CountQuery& query, const EventLimits& limits) {
  if (auto status = CheckIdField("user_id", query.user_id, limits); !status.ok()) return status;
  return CheckIdField("page_url", query.page_url, limits);
}

absl::StatusOr<CountQuery> ParseCountQuery(const std::map<std::string, std::string>& query_params,
                                           std::string_view json_body, const EventLimits& limits) {
  CountQuery query;
  if (auto it = query_params.find("user_id"); it != query_params.end()) query.user_id = it->second;
  if (auto it = query_params.find("page_url"); it != query_params.end()) query.page_url = it->second;
  const bool need_body = query.user_id.empty() || query.page_url.empty();
  if (need_body && !absl::StripAsciiWhitespace(absl::string_view(json_body.data(), json_body.size())).empty()) {
    if (auto status = ReadBody(json_body, query); !status.ok()) return status;
  }
  if (auto status = ValidateCountQuery(query, limits); !status.ok()) return status;
  return query;
}

}  // namespace clickstream::domain
