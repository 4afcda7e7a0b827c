#include "common/json_text.h"

namespace clickstream::common {

namespace {

bool NeedsEscape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

}  // namespace

void AppendJsonString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Runs of characters that need no escape (nearly all of them) are copied at once: this is on the hot path of
  // every ingest and query answer.
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (!NeedsEscape(c)) continue;
    out.append(value.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        out += "\\u00";
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0xf]);
      }
    }
  }
  out.append(value.data() + run, value.size() - run);
  out.push_back('"');
}

std::string ErrorJson(std::string_view code, std::string_view message, std::string_view field) {
  std::string out = "{\"error\":";
  AppendJsonString(out, code);
  out += ",\"message\":";
  AppendJsonString(out, message);
  if (!field.empty()) {
    out += ",\"field\":";
    AppendJsonString(out, field);
  }
  out += '}';
  return out;
}

}  // namespace clickstream::common
