#include "cli/progress.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace clickstream::cli {
namespace {

constexpr int kBarWidth = 24;

std::string Duration(double seconds) {
  const int64_t whole = std::llround(seconds);
  if (whole >= 3600) return absl::StrFormat("%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60);
  return absl::StrFormat("%d:%02d", whole / 60, whole % 60);
}

}  // namespace

Progress::Progress(std::FILE* out, bool terminal, Clock clock)
    : out_(out), terminal_(terminal), clock_(std::move(clock)), start_(clock_()), shown_(start_) {}

std::string Progress::Line(const ProgressCounts& counts, std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(counts.done) / elapsed : 0;
  std::string line;
  if (terminal_) {
    if (counts.fraction >= 0) {
      const int filled = static_cast<int>(counts.fraction * kBarWidth);
      line = absl::StrFormat("[%s%s] %3d%% ", std::string(filled, '#'), std::string(kBarWidth - filled, '.'),
                             static_cast<int>(counts.fraction * 100));
    }
  } else {
    line = "posted ";
  }
  line += absl::StrFormat("%d events (%d accepted, %d refused), %.0f events/s", counts.done, counts.accepted,
                          counts.rejected, rate);
  if (counts.fraction > 0 && counts.fraction < 1) {
    line += ", ETA " + Duration(elapsed * (1 - counts.fraction) / counts.fraction);
  } else if (counts.fraction >= 1 || !terminal_) {
    line += ", " + Duration(elapsed) + " elapsed";
  }
  return line;
}

void Progress::Show(const ProgressCounts& counts, std::chrono::steady_clock::time_point now) {
  if (terminal_) {
    // Back to the start of the line, the bar, then clear what a longer earlier bar left.
    std::fprintf(out_, "\r%s\033[K", Line(counts, now).c_str());
  } else {
    std::fprintf(out_, "%s\n", Line(counts, now).c_str());
  }
  std::fflush(out_);
  shown_ = now;
}

void Progress::Update(const ProgressCounts& counts) {
  const auto now = clock_();
  const auto interval = terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
  if (now - shown_ >= interval) Show(counts, now);
}

void Progress::Finish(const ProgressCounts& counts) {
  Show(counts, clock_());
  if (terminal_) std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace clickstream::cli
