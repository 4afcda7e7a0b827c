#include "services/processor/dead_letter_sinks.h"

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace clickstream::processor {
namespace {

// A sink that fails while `failing`, counting its calls.
class FlakySink final : public ports::DeadLetters {
 public:
  absl::Status Send(const domain::PoisonRecord&, std::chrono::milliseconds) override {
    ++calls;
    return failing ? absl::UnavailableError("ledger down") : absl::OkStatus();
  }
  bool failing = true;
  int calls = 0;
};

TEST(DeadLetterSinks, SendsEachLetterToEverySinkInTurnAndFailsAtTheFirstFailure) {
  auto ledger = std::make_unique<FlakySink>();
  auto topic = std::make_unique<testing_support::FakeDeadLetters>();
  auto* ledger_view = ledger.get();
  auto* topic_view = topic.get();
  std::vector<std::unique_ptr<ports::DeadLetters>> sinks;
  sinks.push_back(std::move(ledger));
  sinks.push_back(std::move(topic));
  DeadLetterSinks all(std::move(sinks));
  const domain::PoisonRecord letter{{1, 2, "k", "v"}, "why", "invalid"};
  EXPECT_EQ(all.Send(letter, std::chrono::milliseconds(10)).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(topic_view->sent.empty()) << "a letter the ledger failed goes nowhere else yet";
  ledger_view->failing = false;
  EXPECT_TRUE(all.Send(letter, std::chrono::milliseconds(10)).ok());
  EXPECT_EQ(ledger_view->calls, 2);
  ASSERT_EQ(topic_view->sent.size(), 1u);
  EXPECT_EQ(topic_view->sent[0].first.offset, 2);
}

}  // namespace
}  // namespace clickstream::processor
