#include "fuzz_support.h"

#include <algorithm>

#include <simdjson.h>

namespace clickstream::fuzz {
namespace {

bool ParseObject(simdjson::dom::parser& parser, std::string_view json, simdjson::dom::object& object) {
  simdjson::dom::element root;
  return parser.parse(json.data(), json.size()).get(root) == simdjson::SUCCESS &&
         root.get_object().get(object) == simdjson::SUCCESS;
}

}  // namespace

bool IsJsonObject(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  return ParseObject(parser, json, object);
}

bool HasString(std::string_view json, std::string_view key, const std::string_view* expected) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (!ParseObject(parser, json, object)) return false;
  std::string_view value;
  if (object.at_key(key).get_string().get(value) != simdjson::SUCCESS) return false;
  return expected == nullptr || value == *expected;
}

void CheckHttpAnswer(const ports::HttpResponse& response, std::initializer_list<int> allowed) {
  FUZZ_CHECK(std::find(allowed.begin(), allowed.end(), response.status) != allowed.end());
  FUZZ_CHECK(response.content_type == "application/json");
  FUZZ_CHECK(IsJsonObject(response.body));
  const bool retry_after = std::any_of(response.headers.begin(), response.headers.end(),
                                       [](const auto& header) { return header.first == "Retry-After"; });
  FUZZ_CHECK(retry_after == (response.status == 503));
  if (response.status == 200) return;
  FUZZ_CHECK(HasString(response.body, "error"));
  FUZZ_CHECK(HasString(response.body, "message"));
}

Line SplitLine(std::string_view input) {
  const std::size_t newline = input.find('\n');
  // The empty rest still points into the input: a null string_view is not what any caller of ours passes on.
  if (newline == std::string_view::npos) return {input, input.substr(input.size())};
  return {input.substr(0, newline), input.substr(newline + 1)};
}

}  // namespace clickstream::fuzz
