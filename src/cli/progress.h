// How far a long command has got, on stderr: on a terminal a bar redrawn in place (done, rate, time left); otherwise
// (a log, a pipe) a plain line now and then, so that a log stays readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace clickstream::cli {

struct ProgressCounts {
  uint64_t done = 0;      // events answered for good, either way
  uint64_t accepted = 0;  // of them
  uint64_t rejected = 0;  // refused for good, or never acknowledged
  double fraction = -1;   // of the input read, 0 to 1; negative when its size is unknown
};

class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `terminal`: draw a bar (isatty of `out`'s descriptor, usually). `clock` is steady_clock's in production.
  Progress(std::FILE* out, bool terminal, Clock clock = std::chrono::steady_clock::now);

  // Shown at most every 100 ms on a terminal, every 5 s otherwise.
  void Update(const ProgressCounts& counts);
  // The last state, shown whatever the interval; a terminal's bar then ends its line.
  void Finish(const ProgressCounts& counts);

  // The text of one update, for a bar (no newline) or a line; exposed for tests.
  std::string Line(const ProgressCounts& counts, std::chrono::steady_clock::time_point now) const;

 private:
  void Show(const ProgressCounts& counts, std::chrono::steady_clock::time_point now);

  std::FILE* const out_;
  const bool terminal_;
  const Clock clock_;
  const std::chrono::steady_clock::time_point start_;
  // When the last update was shown; the start until one is, so the first shows an interval in.
  std::chrono::steady_clock::time_point shown_;
};

}  // namespace clickstream::cli
