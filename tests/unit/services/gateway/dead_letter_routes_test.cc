#include "services/gateway/dead_letter_routes.h"

#include <gtest/gtest.h>

namespace clickstream::gateway {
namespace {

// Answers every call at once with `letters` or `outcomes`, recording the filters it was given.
class FakeDeadLetterClient final : public ports::DeadLetterClient {
 public:
  void ListDeadLetters(const domain::DeadLetterFilter& filter, Deadline, ListDone done) override {
    filters.push_back(filter);
    done(letters);
  }
  void ReplayDeadLetters(const domain::DeadLetterFilter& filter, Deadline, ReplayDone done) override {
    filters.push_back(filter);
    done(outcomes);
  }
  std::vector<domain::DeadLetterFilter> filters;
  absl::StatusOr<std::vector<domain::DeadLetter>> letters = std::vector<domain::DeadLetter>{};
  absl::StatusOr<std::vector<domain::ReplayOutcome>> outcomes = std::vector<domain::ReplayOutcome>{};
};

class DeadLetterRoutesTest : public testing::Test {
 protected:
  ports::HttpResponse Call(const std::string& method, std::map<std::string, std::string> query,
                           std::vector<std::string> keys = {}, std::string presented_key = "") {
    auto routes = DeadLetterRoutes(client_, {std::move(keys), std::chrono::milliseconds(1000), 50});
    ports::HttpResponse answer{-1, "", "", {}};
    for (auto& route : routes) {
      if (route.method != method) continue;
      ports::HttpRequest request{method, route.path, std::move(query), "", "", presented_key, ""};
      route.handler(request, [&](ports::HttpResponse r) { answer = std::move(r); });
    }
    return answer;
  }

  FakeDeadLetterClient client_;
};

TEST_F(DeadLetterRoutesTest, ListsLettersWithTheirRecordAsTextOrBase64AndTheNextPage) {
  client_.letters =
      std::vector<domain::DeadLetter>{{4, "clicks", 1, 12, "invalid", "body is not valid JSON", "k", "{not json",
                                       1'700'000'000'123, 1'700'000'001'000'000, 0, 0, ""},
                                      {9, "clicks", 0, 3, "refused", "too large", "u", std::string("\xff\x00z", 3), 0,
                                       1'700'000'002'000'000, 2, 1'700'000'003'000'000, "0-41"}};
  auto answer = Call("GET", {{"reason", "invalid"}, {"since", "2023-11-14T22:13:20Z"}, {"after", "3"}, {"limit", "2"}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body,
            R"({"dead_letters":[{"id":4,"source":{"topic":"clicks","partition":1,"offset":12},"reason_code":"invalid",)"
            R"("reason":"body is not valid JSON","key":"k","value":"{not json",)"
            R"("record_time":"2023-11-14T22:13:20.123Z","dead_lettered_at":"2023-11-14T22:13:21Z","replays":0,)"
            R"("last_replayed_at":null,"replay_position":null},)"
            R"({"id":9,"source":{"topic":"clicks","partition":0,"offset":3},"reason_code":"refused",)"
            R"("reason":"too large","key":"u","value_base64":"/wB6","record_time":null,)"
            R"("dead_lettered_at":"2023-11-14T22:13:22Z","replays":2,"last_replayed_at":"2023-11-14T22:13:23Z",)"
            R"("replay_position":"0-41"}],"next_after":9})");
  ASSERT_EQ(client_.filters.size(), 1u);
  EXPECT_EQ(client_.filters[0].reason_code, "invalid");
  EXPECT_EQ(client_.filters[0].since_us, 1'700'000'000'000'000);
  EXPECT_EQ(client_.filters[0].after_id, 3);
  EXPECT_EQ(client_.filters[0].limit, 2u);
}

TEST_F(DeadLetterRoutesTest, ReplaysTheLettersNamedAndCountsEachOutcome) {
  using Kind = domain::ReplayOutcome::Kind;
  client_.outcomes = std::vector<domain::ReplayOutcome>{{4, Kind::kReplayed, "2-17", ""},
                                                        {5, Kind::kInvalid, "", "time_stamp is too far in the past"},
                                                        {6, Kind::kReplayed, "0-3", ""}};
  auto answer = Call("POST", {{"ids", "4,5,6"}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body,
            R"({"replayed":2,"invalid":1,"failed":0,"results":[{"id":4,"outcome":"replayed","position":"2-17"},)"
            R"({"id":5,"outcome":"invalid","message":"time_stamp is too far in the past"},)"
            R"({"id":6,"outcome":"replayed","position":"0-3"}]})");
  EXPECT_EQ(client_.filters.at(0).ids, (std::vector<int64_t>{4, 5, 6}));
}

TEST_F(DeadLetterRoutesTest, BadFiltersAndAReplayOfEverythingAre400NamingTheFieldAndKeysApply) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{{"ids", "4,x"},
                                                                                    {"ids", "0"},
                                                                                    {"since", "yesterday"},
                                                                                    {"until", "2024-13-01T00:00:00Z"},
                                                                                    {"after", "-1"},
                                                                                    {"limit", "0"},
                                                                                    {"limit", "51"},
                                                                                    {"reason", "AAA"},
                                                                                    {"reason", "Invalid"},
                                                                                    {"colour", "red"}}) {
    auto answer = Call("GET", {{name, value}});
    EXPECT_EQ(answer.status, 400) << name << "=" << value;
    EXPECT_NE(answer.body.find("\"field\":\"" + name + "\""), std::string::npos) << answer.body;
  }
  EXPECT_EQ(Call("POST", {}).status, 400);
  EXPECT_EQ(Call("POST", {{"limit", "5"}}).status, 400);
  EXPECT_TRUE(client_.filters.empty()) << "nothing refused reached analytics";
  EXPECT_EQ(Call("GET", {}, {"admin-key"}).status, 401);
  EXPECT_EQ(Call("GET", {}, {"admin-key"}, "admin-key").status, 200);
  client_.letters = absl::UnavailableError("analytics down");
  EXPECT_EQ(Call("GET", {}).status, 503);
}

}  // namespace
}  // namespace clickstream::gateway
