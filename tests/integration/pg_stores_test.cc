// PgEventStore and PgCountStore against a real PostgreSQL with the schema of infra/init.sql.
#include "adapters/postgres/pg_stores.h"
#include "adapters/postgres/pg_table_audit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <pqxx/pqxx>

#include "support/events.h"
#include "support/test_infra.h"

namespace clickstream::postgres {
namespace {

using testing_support::TestInfra;
using testing_support::UniqueId;

domain::ClickEvent Event(const std::string& id, const std::string& user, const std::string& page) {
  return testing_support::MakeEvent(id, user, page, 1'700'000'000'123'456);
}

int64_t CountOf(const std::vector<domain::PageCount>& counts, const std::string& user, const std::string& page) {
  for (const auto& c : counts) {
    if (c.user_id == user && c.page_url == page) return c.count;
  }
  return -1;
}

TEST(PgEventStore, CountsEachEventIdOnceWithinAndAcrossBatches) {
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, "clicks");
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

// A batch is applied by a plain insert, and a batch that meets an event_id already stored (a redelivery, a client's
// retry) is applied again by the statement that skips stored ids. Wherever the stored id falls, first or last, the
// rows the first attempt inserted before it are undone: every other event counts exactly once. After a repeat the
// store expects more (a redelivery comes in runs) and skips stored ids at once, until a batch brings none.
TEST(PgEventStore, AStoredEventIdAnywhereInABatchIsSkippedAndEveryOtherEventCountedOnce) {
  metrics::Registry registry;
  PgEventStore store(TestInfra().database_url, &registry);
  const auto& second_attempts = registry.GetCounter("clickstream_db_apply_second_attempts_total", "");
  const std::string user = UniqueId("user");
  const std::vector<std::string> pages = {"/a", "/b", "/c"};
  std::map<std::string, int64_t> expected;
  std::vector<std::string> stored;
  auto batch_of = [&](std::size_t fresh, const std::vector<std::string>& repeated_first,
                      const std::vector<std::string>& repeated_last) {
    std::vector<domain::ClickEvent> batch;
    for (const auto& id : repeated_first) batch.push_back(Event(id, user, pages[batch.size() % 3]));
    for (std::size_t i = 0; i < fresh; ++i) {
      const std::string& page = pages[(i * 7 + batch.size()) % 3];
      stored.push_back(UniqueId("evt"));
      batch.push_back(Event(stored.back(), user, page));
      ++expected[page];
    }
    for (const auto& id : repeated_last) batch.push_back(Event(id, user, pages[batch.size() % 3]));
    return batch;
  };
  auto apply = [&](const std::vector<domain::ClickEvent>& batch, int64_t inserted) {
    auto applied = store.ApplyBatch("clicks", batch, {});
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(applied->inserted, inserted);
    for (const auto& page : pages) EXPECT_EQ(CountOf(applied->counts, user, page), expected[page]) << page;
  };

  apply(batch_of(200, {}, {}), 200);
  EXPECT_EQ(second_attempts.Value(), 0U) << "a batch of fresh ids needs one statement";
  const std::vector<std::string> first_batch = stored;
  apply(batch_of(200, {}, {first_batch[17]}), 200);
  EXPECT_EQ(second_attempts.Value(), 1U) << "the stored id came last, after 200 rows inserted";
  apply(batch_of(150, {first_batch[3]}, {first_batch[4]}), 150);
  apply(batch_of(0, first_batch, {}), 0);  // the first batch redelivered whole
  EXPECT_EQ(second_attempts.Value(), 1U) << "after a repeat, stored ids are skipped at once";
  apply(batch_of(100, {}, {}), 100);  // none stored: the next batch is tried by the plain insert again
  apply(batch_of(100, {first_batch[50]}, {}), 100);
  EXPECT_EQ(second_attempts.Value(), 2U) << "the stored id came first";
  apply(batch_of(100, {}, {}), 100);
  apply(batch_of(100, {}, {}), 100);
  EXPECT_EQ(second_attempts.Value(), 2U);

  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  for (const auto& page : pages) {
    const auto raw =
        tx.exec_params1("SELECT count(*) FROM click_events WHERE user_id = $1 AND page_url = $2", user, page);
    EXPECT_EQ(raw[0].as<int64_t>(), expected[page]) << page;
    const auto counter =
        tx.exec_params1("SELECT click_count FROM page_clicks WHERE user_id = $1 AND page_url = $2", user, page);
    EXPECT_EQ(counter[0].as<int64_t>(), expected[page]) << page;
  }
}

// Random printable text with multi-byte characters mixed in: nothing PostgreSQL's compression can shrink.
std::string Incompressible(std::size_t bytes, std::mt19937_64& random) {
  static const std::string kMultiByte[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  std::string text;
  while (text.size() < bytes) {
    const auto pick = random() % 100;
    const std::string piece =
        pick < 10 ? kMultiByte[pick % 3] : std::string(1, static_cast<char>(0x21 + random() % 0x5e));
    if (text.size() + piece.size() > bytes) break;
    text += piece;
  }
  while (text.size() < bytes) text += static_cast<char>(0x21 + random() % 0x5e);
  return text;
}

// Each field may be 2,048 bytes; keyed on the pair itself, a B-tree entry of two such incompressible fields is
// too large (SQLSTATE 54000) and the event could never be stored.
TEST(PgEventStore, CountsPairsOfTheLongestIncompressibleIds) {
  std::mt19937_64 random(std::random_device{}());
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, "clicks");
  const std::string user = UniqueId("u") + Incompressible(2048 - 40, random);
  const std::string page = "x" + Incompressible(2047, random);
  const std::string id = UniqueId("evt") + Incompressible(2048 - 40, random);
  auto applied = store.ApplyBatch("clicks", {Event(id, user, page), Event(UniqueId("evt"), user, page)}, {});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(CountOf(applied->counts, user, page), 2);
  EXPECT_EQ(*reader.GetCount(user, page), 2);
  // A pair that differs only in where user_id ends must be a pair of its own.
  auto shifted = reader.GetCount(user + "x", page.substr(1));
  ASSERT_TRUE(shifted.ok()) << shifted.status();
  EXPECT_EQ(*shifted, 0);
}

// page_clicks is keyed on clickstream_pair_key: it must be the SHA-256 of the pair's exact UTF-8 bytes (what
// convert_to gives, the function's first definition, so keys stored before stay valid), backslashes and all, and
// PostgreSQL must inline it: run as a function call it was a fifth of the database's CPU when applying batches.
TEST(PgPairKey, IsTheDigestOfThePairsExactBytesAndIsInlined) {
  std::mt19937_64 random(std::random_device{}());
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  for (int i = 0; i < 20; ++i) {
    const std::string user = Incompressible(1 + random() % 300, random) + "\\\\000\\";
    const std::string page = "\\x41" + Incompressible(1 + random() % 300, random) + "\\";
    const auto same = tx.exec_params1(
        "SELECT clickstream_pair_key($1, $2) = sha256(convert_to(length($1)::text || ':' || $1 || $2, 'UTF8'))", user,
        page);
    EXPECT_TRUE(same[0].as<bool>()) << "user_id " << user << " page_url " << page;
  }
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN (VERBOSE) SELECT clickstream_pair_key(user_id, page_url) FROM page_clicks")) {
    plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_NE(plan.find("sha256("), std::string::npos) << plan;
  EXPECT_EQ(plan.find("clickstream_pair_key("), std::string::npos) << plan;
}

TEST(PgEventStore, RefusesDataItCanNeverStoreAsInvalidArgumentAndAppliesNothing) {
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, "clicks");
  const std::string user = UniqueId("user");
  domain::ClickEvent impossible = Event(UniqueId("evt"), user, "/p");
  impossible.time_stamp_us = -300'000'000'000'000'000;  // some 7,500 years BC: before PostgreSQL's calendar
  auto applied = store.ApplyBatch("clicks", {Event(UniqueId("evt"), user, "/p"), impossible}, {});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument) << applied.status();
  EXPECT_EQ(*reader.GetCount(user, "/p"), 0);
  // The store is usable again at once.
  EXPECT_TRUE(store.ApplyBatch("clicks", {Event(UniqueId("evt"), user, "/p")}, {}).ok());
  EXPECT_EQ(*reader.GetCount(user, "/p"), 1);
}

// The batch goes to PostgreSQL as COPY text, where a backslash, tab, newline and carriage return have to be escaped.
// Ingestion refuses control characters, but the store does not rely on it: every byte comes back as it went in.
TEST(PgEventStore, StoresAwkwardTextExactly) {
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, "clicks");
  const std::string user = UniqueId("u") + "\\N'\"__+__\xe2\x82\xac";
  const std::string page = "/a\\b?c=d&e=\\t,\"x\"|{}";
  const std::string id = UniqueId("evt") + "\\.\t\\\n\r\b\x7f\\";
  const std::string type = std::string("\\N\t\n\\.\r\f\v") + "\xf0\x9f\x98\x80";
  domain::ClickEvent awkward = Event(id, user + "\t\\\n", page + "\r\n\\.");
  awkward.event_type = type;
  auto counts = store.ApplyBatch("clicks", {Event(UniqueId("evt"), user, page), awkward}, {});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(CountOf(counts->counts, user, page), 1);
  EXPECT_EQ(*reader.GetCount(user, page), 1);
  EXPECT_EQ(CountOf(counts->counts, awkward.user_id, awkward.page_url), 1);
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  const auto row =
      tx.exec_params1("SELECT user_id, page_url, event_type FROM click_events WHERE event_id = $1", awkward.event_id);
  EXPECT_EQ(row[0].as<std::string>(), awkward.user_id);
  EXPECT_EQ(row[1].as<std::string>(), awkward.page_url);
  EXPECT_EQ(row[2].as<std::string>(), awkward.event_type);
}

