// Fuzzes GET /analytics/events as the HTTP adapter hands it over: the raw query string decoded by
// http::DecodeQueryString (a malformed one is answered 400 by the adapter itself), then
// gateway::HandleQuery (the handler and GatewayService) with a fake analytics client (tests/support/fakes.h). Whatever
// the request and the client's answer: exactly one answer, a documented status with a JSON body; analytics is asked
// only about a valid pair, the query string winning over the body; a 200 echoes that pair and the count.
//
// Input: one control byte, the Content-Type up to the first newline, the raw query string up to the next, then
// the body. The control byte chooses the client's answer (bits 0-1: a count, UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED) and the count (the byte itself).
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http/query_string.h"
#include "domain/count_query.h"
#include "fuzz_support.h"
#include "services/gateway/query_handler.h"
#include "support/fakes.h"

namespace {

using clickstream::ports::HttpResponse;
using clickstream::testing_support::FakeCountClient;

absl::StatusOr<int64_t> ClientAnswer(uint8_t control) {
  switch (control & 3) {
    case 0: return int64_t{control};
    case 1: return absl::UnavailableError("analytics unreachable");
    case 2: return absl::DeadlineExceededError("deadline exceeded");
    default: return absl::ResourceExhaustedError("analytics queue full");
  }
}

// The parameter the query string gives for `key`, empty when absent.
std::string_view Param(const std::map<std::string, std::string>& params, const std::string& key) {
  auto it = params.find(key);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  auto [content_type, rest] =
      clickstream::fuzz::SplitLine(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  auto [raw_query, body] = clickstream::fuzz::SplitLine(rest);
  auto params = clickstream::http::DecodeQueryString(raw_query);
  if (!params) return 0;

  clickstream::gateway::GatewayOptions options;
  options.max_body_bytes = 512;
  options.limits.max_field_bytes = 64;
  auto owned_client = std::make_unique<FakeCountClient>();
  FakeCountClient& client = *owned_client;
  client.answer = ClientAnswer(control);
  clickstream::gateway::GatewayService service(options, std::move(owned_client),
                                               std::make_unique<clickstream::testing_support::FakeTimer>());

  // Built field by field: the request grows headers (API keys) that this target leaves empty.
  clickstream::ports::HttpRequest request;
  request.method = "GET";
  request.path = "/analytics/events";
  request.query = *params;
  request.content_type = content_type;
  request.body = body;
  int answers = 0;
  std::optional<HttpResponse> answer;
  clickstream::gateway::HandleQuery(service, request, [&](HttpResponse response) {
    ++answers;
    answer = std::move(response);
  });
  FUZZ_CHECK(answers == 1);
  clickstream::fuzz::CheckHttpAnswer(*answer, {200, 400, 413, 415, 503, 504});

  if (client.asked.empty()) {
    FUZZ_CHECK(answer->status == 400 || answer->status == 413 || answer->status == 415);
    return 0;
  }
  FUZZ_CHECK(client.asked.size() == 1);
  const auto& [user_id, page_url] = client.asked.front();
  FUZZ_CHECK(clickstream::domain::ValidateCountQuery({user_id, page_url}, options.limits).ok());
  const std::string_view query_user = Param(*params, "user_id");
  const std::string_view query_page = Param(*params, "page_url");
  FUZZ_CHECK(query_user.empty() || query_user == user_id);
  FUZZ_CHECK(query_page.empty() || query_page == page_url);

  const auto expected = ClientAnswer(control);
  FUZZ_CHECK((answer->status == 200) == expected.ok());
  if (answer->status != 200) return 0;
  const std::string_view user_view = user_id;
  const std::string_view page_view = page_url;
  FUZZ_CHECK(clickstream::fuzz::HasString(answer->body, "user_id", &user_view));
  FUZZ_CHECK(clickstream::fuzz::HasString(answer->body, "page_url", &page_view));
  FUZZ_CHECK(answer->body.ends_with(",\"count\":" + std::to_string(*expected) + "}"));
  return 0;
}
