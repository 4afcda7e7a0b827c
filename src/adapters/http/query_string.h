// Decoding a URL query string the way Go's url.ParseQuery and browsers' forms do: '&'-separated pairs, '+' as a
// space, %XX escapes. RESTinio's parsers either reject an unescaped '/' (common in page_url values) or keep '+',
// so this small decoder is ours.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace clickstream::http {

// nullopt when an escape is malformed ("%G1", a trailing "%"). Repeated keys keep their first value.
std::optional<std::map<std::string, std::string>> DecodeQueryString(std::string_view query);

}  // namespace clickstream::http