// Times travel as microseconds since the epoch; each is stored to the microsecond, also beyond 2^53 microseconds
// (past 2255 and before 1685), where a double cannot hold every microsecond, and before the epoch, where division
// truncates towards zero.
TEST(PgEventStore, StoresEachEventsTimeToTheMicrosecond) {
  std::mt19937_64 random(std::random_device{}());
  PgEventStore store(TestInfra().database_url);
  const std::string user = UniqueId("u");
  std::vector<int64_t> times = {
      (int64_t{1} << 53) + 1, 10'000'000'000'000'001, -11'000'000'000'000'001, -1'500'001, -1, 0,
      1'700'000'039'999'999};
  for (int i = 0; i < 20; ++i)
    times.push_back(1'400'000'000'000'000 + static_cast<int64_t>(random() % 1'000'000'000'000'000));
  std::vector<domain::ClickEvent> events;
  for (const int64_t us : times) events.push_back(testing_support::MakeEvent(UniqueId("evt"), user, "/t", us));
  ASSERT_TRUE(store.ApplyBatch("clicks", events, {}).ok());

  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  for (const auto& event : events) {
    const auto stored = tx.exec_params1(
        "SELECT (extract(epoch FROM time_stamp) * 1000000)::bigint FROM click_events WHERE event_id = $1",
        event.event_id);
    EXPECT_EQ(stored[0].as<int64_t>(), event.time_stamp_us);
  }
}

