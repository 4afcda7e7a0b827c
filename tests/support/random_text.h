// Realistic test data: text drawn at random, so neither a compressor nor a lucky coincidence makes it pass.
#pragma once

#include <cstddef>
#include <random>
#include <string>

namespace clickstream::testing_support {

// Printable ASCII without spaces, quotes or backslashes, drawn at random: nothing can compress it, and it needs no
// escaping in JSON or in a header field.
inline std::string RandomText(std::size_t bytes, std::mt19937_64& random) {
  std::string text;
  while (text.size() < bytes) {
    const char c = static_cast<char>(0x21 + random() % 0x5e);
    if (c != '"' && c != '\\') text += c;
  }
  return text;
}

}  // namespace clickstream::testing_support
