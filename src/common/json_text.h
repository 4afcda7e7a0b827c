// Writing JSON text. simdjson (our parser) has no serializer in the packaged version and the answers we write are
// a handful of flat objects, so a string escaper is all we need rather than another JSON library.
#pragma once

#include <string>
#include <string_view>

namespace clickstream::common {

// Appends `value` as a quoted JSON string, escaping quotes, backslashes and control characters.
void AppendJsonString(std::string& out, std::string_view value);

// {"error": code, "message": message, "field": field?} as every HTTP API answers errors.
std::string ErrorJson(std::string_view code, std::string_view message, std::string_view field = {});

}  // namespace clickstream::common