// The aggregates beyond one counter (page totals with distinct users, event types, minutes) follow the rows
// click_events actually holds: duplicates within a batch, redelivered batches and an event_id reused with other
// content count once, as the stored row says. Checked key by key against the raw rows, so that a loss and a double
// count cannot cancel out.
TEST(PgEventStore, MaintainsPageTotalsEventTypesAndMinutesFromTheRowsInserted) {
  std::mt19937_64 random(std::random_device{}());
  PgEventStore store(TestInfra().database_url);
  std::vector<std::string> users, pages, types;
  for (int i = 0; i < 5; ++i) users.push_back(UniqueId("u") + Incompressible(200, random));
  for (int i = 0; i < 6; ++i) pages.push_back(UniqueId("/p") + Incompressible(1500, random));
  for (int i = 0; i < 3; ++i) types.push_back(UniqueId("type") + Incompressible(40, random));
  // A random minute in the 1990s (no other test writes there), events spread over ten minutes, to the microsecond.
  const int64_t base_us = (631'152'000 + static_cast<int64_t>(random() % 315'000'000) / 60 * 60) * 1'000'000;
  std::vector<domain::ClickEvent> all;
  for (int i = 0; i < 120; ++i) {
    all.push_back({UniqueId("evt"), users[random() % users.size()], types[random() % types.size()],
                   pages[random() % pages.size()], base_us + static_cast<int64_t>(random() % 600'000'000)});
  }
  auto batch = [&](std::size_t from, std::size_t to) {
    return std::vector<domain::ClickEvent>(all.begin() + from, all.begin() + to);
  };
  std::vector<std::vector<domain::ClickEvent>> batches = {batch(0, 50), batch(40, 90), batch(0, 120)};
  batches[0].push_back(all[3]);        // a duplicate within the batch
  domain::ClickEvent reused = all[7];  // an event_id already stored, sent again with other content
  reused.page_url = pages[(std::find(pages.begin(), pages.end(), reused.page_url) - pages.begin() + 1) % 6];
  reused.event_type = types[0] == reused.event_type ? types[1] : types[0];
  batches[1].push_back(reused);
  for (const auto& events : batches) ASSERT_TRUE(store.ApplyBatch("clicks", events, {}).ok());

  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  for (const auto& page : pages) {
    const auto raw =
        tx.exec_params1("SELECT count(*), count(DISTINCT user_id) FROM click_events WHERE page_url = $1", page);
    const auto total = tx.exec_params("SELECT click_count, users FROM page_totals WHERE page_url = $1", page);
    ASSERT_EQ(total.size(), raw[0].as<int64_t>() > 0 ? 1u : 0u) << "page " << page.substr(0, 20);
    if (total.empty()) continue;
    EXPECT_EQ(total[0][0].as<int64_t>(), raw[0].as<int64_t>()) << "page " << page.substr(0, 20);
    EXPECT_EQ(total[0][1].as<int64_t>(), raw[1].as<int64_t>()) << "page " << page.substr(0, 20);
  }
  for (const auto& type : types) {
    const auto raw = tx.exec_params1("SELECT count(*) FROM click_events WHERE event_type = $1", type);
    const auto total = tx.exec_params("SELECT click_count FROM event_type_totals WHERE event_type = $1", type);
    ASSERT_EQ(total.size(), 1u) << "event type " << type;
    EXPECT_EQ(total[0][0].as<int64_t>(), raw[0].as<int64_t>()) << "event type " << type;
  }
  const auto minutes = tx.exec_params(
      "SELECT m.minute, m.click_count, (SELECT count(*) FROM click_events e WHERE e.time_stamp >= m.minute"
      " AND e.time_stamp < m.minute + interval '1 minute') FROM clicks_per_minute m"
      " WHERE m.minute >= to_timestamp($1::float8 / 1e6) AND m.minute < to_timestamp($1::float8 / 1e6) + interval"
      " '10 minutes' ORDER BY 1",
      base_us);
  int64_t counted = 0;
  for (const auto& minute : minutes) {
    EXPECT_EQ(minute[1].as<int64_t>(), minute[2].as<int64_t>()) << "minute " << minute[0].c_str();
    counted += minute[1].as<int64_t>();
  }
  EXPECT_EQ(counted, 120);  // every event once, in the minute of its time_stamp
}

