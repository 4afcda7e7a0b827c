#include "cli/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace clickstream::cli {
namespace {

using std::chrono::milliseconds;

// A Progress writing into memory, on a clock the test moves.
class ProgressTest : public testing::Test {
 protected:
  void TearDown() override {
    if (out_) std::fclose(out_);
    std::free(buffer_);
  }
  Progress Make(bool terminal) {
    out_ = open_memstream(&buffer_, &size_);
    return Progress(out_, terminal, [this] { return now_; });
  }
  std::string Written() {
    std::fflush(out_);
    return std::string(buffer_, size_);
  }

  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
  std::FILE* out_ = nullptr;
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
};

TEST_F(ProgressTest, ATerminalGetsABarRedrawnInPlaceWithTheRateAndTimeLeft) {
  auto progress = Make(true);
  now_ += milliseconds(50);
  progress.Update({100, 100, 0, 0.1});
  EXPECT_EQ(Written(), "") << "not before 100 ms";
  now_ += milliseconds(1950);  // 2 s in, a quarter done: 6 s left
  progress.Update({500, 490, 10, 0.25});
  EXPECT_EQ(Written(),
            "\r[######..................]  25% 500 events (490 accepted, 10 refused), 250 events/s, "
            "ETA 0:06\033[K");
  now_ += milliseconds(2000);
  progress.Finish({1000, 990, 10, 1.0});
  EXPECT_NE(Written().find("\r[########################] 100% 1000 events (990 accepted, 10 refused), 250 events/s, "
                           "0:04 elapsed\033[K\n"),
            std::string::npos)
      << Written();
}

TEST_F(ProgressTest, ALogGetsAPlainLineEveryFiveSecondsAndNoBarWhenTheSizeIsUnknown) {
  auto progress = Make(false);
  for (int i = 1; i <= 12; ++i) {
    now_ += milliseconds(1000);
    progress.Update({static_cast<uint64_t>(i) * 100, static_cast<uint64_t>(i) * 100, 0, -1});
  }
  EXPECT_EQ(Written(),
            "posted 500 events (500 accepted, 0 refused), 100 events/s, 0:05 elapsed\n"
            "posted 1000 events (1000 accepted, 0 refused), 100 events/s, 0:10 elapsed\n");
  EXPECT_EQ(Written().find('\r'), std::string::npos);
}

}  // namespace
}  // namespace clickstream::cli
