// The tracker script's route: served where --tracker-path says, and never over a route ingestion already has.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/common/http_answers.h"
#include "services/ingestion/ingest_handler.h"
#include "services/ingestion/tracker_script.h"

namespace clickstream::ingestion {
namespace {

std::vector<ports::HttpRoute> OtherRoutes() {
  return {{"POST", "/ingest", {}}, {"POST", "/ingest/batch", {}}, {"GET", "/openapi.json", {}}};
}

TEST(TrackerRoute, ServesTheBuiltInScriptAtTheRenamedPath) {
  auto route = TrackerRoute("/t/cs.js", OtherRoutes());
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->method, "GET");
  EXPECT_EQ(route->path, "/t/cs.js");
  ports::HttpResponse answer;
  route->handler(ports::HttpRequest{}, [&](ports::HttpResponse response) { answer = std::move(response); });
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, TrackerScript());
  EXPECT_FALSE(answer.body.empty());
  EXPECT_EQ(answer.content_type, "text/javascript; charset=utf-8");
}

TEST(TrackerRoute, RefusesAPathAnotherRouteOrTheOperationsEndpointsHoldOrOneNotStartingWithASlash) {
  std::vector<std::string> refused = {"/ingest", "/ingest/batch", "/openapi.json", "tracker.js", "t.js"};
  for (const auto path : services::kOperationsPaths) refused.emplace_back(path);
  ASSERT_EQ(refused.size(), 8u);
  for (const auto& path : refused) {
    auto route = TrackerRoute(path, OtherRoutes());
    ASSERT_FALSE(route.ok()) << path;
    EXPECT_EQ(route.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(route.status().message(),
              "--tracker-path: " + path + " must start with / and be no other route of ingestion's");
  }
}

}  // namespace
}  // namespace clickstream::ingestion
