// PgEventStore and PgCountStore against a real PostgreSQL with the schema of infra/init.sql.
#include "adapters/postgres/pg_stores.h"

#include <gtest/gtest.h>

#include <chrono>

#include <pqxx/pqxx>

#include "support/test_infra.h"

namespace clickstream::postgres {
namespace {

using testing_support::TestInfra;
using testing_support::UniqueId;

domain::ClickEvent Event(const std::string& id, const std::string& user, const std::string& page) {
  return {id, user, "click", page, 1'700'000'000'123'456};
}

int64_t CountOf(const std::vector<domain::PageCount>& counts, const std::string& user, const std::string& page) {
  for (const auto& c : counts) {
    if (c.user_id == user && c.page_url == page) return c.count;
  }
  return -1;
}

TEST(PgEventStore, CountsEachEventIdOnceWithinAndAcrossBatches) {
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url);
  const std::string user = UniqueId("user");
  const std::string a = UniqueId("evt"), b = UniqueId("evt"), c = UniqueId("evt");
  auto first = store.ApplyBatch("clicks", {Event(a, user, "/p"), Event(b, user, "/p"), Event(a, user, "/p")}, {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(CountOf(first->counts, user, "/p"), 2);
  EXPECT_EQ(first->inserted, 2);
  // A redelivered batch plus one new event: only the new one counts, and the answer still carries the count.
  auto second = store.ApplyBatch("clicks", {Event(b, user, "/p"), Event(c, user, "/p")}, {});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(CountOf(second->counts, user, "/p"), 3);
  EXPECT_EQ(second->inserted, 1);
  auto replay = store.ApplyBatch("clicks", {Event(a, user, "/p")}, {});
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(CountOf(replay->counts, user, "/p"), 3);
  EXPECT_EQ(replay->inserted, 0);
  EXPECT_EQ(*reader.GetCount(user, "/p"), 3);
}

TEST(PgEventStore, StoresAwkwardTextExactly) {
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url);
  const std::string user = UniqueId("u") + "\\N'\"__+__\xe2\x82\xac";
  const std::string page = "/a\\b?c=d&e=\\t,\"x\"|{}";
  auto counts = store.ApplyBatch("clicks", {Event(UniqueId("evt"), user, page)}, {});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(CountOf(counts->counts, user, page), 1);
  EXPECT_EQ(*reader.GetCount(user, page), 1);
}

TEST(PgEventStore, RecordsTheHighestAppliedOffsetPerPartition) {
  PgEventStore store(TestInfra().database_url);
  const std::string topic = UniqueId("topic");
  ASSERT_TRUE(store.ApplyBatch(topic, {}, {{0, 10}, {1, 5}}).ok());
  ASSERT_TRUE(store.ApplyBatch(topic, {}, {{0, 7}, {1, 6}}).ok());
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  const pqxx::result rows = tx.exec_params(
      "SELECT partition, next_offset FROM applied_offsets WHERE topic = $1 ORDER BY partition", topic);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][1].as<int64_t>(), 10);  // never moves backwards
  EXPECT_EQ(rows[1][1].as<int64_t>(), 6);
}

TEST(PgCountStore, UnknownPairIsZero) {
  PgCountStore reader(TestInfra().database_url);
  auto count = reader.GetCount(UniqueId("nobody"), "/nowhere");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 0);
}

TEST(PgStores, ClosedPortFailsFastAsUnavailable) {
  const auto start = std::chrono::steady_clock::now();
  PgEventStore store("postgresql://clickstream@127.0.0.1:1/clickstream");
  auto applied = store.ApplyBatch("clicks", {Event("x", "u", "/p")}, {});
  PgCountStore reader("postgresql://clickstream@127.0.0.1:1/clickstream");
  auto read = reader.GetCount("u", "/p");
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace clickstream::postgres