// infra/init.sql, whole or up to the aggregates: the schema as this version applies it, and as the last version did.
std::string Schema(bool with_aggregates) {
  std::ifstream file(std::string(CLICKSTREAM_SOURCE_DIR) + "/infra/init.sql");
  std::stringstream text;
  text << file.rdbuf();
  const std::string schema = text.str();
  if (with_aggregates) return schema;
  const auto aggregates = schema.find("-- Aggregates beyond one counter");
  EXPECT_NE(aggregates, std::string::npos) << "init.sql no longer marks where the aggregates begin";
  return schema.substr(0, aggregates);
}

// A database counted before the aggregates existed gets them filled from its stored events when this version's
// schema is applied, once: applied again, nothing is counted twice. In a schema of its own, as a fresh database.
TEST(PgSchema, AnUpgradedDatabaseHasItsAggregatesFilledFromTheEventsItHeld) {
  const std::string schema = "upgrade_" + std::to_string(std::random_device{}());
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  tx.exec0("CREATE SCHEMA " + schema);
  tx.exec0("SET search_path = " + schema);
  tx.exec0("SET client_min_messages = warning");
  tx.exec0(Schema(false));
  tx.exec0(R"sql(
    INSERT INTO click_events VALUES ('e1', 'u1', 'click', '/a', '2019-03-10T05:00:10Z'),
      ('e2', 'u2', 'click', '/a', '2019-03-10T05:00:50Z'), ('e3', 'u1', 'view', '/a', '2019-03-10T05:01:00Z'),
      ('e4', 'u1', 'view', '/b', '2019-03-10T07:30:00Z');
    INSERT INTO page_clicks (user_id, page_url, click_count) VALUES ('u1', '/a', 2), ('u2', '/a', 1), ('u1', '/b', 1);
  )sql");
  tx.exec0(Schema(true));
  tx.exec0(Schema(true));  // every start applies it
  const auto pages = tx.exec("SELECT page_url, click_count, users FROM page_totals ORDER BY 1");
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0][1].as<int64_t>(), 3);
  EXPECT_EQ(pages[0][2].as<int64_t>(), 2);
  EXPECT_EQ(pages[1][1].as<int64_t>(), 1);
  EXPECT_EQ(pages[1][2].as<int64_t>(), 1);
  const auto types = tx.exec("SELECT event_type, click_count FROM event_type_totals ORDER BY 1");
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0][1].as<int64_t>(), 2);
  EXPECT_EQ(types[1][1].as<int64_t>(), 2);
  const auto minutes =
      tx.exec("SELECT extract(epoch FROM minute)::bigint, click_count FROM clicks_per_minute ORDER BY 1");
  ASSERT_EQ(minutes.size(), 3u);
  EXPECT_EQ(minutes[0][0].as<int64_t>(), 1'552'194'000);
  EXPECT_EQ(minutes[0][1].as<int64_t>(), 2);
  EXPECT_EQ(minutes[1][1].as<int64_t>(), 1);
  EXPECT_EQ(minutes[2][0].as<int64_t>(), 1'552'203'000);
  tx.exec0("DROP SCHEMA " + schema + " CASCADE");
}

// Counters are updated in place (HOT updates: no index entry written, the old version pruned on the spot) because
// their pages keep room (infra/init.sql). Three transactions each increment a tenth of the counters, as batches do;
// with full pages nearly every update would go to another page and add entries to both indexes.
TEST(PgSchema, CountersAreIncrementedInPlaceWithoutNewIndexEntries) {
  const std::string schema = "hot_" + std::to_string(std::random_device{}());
  pqxx::connection connection(TestInfra().database_url);
  {
    pqxx::nontransaction tx(connection);
    tx.exec0("CREATE SCHEMA " + schema);
    tx.exec0("SET search_path = " + schema);
    tx.exec0("SET client_min_messages = warning");
    tx.exec0(Schema(true));
    tx.exec0(Schema(true));  // every start applies it
    tx.exec0(
        "INSERT INTO page_clicks (user_id, page_url, click_count) SELECT 'user-' || md5(i::text), "
        "'/page/' || md5((i * 7)::text), 1 FROM generate_series(0, 4999) i");
  }
  int64_t updated = 0;
  int64_t in_place = 0;
  for (int round = 0; round < 3; ++round) {
    pqxx::work tx(connection);
    tx.exec_params0(
        "UPDATE page_clicks SET click_count = click_count + 1 WHERE get_byte(decode(md5(user_id), 'hex'), 0) % 10 = $1",
        round);
    const auto stats = tx.exec1(
        "SELECT pg_stat_get_xact_tuples_updated('page_clicks'::regclass), "
        "pg_stat_get_xact_tuples_hot_updated('page_clicks'::regclass)");
    updated += stats[0].as<int64_t>();
    in_place += stats[1].as<int64_t>();
    tx.commit();
  }
  EXPECT_GT(updated, 1000);
  EXPECT_GE(in_place * 10, updated * 9) << in_place << " of " << updated << " updates in place";
  pqxx::nontransaction(connection).exec0("DROP SCHEMA " + schema + " CASCADE");
}

TEST(PgEventStore, RecordsTheHighestAppliedOffsetPerPartition) {
  PgEventStore store(TestInfra().database_url);
  const std::string topic = UniqueId("topic");
  ASSERT_TRUE(store.ApplyBatch(topic, {}, {{0, 10}, {1, 5}}).ok());
  ASSERT_TRUE(store.ApplyBatch(topic, {}, {{0, 7}, {1, 6}}).ok());
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  const pqxx::result rows =
      tx.exec_params("SELECT partition, next_offset FROM applied_offsets WHERE topic = $1 ORDER BY partition", topic);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][1].as<int64_t>(), 10);  // never moves backwards
  EXPECT_EQ(rows[1][1].as<int64_t>(), 6);
}

