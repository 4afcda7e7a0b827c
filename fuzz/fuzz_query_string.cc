// Fuzzes what the HTTP adapter and the gateway do with a raw query string: http::DecodeQueryString, then
// domain::ParseCountQuery on the parameters. Decoding fails only on a malformed escape; whatever it decodes comes
// back unchanged after re-encoding every byte; a count query is either INVALID_ARGUMENT or a pair within the
// limits taken verbatim from the parameters.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "adapters/http/query_string.h"
#include "domain/count_query.h"
#include "fuzz_support.h"

namespace {

// Percent-encodes every byte but letters and digits: the most escaped form a client may send.
std::string Encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  auto params = clickstream::http::DecodeQueryString(query);
  if (!params) {
    FUZZ_CHECK(query.find('%') != std::string_view::npos);
    return 0;
  }

  std::string encoded;
  for (const auto& [key, value] : *params) {
    if (!encoded.empty()) encoded += '&';
    encoded += Encode(key) + '=' + Encode(value);
  }
  auto decoded = clickstream::http::DecodeQueryString(encoded);
  FUZZ_CHECK(decoded.has_value());
  // Re-encoding drops only pairs that were empty in the first place ("&&"), which decode to nothing.
  FUZZ_CHECK(*decoded == *params);

  clickstream::domain::EventLimits limits;
  limits.max_field_bytes = 64;
  auto count_query = clickstream::domain::ParseCountQuery(*params, "", limits);
  if (!count_query.ok()) {
    FUZZ_CHECK(count_query.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(params->count("user_id") == 1 && params->at("user_id") == count_query->user_id);
  FUZZ_CHECK(params->count("page_url") == 1 && params->at("page_url") == count_query->page_url);
  FUZZ_CHECK(clickstream::domain::ValidateCountQuery(*count_query, limits).ok());
  return 0;
}
