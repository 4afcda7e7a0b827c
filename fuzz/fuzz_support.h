// What the fuzz targets share: an invariant check that stops the run (libFuzzer then saves the input), and the
// checks every HTTP answer of ours must pass whatever the request was. Targets are built by fuzz/CMakeLists.txt
// and run by scripts/fuzz.sh.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "ports/http.h"

// Aborts with the failed condition: the sanitizers' report and libFuzzer's crash file carry the input.
#define FUZZ_CHECK(condition)                                                                         \
  do {                                                                                                \
    if (!(condition)) {                                                                               \
      std::fprintf(stderr, "fuzz invariant violated: %s at %s:%d\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                                   \
    }                                                                                                 \
  } while (false)

namespace clickstream::fuzz {

// True when `json` is one valid JSON object (UTF-8 included) and, if `key` is not empty, has a string under `key`
// equal to `expected` (any string when `expected` is null).
bool IsJsonObject(std::string_view json);
bool HasString(std::string_view json, std::string_view key, const std::string_view* expected = nullptr);

// Every answer: a status from `allowed`, JSON, and for errors the documented body ({"error", "message", "field"?})
// with Retry-After exactly when retrying later may help (503).
void CheckHttpAnswer(const ports::HttpResponse& response, std::initializer_list<int> allowed);

// The input split at its first newline; `rest` is empty and `line` the whole input when there is none.
struct Line {
  std::string_view line;
  std::string_view rest;
};
Line SplitLine(std::string_view input);

}  // namespace clickstream::fuzz