TEST(PgCountStore, UnknownPairIsZero) {
  PgCountStore reader(TestInfra().database_url, "clicks");
  auto count = reader.GetCount(UniqueId("nobody"), "/nowhere");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 0);
}

// One statement for many pairs, answered in the order asked: a pair counted, one never seen, the same pair twice,
// the longest incompressible ids, and text that an array literal must keep whole (quotes, backslashes, commas,
// braces, the word NULL).
TEST(PgCountStore, GetManyAnswersEveryPairInItsOrderWithNeverSeenPairsZero) {
  std::mt19937_64 random(std::random_device{}());
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, "clicks");
  const std::string user = UniqueId("many");
  const std::string long_user = UniqueId("u") + Incompressible(2048 - 40, random);
  const std::string long_page = "x" + Incompressible(2047, random);
  const std::string awkward_user = UniqueId("u") + "\\\"a,b\"{c}\\";
  const std::string awkward_page = "NULL";
  ASSERT_TRUE(store
                  .ApplyBatch("clicks",
                              {Event(UniqueId("evt"), user, "/p"), Event(UniqueId("evt"), user, "/p"),
                               Event(UniqueId("evt"), user, "/p"), Event(UniqueId("evt"), long_user, long_page),
                               Event(UniqueId("evt"), awkward_user, awkward_page),
                               Event(UniqueId("evt"), awkward_user, awkward_page)},
                              {})
                  .ok());
  auto counts = reader.GetMany({{user, "/p"},
                                {UniqueId("nobody"), "/nowhere"},
                                {long_user, long_page},
                                {user, "/p"},
                                {awkward_user, awkward_page},
                                {long_user + "x", long_page.substr(1)}});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->counts, (std::vector<int64_t>{3, 0, 1, 3, 2, 0}));
  auto none = reader.GetMany({});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->counts.empty());
}

