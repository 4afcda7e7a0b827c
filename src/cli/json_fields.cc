#include "cli/json_fields.h"

#include <cstdint>
#include <string_view>

namespace clickstream::cli {

std::optional<std::vector<std::pair<std::string, std::string>>> FieldTexts(simdjson::ondemand::object object) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (auto field : object) {
    std::string_view key, text;
    int64_t number = 0;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return std::nullopt;
    auto value = field.value();
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      fields.emplace_back(key, text);
    } else if (value.get_int64().get(number) == simdjson::SUCCESS) {
      fields.emplace_back(key, std::to_string(number));
    } else {
      fields.emplace_back(key, "unknown");
    }
  }
  return fields;
}

}  // namespace clickstream::cli
