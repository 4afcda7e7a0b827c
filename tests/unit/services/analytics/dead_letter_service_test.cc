#include "services/analytics/dead_letter_service.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>

#include "support/events.h"

namespace clickstream::analytics {
namespace {

using domain::ReplayOutcome;

// The ledger as a map by id; List honours ids, reason and paging.
class FakeLedger final : public ports::DeadLetterLedger {
 public:
  absl::StatusOr<std::vector<domain::DeadLetter>> List(const domain::DeadLetterFilter& filter) override {
    std::lock_guard lock(mutex);
    filters.push_back(filter);
    if (!available) return absl::UnavailableError("database down");
    std::vector<domain::DeadLetter> out;
    for (const auto& [id, letter] : letters) {
      if (!filter.ids.empty() && std::find(filter.ids.begin(), filter.ids.end(), id) == filter.ids.end()) continue;
      if (!filter.reason_code.empty() && letter.reason_code != filter.reason_code) continue;
      if (id <= filter.after_id || out.size() >= filter.limit) continue;
      out.push_back(letter);
    }
    return out;
  }
  absl::Status MarkReplayed(int64_t id, const domain::Position& position) override {
    std::lock_guard lock(mutex);
    ++letters[id].replays;
    letters[id].replay_position = domain::PositionToken(position);
    return absl::OkStatus();
  }

  std::mutex mutex;
  bool available = true;
  std::map<int64_t, domain::DeadLetter> letters;
  std::vector<domain::DeadLetterFilter> filters;
};

// Acknowledges every record at once, at the next offset of partition 2, unless `failure` is set.
class AckingPublisher final : public ports::EventPublisher {
 public:
  void Publish(std::string_view key, std::string_view value, int64_t timestamp_ms, const tracing::TraceContext&,
               Done done) override {
    published.push_back({std::string(key), std::string(value), timestamp_ms});
    if (!failure.ok()) return done(failure);
    done(domain::PartitionOffset{2, static_cast<int64_t>(published.size()) + 40});
  }
  absl::Status CheckReady(std::chrono::milliseconds) override { return absl::OkStatus(); }
  void Drain(std::chrono::milliseconds) override {}

  struct Record {
    std::string key, value;
    int64_t timestamp_ms;
  };
  std::vector<Record> published;
  absl::Status failure = absl::OkStatus();
};

constexpr int64_t kRecordTimeMs = 1'700'000'000'000;

domain::DeadLetterFilter Ids(std::vector<int64_t> ids) {
  domain::DeadLetterFilter filter;
  filter.ids = std::move(ids);
  filter.limit = 10;
  return filter;
}

domain::DeadLetterFilter Reason(std::string code) {
  domain::DeadLetterFilter filter;
  filter.reason_code = std::move(code);
  filter.limit = 10;
  return filter;
}

class DeadLetterServiceTest : public testing::Test {
 protected:
  DeadLetterServiceTest() {
    auto ledger = std::make_unique<FakeLedger>();
    auto publisher = std::make_unique<AckingPublisher>();
    ledger_ = ledger.get();
    publisher_ = publisher.get();
    domain::EventLimits limits;
    limits.max_age = std::chrono::hours(24 * 365 * 20);
    service_ =
        std::make_unique<DeadLetterService>(DeadLetterOptions{limits, 50}, std::move(ledger), std::move(publisher));
  }

  void Add(int64_t id, std::string value, std::string reason_code = "refused") {
    ledger_->letters[id] = {
        id, "clicks", 1, id * 10, reason_code, "why", "k", std::move(value), kRecordTimeMs, 1'700'000'001'000'000,
        0,  0,        ""};
  }

  absl::StatusOr<std::vector<ReplayOutcome>> Replay(domain::DeadLetterFilter filter) {
    std::promise<absl::StatusOr<std::vector<ReplayOutcome>>> answer;
    service_->Replay(std::move(filter), [&](auto outcomes) { answer.set_value(std::move(outcomes)); });
    return answer.get_future().get();
  }

  FakeLedger* ledger_;
  AckingPublisher* publisher_;
  std::unique_ptr<DeadLetterService> service_;
};

TEST_F(DeadLetterServiceTest, AValidLetterIsPublishedAgainUnderItsUserAtItsOwnBrokerTimeAndMarked) {
  const std::string event = testing_support::EventJson("evt-1", "user-9", "/p");
  Add(7, event);
  auto outcomes = Replay(Ids({7}));
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 1u);
  EXPECT_EQ((*outcomes)[0].id, 7);
  EXPECT_EQ((*outcomes)[0].kind, ReplayOutcome::Kind::kReplayed);
  EXPECT_EQ((*outcomes)[0].position, "2-41");
  ASSERT_EQ(publisher_->published.size(), 1u);
  EXPECT_EQ(publisher_->published[0].key, "user-9");
  EXPECT_EQ(publisher_->published[0].value, event);
  EXPECT_EQ(publisher_->published[0].timestamp_ms, kRecordTimeMs);
  EXPECT_EQ(ledger_->letters[7].replays, 1);
  EXPECT_EQ(ledger_->letters[7].replay_position, "2-41");
}

TEST_F(DeadLetterServiceTest, ALetterStillInvalidIsNeitherPublishedNorMarked) {
  Add(1, "{not json", "invalid");
  Add(2, testing_support::EventJson("", "user", "/p"), "invalid");
  auto outcomes = Replay(Reason("invalid"));
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 2u);
  for (const auto& outcome : *outcomes) {
    EXPECT_EQ(outcome.kind, ReplayOutcome::Kind::kInvalid) << outcome.id;
    EXPECT_FALSE(outcome.message.empty());
  }
  EXPECT_TRUE(publisher_->published.empty());
  EXPECT_EQ(ledger_->letters[1].replays, 0);
}

TEST_F(DeadLetterServiceTest, AFailedPublishIsReportedAndLeavesTheLetterUnmarked) {
  Add(3, testing_support::EventJson("evt-3", "user", "/p"));
  publisher_->failure = absl::UnavailableError("broker down");
  auto outcomes = Replay(Ids({3}));
  ASSERT_TRUE(outcomes.ok());
  EXPECT_EQ((*outcomes)[0].kind, ReplayOutcome::Kind::kFailed);
  EXPECT_NE((*outcomes)[0].message.find("broker down"), std::string::npos);
  EXPECT_EQ(ledger_->letters[3].replays, 0);
}

TEST_F(DeadLetterServiceTest, ListingPassesTheFilterAndRefusesALimitBeyondThePage) {
  Add(1, "a");
  Add(2, "b");
  std::promise<absl::StatusOr<std::vector<domain::DeadLetter>>> answer;
  service_->List({{}, "refused", 0, 0, 1, 10}, [&](auto letters) { answer.set_value(std::move(letters)); });
  auto letters = answer.get_future().get();
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].id, 2);

  absl::Status refused;
  service_->List({{}, "", 0, 0, 0, 51}, [&](auto letters) { refused = letters.status(); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  service_->Replay({{}, "", 0, 0, 0, 0}, [&](auto outcomes) { refused = outcomes.status(); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  ledger_->available = false;
  EXPECT_EQ(Replay(Ids({1})).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace clickstream::analytics
