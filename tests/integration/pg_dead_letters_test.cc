// PgDeadLetters against a real PostgreSQL with the schema of infra/init.sql: one row per source record however
// often a letter is sent, any bytes kept exactly, the filters and paging, and replays recorded.
#include "adapters/postgres/pg_dead_letters.h"

#include <gtest/gtest.h>

#include <random>

#include "support/test_infra.h"

namespace clickstream::postgres {
namespace {

using std::chrono::milliseconds;
using testing_support::TestInfra;
using testing_support::UniqueId;

std::string RandomBytes(std::size_t size, std::mt19937_64& random) {
  std::string bytes;
  for (std::size_t i = 0; i < size; ++i) bytes += static_cast<char>(random() % 256);
  return bytes;
}

TEST(PgDeadLetters, KeepsOneRowPerSourceRecordWithItsBytesExactly) {
  std::mt19937_64 random(std::random_device{}());
  const std::string topic = UniqueId("topic");
  PgDeadLetters ledger(TestInfra().database_url, topic);
  const std::string value = RandomBytes(3000, random) + std::string(1, '\0') + "\xff\xfe";
  const std::string key = RandomBytes(40, random);
  const std::string code = UniqueId("code");
  const domain::PoisonRecord letter{
      {3, 77, key, value, 1'700'000'000'123}, std::string("body is not valid JSON: \xff\0 here", 29), code};
  ASSERT_TRUE(ledger.Send(letter, milliseconds(5000)).ok());
  ASSERT_TRUE(ledger.Send(letter, milliseconds(5000)).ok()) << "a letter sent again";
  domain::DeadLetterFilter filter;
  filter.reason_code = code;
  auto ours = ledger.List(filter);
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_EQ(ours->size(), 1u);
  const auto& stored = (*ours)[0];
  EXPECT_EQ(stored.source_partition, 3);
  EXPECT_EQ(stored.source_offset, 77);
  EXPECT_EQ(stored.key, key);
  EXPECT_EQ(stored.value, value);
  EXPECT_EQ(stored.reason_code, code);
  EXPECT_EQ(stored.reason.find('\0'), std::string::npos);
  EXPECT_EQ(stored.reason.rfind("body is not valid JSON: ", 0), 0u) << stored.reason;
  EXPECT_EQ(stored.record_time_ms, 1'700'000'000'123);
  EXPECT_GT(stored.dead_lettered_us, 0);
  EXPECT_EQ(stored.replays, 0);
  EXPECT_EQ(stored.last_replayed_us, 0);

  ASSERT_TRUE(ledger.MarkReplayed(stored.id, {{0, 12}, {2, 5}}).ok());
  ASSERT_TRUE(ledger.MarkReplayed(stored.id, {{1, 9}}).ok());
  domain::DeadLetterFilter by_id;
  by_id.ids = {stored.id};
  auto replayed = ledger.List(by_id);
  ASSERT_TRUE(replayed.ok());
  ASSERT_EQ(replayed->size(), 1u);
  EXPECT_EQ((*replayed)[0].replays, 2);
  EXPECT_EQ((*replayed)[0].replay_position, "1-9");
  EXPECT_GE((*replayed)[0].last_replayed_us, stored.dead_lettered_us);
}

TEST(PgDeadLetters, ListsByReasonTimeAndPagesById) {
  const std::string topic = UniqueId("topic");
  const std::string reason = UniqueId("reason");
  PgDeadLetters ledger(TestInfra().database_url, topic);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(ledger.Send({{0, i, "k", "v" + std::to_string(i)}, "why", reason}, milliseconds(5000)).ok());
  }
  domain::DeadLetterFilter filter;
  filter.reason_code = reason;
  filter.limit = 2;
  std::vector<int64_t> offsets;
  int64_t first_us = 0;
  while (true) {
    auto page = ledger.List(filter);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& letter : *page) {
      offsets.push_back(letter.source_offset);
      if (first_us == 0) first_us = letter.dead_lettered_us;
    }
    if (page->size() < filter.limit) break;
    filter.after_id = page->back().id;
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  filter.after_id = 0;
  filter.limit = 10;
  filter.until_us = first_us;  // exclusive: none before the first
  EXPECT_TRUE(ledger.List(filter)->empty());
  filter.until_us = 0;
  filter.since_us = first_us;
  EXPECT_EQ(ledger.List(filter)->size(), 5u);
  PgDeadLetters unreachable("postgresql://clickstream@127.0.0.1:1/clickstream", topic);
  EXPECT_EQ(unreachable.List(filter).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(unreachable.Send({{0, 1, "k", "v"}, "why"}, milliseconds(500)).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace clickstream::postgres
