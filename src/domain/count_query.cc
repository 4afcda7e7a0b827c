#include "domain/count_query.h"

#include <array>

#include "absl/strings/ascii.h"

namespace clickstream::domain {
namespace {

constexpr std::array<std::string_view, 2> kQueryFields = {"user_id", "page_url"};

// Fills the fields the query string left empty from the JSON body: a query-string parameter wins over the body.
absl::Status ReadBody(std::string_view json_body, CountQuery& query) {
  auto values = ReadStringFields(json_body, kQueryFields);
  if (!values.ok()) return values.status();
  std::string* const targets[] = {&query.user_id, &query.page_url};
  for (std::size_t i = 0; i < kQueryFields.size(); ++i) {
    if (targets[i]->empty() && (*values)[i].has_value()) *targets[i] = std::move(*(*values)[i]);
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
