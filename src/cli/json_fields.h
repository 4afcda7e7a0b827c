// The fields of a flat JSON object as text, for the commands that print an answer's freshness.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace clickstream::cli {

// Each field's name and value in order: strings as they are, integers in decimal, anything else (null) as
// "unknown". Nothing when the object cannot be read.
std::optional<std::vector<std::pair<std::string, std::string>>> FieldTexts(simdjson::ondemand::object object);

}  // namespace clickstream::cli
