#include "services/common/cors.h"

#include <gtest/gtest.h>

#include <optional>

namespace clickstream::services {
namespace {

std::string Header(const ports::HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

class CorsTest : public testing::Test {
 protected:
  // Two routes on one path and one on another, each recording that it ran.
  std::vector<ports::HttpRoute> Routes() {
    auto answer = [this](const char* name) {
      return [this, name](const ports::HttpRequest&, const ports::Respond& respond) {
        ran_.push_back(name);
        respond(ports::HttpResponse{200, "{}", "application/json", {{"Retry-After", "1"}}});
      };
    };
    return {{"POST", "/ingest", answer("post")},
            {"GET", "/ingest", answer("get")},
            {"POST", "/ingest/batch", answer("batch")}};
  }

  // What `method` on `path` answers with `origin` (empty: none sent), through the routes WithCors gives.
  std::optional<ports::HttpResponse> Ask(const std::vector<ports::HttpRoute>& routes, const std::string& method,
                                         const std::string& path, const std::string& origin) {
    for (const auto& route : routes) {
      if (route.method != method || route.path != path) continue;
      ports::HttpRequest request;
      request.method = method;
      request.path = path;
      request.origin = origin;
      std::optional<ports::HttpResponse> answer;
      route.handler(request, [&](ports::HttpResponse response) { answer = std::move(response); });
      EXPECT_TRUE(answer.has_value()) << method << " " << path << " never answered";
      return answer;
    }
    return std::nullopt;
  }

  std::vector<std::string> ran_;
};

TEST(ParseCorsOrigins, ReadsAListOrAnyAndRefusesWhatNoBrowserSendsNamingTheSetting) {
  auto none = ParseCorsOrigins("--ingest-cors-origins", " , ");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->enabled());

  auto list =
      ParseCorsOrigins("--ingest-cors-origins", "https://Shop.Example, http://localhost:3000,http://[::1]:8000");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->origins,
            (std::vector<std::string>{"https://shop.example", "http://localhost:3000", "http://[::1]:8000"}));
  EXPECT_TRUE(list->Allows("https://shop.example"));
  EXPECT_TRUE(list->Allows("HTTPS://SHOP.EXAMPLE"));
  EXPECT_FALSE(list->Allows("https://shop.example:8443"));
  EXPECT_FALSE(list->Allows("http://shop.example"));
  EXPECT_FALSE(list->Allows("null"));

  auto any = ParseCorsOrigins("--ingest-cors-origins", "*");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->Allows("https://anywhere.example"));

  for (const char* bad : {"shop.example", "https://shop.example/", "https://shop.example/path", "https://",
                          "://shop.example", "https://user@shop.example", "https://shop.example?x"}) {
    auto refused = ParseCorsOrigins("--ingest-cors-origins", std::string("https://ok.example,") + bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("--ingest-cors-origins"), std::string::npos) << refused.status();
    EXPECT_NE(refused.status().message().find(bad), std::string::npos) << refused.status();
  }
}

TEST_F(CorsTest, NoOriginsAllowedLeavesTheRoutesAsTheyAre) {
  const auto routes = WithCors(Routes(), CorsPolicy{});
  ASSERT_EQ(routes.size(), 3u);
  auto answer = Ask(routes, "POST", "/ingest", "https://shop.example");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(Header(*answer, "Access-Control-Allow-Origin"), "");
  EXPECT_FALSE(Ask(routes, "OPTIONS", "/ingest", "https://shop.example").has_value());
}

TEST_F(CorsTest, AnAllowedOriginIsAnsweredWithItselfAndCanReadRetryAfter) {
  const auto routes = WithCors(Routes(), *ParseCorsOrigins("s", "https://shop.example"));
  auto answer = Ask(routes, "POST", "/ingest/batch", "https://shop.example");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(Header(*answer, "Access-Control-Allow-Origin"), "https://shop.example");
  EXPECT_EQ(Header(*answer, "Vary"), "Origin");
  EXPECT_EQ(Header(*answer, "Access-Control-Expose-Headers"), "Retry-After");
  EXPECT_EQ(ran_, std::vector<std::string>{"batch"});
}

TEST_F(CorsTest, AnotherOriginIsRefusedBeforeTheHandlerRunsAndNoOriginIsNoBrowser) {
  const auto routes = WithCors(Routes(), *ParseCorsOrigins("s", "https://shop.example"));
  auto refused = Ask(routes, "POST", "/ingest", "https://evil.example");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->body.find(R"("error":"permission_denied")"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find("https://evil.example"), std::string::npos) << refused->body;
  EXPECT_EQ(Header(*refused, "Access-Control-Allow-Origin"), "");
  EXPECT_TRUE(ran_.empty());

  auto server_to_server = Ask(routes, "POST", "/ingest", "");
  ASSERT_TRUE(server_to_server.has_value());
  EXPECT_EQ(server_to_server->status, 200);
  EXPECT_EQ(Header(*server_to_server, "Access-Control-Allow-Origin"), "");
  EXPECT_EQ(ran_, std::vector<std::string>{"post"});
}

TEST_F(CorsTest, ThePreflightOfEachPathNamesItsMethodsAndTheHeadersAClientSends) {
  CorsPolicy policy = *ParseCorsOrigins("s", "http://localhost:3000");
  policy.max_age = std::chrono::seconds(42);
  const auto routes = WithCors(Routes(), policy);
  ASSERT_EQ(routes.size(), 5u);  // one OPTIONS a path

  auto ingest = Ask(routes, "OPTIONS", "/ingest", "http://localhost:3000");
  ASSERT_TRUE(ingest.has_value());
  EXPECT_EQ(ingest->status, 204);
  EXPECT_EQ(ingest->body, "");
  EXPECT_EQ(Header(*ingest, "Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(Header(*ingest, "Access-Control-Allow-Methods"), "POST, GET");
  EXPECT_EQ(Header(*ingest, "Access-Control-Allow-Headers"), "Content-Type, X-API-Key, Authorization, traceparent");
  EXPECT_EQ(Header(*ingest, "Access-Control-Max-Age"), "42");
  EXPECT_EQ(Header(*Ask(routes, "OPTIONS", "/ingest/batch", "http://localhost:3000"), "Access-Control-Allow-Methods"),
            "POST");

  auto refused = Ask(routes, "OPTIONS", "/ingest", "http://localhost:3001");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(Header(*refused, "Access-Control-Allow-Origin"), "");
  EXPECT_TRUE(ran_.empty());
}

TEST_F(CorsTest, AnyOriginIsAnsweredWithAStar) {
  const auto routes = WithCors(Routes(), *ParseCorsOrigins("s", "*"));
  auto answer = Ask(routes, "GET", "/ingest", "https://anywhere.example");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(Header(*answer, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(Header(*answer, "Vary"), "");
}

}  // namespace
}  // namespace clickstream::services