// Counts come with the position, newest event time and age of their own snapshot: what the batches recorded.
TEST(PgCountStore, CountsComeWithTheAppliedPositionAndNewestEventTimeOfTheirSnapshot) {
  const std::string topic = UniqueId("topic");
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, topic);
  const std::string user = UniqueId("user");
  auto empty = reader.GetMany({{user, "/p"}});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->freshness.source, domain::CountSource::kDatabase);
  EXPECT_TRUE(empty->freshness.position.empty());
  EXPECT_EQ(empty->freshness.newest_event_time_us, 0);
  EXPECT_EQ(empty->freshness.age_ms, -1);

  auto older = testing_support::MakeEvent(UniqueId("evt"), user, "/p", 1'700'000'000'000'001);
  auto newer = testing_support::MakeEvent(UniqueId("evt"), user, "/p", 1'700'000'000'654'321);
  ASSERT_TRUE(store.ApplyBatch(topic, {newer, older}, {{0, 5}, {2, 3}}).ok());
  ASSERT_TRUE(store.ApplyBatch(topic, {}, {{1, 4}}).ok());  // only poison in this one: no event time
  auto read = reader.GetMany({{user, "/p"}, {UniqueId("nobody"), "/p"}});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->counts, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(read->freshness.position, (domain::Position{{0, 5}, {1, 4}, {2, 3}}));
  EXPECT_EQ(read->freshness.newest_event_time_us, 1'700'000'000'654'321);
  EXPECT_GE(read->freshness.age_ms, 0);
  EXPECT_LT(read->freshness.age_ms, 10'000);
}

// A read blocked behind a lock ends at the statement timeout, as DEADLINE_EXCEEDED, instead of holding an analytics
// worker for as long as the lock is held.
TEST(PgCountStore, AReadBlockedPastTheStatementTimeoutIsDeadlineExceeded) {
  const auto timeout = std::chrono::milliseconds(300);
  PgCountStore reader(TestInfra().database_url, "clicks", nullptr, timeout);
  ASSERT_TRUE(reader.GetMany({{"warm", "/up"}}).ok());  // a connection ready, as in service

  std::promise<void> locked, release;
  std::thread holder([&] {
    pqxx::connection connection(TestInfra().database_url);
    pqxx::work tx(connection);
    tx.exec0("LOCK TABLE page_clicks IN ACCESS EXCLUSIVE MODE");
    locked.set_value();
    release.get_future().wait_for(std::chrono::seconds(30));
    tx.abort();
  });
  locked.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  auto counts = reader.GetMany({{"u", "/p"}, {"v", "/q"}});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  release.set_value();
  holder.join();
  EXPECT_EQ(counts.status().code(), absl::StatusCode::kDeadlineExceeded) << counts.status();
  EXPECT_LT(elapsed, timeout + std::chrono::seconds(1));
  // The lock gone, the store reads again.
  EXPECT_TRUE(reader.GetMany({{"u", "/p"}}).ok());
}

// The position a batch records is what the reader reports, per topic, never going back; a topic nothing was
// applied from has an empty position.
TEST(PgCountStore, AppliedPositionIsWhatTheBatchesOfItsTopicRecorded) {
  const std::string topic = UniqueId("topic");
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, topic);
  EXPECT_EQ(reader.AppliedPosition().value(), domain::Position{});
  const std::string user = UniqueId("user");
  ASSERT_TRUE(store.ApplyBatch(topic, {Event(UniqueId("evt"), user, "/p")}, {{0, 5}, {3, 10}}).ok());
  ASSERT_TRUE(store.ApplyBatch(topic, {Event(UniqueId("evt"), user, "/p")}, {{0, 4}, {1, 2}}).ok());
  ASSERT_TRUE(store.ApplyBatch(UniqueId("other"), {Event(UniqueId("evt"), user, "/p")}, {{2, 99}}).ok());
  EXPECT_EQ(reader.AppliedPosition().value(), (domain::Position{{0, 5}, {1, 2}, {3, 10}}));
  PgCountStore unreachable("postgresql://clickstream@127.0.0.1:1/clickstream", topic);
  EXPECT_EQ(unreachable.AppliedPosition().status().code(), absl::StatusCode::kUnavailable);
}

// Drift made by hand in the database, undone when the test ends, so no later reconciliation of the shared database
// finds it: `sql` runs now with the pair, `undo` at the end.
class Tampering {
 public:
  Tampering(const std::string& sql, std::string undo, std::string user, std::string page)
      : undo_(std::move(undo)), user_(std::move(user)), page_(std::move(page)) {
    pqxx::connection connection(TestInfra().database_url);
    pqxx::nontransaction(connection).exec_params0(sql, user_, page_);
  }
  ~Tampering() {
    pqxx::connection connection(TestInfra().database_url);
    pqxx::nontransaction(connection).exec_params0(undo_, user_, page_);
  }

 private:
  const std::string undo_, user_, page_;
};

constexpr const char* kCountOneMore =
    "UPDATE page_clicks SET click_count = click_count + 1 WHERE pair_key = clickstream_pair_key($1, $2)";
constexpr const char* kCountOneLess =
    "UPDATE page_clicks SET click_count = click_count - 1 WHERE pair_key = clickstream_pair_key($1, $2)";

// Reconciliation reads each counter and its raw rows in one snapshot: equal as the processor wrote them, apart when
// a counter is changed behind its back; long, incompressible pairs included.
TEST(PgCountStore, AuditComparesEachCounterWithItsRawRowsInItsSnapshot) {
  std::mt19937_64 random(std::random_device{}());
  const std::string topic = UniqueId("topic");
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, topic);
  const domain::CountQuery a{UniqueId("user") + Incompressible(1900, random), "/a/" + Incompressible(2000, random)};
  const domain::CountQuery b{UniqueId("user"), "/b"};
  const domain::CountQuery never{UniqueId("nobody"), "/p"};
  ASSERT_TRUE(store
                  .ApplyBatch(topic,
                              {Event(UniqueId("evt"), a.user_id, a.page_url), Event(UniqueId("evt"), b.user_id, "/b"),
                               Event(UniqueId("evt"), a.user_id, a.page_url)},
                              {{0, 3}})
                  .ok());
  ASSERT_TRUE(store.ApplyBatch(topic, {Event(UniqueId("evt"), a.user_id, a.page_url)}, {{1, 1}}).ok());
  auto audit = reader.Audit({a, b, never, a});
  ASSERT_TRUE(audit.ok()) << audit.status();
  ASSERT_EQ(audit->pairs.size(), 4u);
  const std::vector<std::pair<int64_t, int64_t>> expected = {{3, 3}, {1, 1}, {0, 0}, {3, 3}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(audit->pairs[i].counter, expected[i].first) << i;
    EXPECT_EQ(audit->pairs[i].raw_rows, expected[i].second) << i;
    EXPECT_TRUE(audit->pairs[i].Consistent()) << i;
  }
  EXPECT_EQ(audit->pairs[0].pair.user_id, a.user_id);
  EXPECT_EQ(audit->pairs[2].pair.user_id, never.user_id);
  EXPECT_EQ(audit->freshness.position, (domain::Position{{0, 3}, {1, 1}}));
  EXPECT_EQ(audit->freshness.newest_event_time_us, 1'700'000'000'123'456);

  const Tampering more(kCountOneMore, kCountOneLess, a.user_id, a.page_url);
  audit = reader.Audit({a, b});
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->pairs[0].counter, 4);
  EXPECT_EQ(audit->pairs[0].raw_rows, 3);
  EXPECT_FALSE(audit->pairs[0].Consistent());
  EXPECT_TRUE(audit->pairs[1].Consistent());
}

// With the optional index on user_id (README, Reconciliation), a reconciliation reads each pair's raw rows through
// it rather than the table: the statement's shape lets the planner use it.
TEST(PgCountStore, WithTheOptionalIndexRawRowsAreFoundThroughIt) {
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  tx.exec0("CREATE INDEX IF NOT EXISTS click_events_user ON click_events (user_id)");
  tx.exec0("SET enable_seqscan = off");
  tx.exec0("SET enable_bitmapscan = off");
  std::string plan;
  for (const auto& row : tx.exec_params(
           "EXPLAIN SELECT e.user_id, e.page_url, count(*) FROM click_events e WHERE (e.user_id, e.page_url) IN "
           "(SELECT * FROM unnest($1::text[], $2::text[])) GROUP BY e.user_id, e.page_url",
           "{u,v}", "{/p,/q}")) {
    plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_NE(plan.find("click_events_user"), std::string::npos) << plan;
  PgCountStore reader(TestInfra().database_url, "clicks");
  EXPECT_TRUE(reader.Audit({{"u", "/p"}}).ok());
}

// A sample starts at a key and goes on in key order, wrapping around past the last key; it reports drift as Audit.
TEST(PgCountStore, AuditSampleReadsCountersInKeyOrderFromItsStartWrappingAround) {
  PgEventStore store(TestInfra().database_url);
  PgCountStore reader(TestInfra().database_url, "clicks");
  const domain::CountQuery pair{UniqueId("user"), "/sampled"};
  ASSERT_TRUE(store
                  .ApplyBatch("clicks",
                              {Event(UniqueId("evt"), pair.user_id, pair.page_url),
                               Event(UniqueId("evt"), pair.user_id, pair.page_url)},
                              {})
                  .ok());
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  const std::string key =
      tx.exec_params1("SELECT encode(clickstream_pair_key($1, $2), 'hex')", pair.user_id, pair.page_url)[0]
          .as<std::string>();
  const auto first = tx.exec1("SELECT user_id, page_url FROM page_clicks ORDER BY pair_key LIMIT 1");

  auto sample = reader.AuditSample(3, key);
  ASSERT_TRUE(sample.ok()) << sample.status();
  ASSERT_FALSE(sample->pairs.empty());
  EXPECT_EQ(sample->pairs[0].pair.user_id, pair.user_id);
  EXPECT_EQ(sample->pairs[0].counter, 2);
  EXPECT_EQ(sample->pairs[0].raw_rows, 2);
  EXPECT_LE(sample->pairs.size(), 3u);

  // Past the last key: around to the first.
  auto wrapped = reader.AuditSample(1, std::string(64, 'f'));
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  ASSERT_EQ(wrapped->pairs.size(), 1u);
  EXPECT_EQ(wrapped->pairs[0].pair.user_id, first[0].as<std::string>());
  EXPECT_EQ(wrapped->pairs[0].pair.page_url, first[1].as<std::string>());

  const Tampering less(kCountOneLess, kCountOneMore, pair.user_id, pair.page_url);
  sample = reader.AuditSample(1, key);
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_EQ(sample->pairs.at(0).counter, 1);
  EXPECT_EQ(sample->pairs.at(0).raw_rows, 2);
  EXPECT_FALSE(sample->pairs.at(0).Consistent());
}

// The whole table in one snapshot: a counter changed behind its back, and raw rows no counter counts, are both found
// and listed with their numbers; the totals add up.
TEST(PgTableAudit, FindsEveryCounterThatDiffersFromItsRawRowsAndRowsWithoutACounter) {
  PgEventStore store(TestInfra().database_url);
  const domain::CountQuery over{UniqueId("user"), "/over"};
  const domain::CountQuery orphan{UniqueId("user"), "/orphan"};
  ASSERT_TRUE(store
                  .ApplyBatch("clicks",
                              {Event(UniqueId("evt"), over.user_id, over.page_url),
                               Event(UniqueId("evt"), orphan.user_id, orphan.page_url),
                               Event(UniqueId("evt"), orphan.user_id, orphan.page_url)},
                              {})
                  .ok());
  auto before = AuditTable(TestInfra().database_url, "clicks", 1000);
  ASSERT_TRUE(before.ok()) << before.status();
  {
    const Tampering more(kCountOneMore, kCountOneLess, over.user_id, over.page_url);
    const Tampering forgotten("DELETE FROM page_clicks WHERE pair_key = clickstream_pair_key($1, $2)",
                              "INSERT INTO page_clicks (user_id, page_url, click_count) VALUES ($1, $2, 2)",
                              orphan.user_id, orphan.page_url);
    auto audit = AuditTable(TestInfra().database_url, "clicks", 1000);
    ASSERT_TRUE(audit.ok()) << audit.status();
    EXPECT_EQ(audit->drifting, before->drifting + 2);
    EXPECT_EQ(audit->pairs, before->pairs);
    EXPECT_EQ(audit->raw_rows, before->raw_rows);
    EXPECT_EQ(audit->counted, before->counted + 1 - 2);
    std::map<std::string, std::pair<int64_t, int64_t>> listed;
    for (const auto& pair : audit->listed) listed[pair.pair.user_id] = {pair.counter, pair.raw_rows};
    EXPECT_EQ(listed[over.user_id], (std::pair<int64_t, int64_t>{2, 1}));
    EXPECT_EQ(listed[orphan.user_id], (std::pair<int64_t, int64_t>{0, 2}));
  }
  auto after = AuditTable(TestInfra().database_url, "clicks", 1000);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->drifting, before->drifting);
  EXPECT_EQ(AuditTable("postgresql://clickstream@127.0.0.1:1/clickstream", "clicks", 10).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(PgStores, ClosedPortFailsFastAsUnavailable) {
  const auto start = std::chrono::steady_clock::now();
  PgEventStore store("postgresql://clickstream@127.0.0.1:1/clickstream");
  auto applied = store.ApplyBatch("clicks", {Event("x", "u", "/p")}, {});
  PgCountStore reader("postgresql://clickstream@127.0.0.1:1/clickstream", "clicks");
  auto read = reader.GetCount("u", "/p");
  auto read_many = reader.GetMany({{"u", "/p"}, {"v", "/q"}});
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(read_many.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace clickstream::postgres
