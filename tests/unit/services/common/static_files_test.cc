#include "services/common/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace clickstream::services {
namespace {

namespace fs = std::filesystem;

// Bytes of every value, NULs and invalid UTF-8 included, as a bundle or an image holds them.
std::string RandomBytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(generator() & 0xff);
  return bytes;
}

class SiteTest : public testing::Test {
 protected:
  void SetUp() override {
    folder_ =
        fs::path(testing::TempDir()) / ("site-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "-" + testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_ / "nested");
  }
  void TearDown() override { fs::remove_all(folder_); }

  void Write(const std::string& name, const std::string& body) const {
    std::ofstream(folder_ / name, std::ios::binary) << body;
  }

  // The answer each route gives, by path.
  static std::map<std::string, ports::HttpResponse> Answers(const std::vector<ports::HttpRoute>& routes) {
    std::map<std::string, ports::HttpResponse> answers;
    for (const auto& route : routes) {
      EXPECT_EQ(route.method, "GET");
      route.handler(ports::HttpRequest{}, [&](ports::HttpResponse response) { answers[route.path] = response; });
    }
    return answers;
  }

  static std::string Header(const ports::HttpResponse& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return "";
  }

  fs::path folder_;
};

TEST_F(SiteTest, ServesEachFileExactlyUnderThePrefixAndTheIndexAtThePrefixItself) {
  const std::string index = "<!doctype html><title>" + RandomBytes(64, 1) + "</title>";
  const std::string script = RandomBytes(300000, 2);
  const std::string style = RandomBytes(4096, 3);
  Write("index.html", index);
  Write("dashboard.js", script);
  Write("dashboard.css", style);
  Write(".hidden", "not served");
  Write("nested/inner.js", "not served");

  auto files = LoadSite(folder_.string());
  ASSERT_TRUE(files.ok()) << files.status();
  const auto answers = Answers(SiteRoutes("/dashboard", *std::move(files)));

  ASSERT_EQ(answers.size(), 5u);  // three files, and the index twice more
  EXPECT_EQ(answers.at("/dashboard/dashboard.js").body, script);
  EXPECT_EQ(answers.at("/dashboard/dashboard.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(answers.at("/dashboard/dashboard.css").body, style);
  EXPECT_EQ(answers.at("/dashboard/dashboard.css").content_type, "text/css; charset=utf-8");
  for (const char* path : {"/dashboard", "/dashboard/", "/dashboard/index.html"}) {
    const auto& answer = answers.at(path);
    EXPECT_EQ(answer.status, 200) << path;
    EXPECT_EQ(answer.body, index) << path;
    EXPECT_EQ(answer.content_type, "text/html; charset=utf-8") << path;
    EXPECT_NE(Header(answer, "Content-Security-Policy").find("default-src 'self'"), std::string::npos) << path;
  }
  for (const auto& [path, answer] : answers) {
    EXPECT_EQ(Header(answer, "Cache-Control"), "no-cache") << path;
    EXPECT_EQ(Header(answer, "X-Content-Type-Options"), "nosniff") << path;
  }
  EXPECT_EQ(Header(answers.at("/dashboard/dashboard.js"), "Content-Security-Policy"), "");
}

TEST_F(SiteTest, AFolderWithoutAnIndexOrNoFolderIsRefusedNamingIt) {
  Write("dashboard.js", "x");
  auto no_index = LoadSite(folder_.string());
  ASSERT_FALSE(no_index.ok());
  EXPECT_NE(no_index.status().message().find(folder_.string()), std::string::npos) << no_index.status();
  EXPECT_NE(no_index.status().message().find("index.html"), std::string::npos) << no_index.status();

  const std::string missing = (folder_ / "absent").string();
  auto no_folder = LoadSite(missing);
  ASSERT_FALSE(no_folder.ok());
  EXPECT_NE(no_folder.status().message().find(missing), std::string::npos) << no_folder.status();
}

TEST(MediaTypeOfFile, KnowsWhatTheDashboardShipsAndFallsBackToBytes) {
  EXPECT_EQ(MediaTypeOfFile("a.b.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(MediaTypeOfFile("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(MediaTypeOfFile("shot.png"), "image/png");
  EXPECT_EQ(MediaTypeOfFile("README"), "application/octet-stream");
  EXPECT_EQ(MediaTypeOfFile("archive.js.gz"), "application/octet-stream");
}

}  // namespace
}  // namespace clickstream::services
