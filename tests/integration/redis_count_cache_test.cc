// RedisCountCache against a real Redis.
#include "adapters/redis/redis_count_cache.h"

#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include <chrono>

#include "domain/cache_key.h"
#include "support/test_infra.h"

namespace clickstream::redis {
namespace {

using testing_support::TestInfra;
using testing_support::UniqueId;

RedisOptions Options() {
  RedisOptions options;
  options.address = TestInfra().redis_addr;
  return options;
}

// A raw command on a connection of the test's own, to look behind the adapter.
std::string Raw(const std::vector<std::string>& args) {
  const auto colon = TestInfra().redis_addr.rfind(':');
  redisContext* context = redisConnect(TestInfra().redis_addr.substr(0, colon).c_str(),
                                       std::atoi(TestInfra().redis_addr.c_str() + colon + 1));
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply =
      static_cast<redisReply*>(redisCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data()));
  std::string out = reply && reply->type == REDIS_REPLY_STRING ? std::string(reply->str, reply->len) : "";
  if (reply && reply->type == REDIS_REPLY_INTEGER) out = std::to_string(reply->integer);
  freeReplyObject(reply);
  redisFree(context);
  return out;
}

TEST(RedisCountCache, MissIsNullopt) {
  RedisCountCache cache(Options());
  auto value = cache.Get(UniqueId("u"), "/p");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_FALSE(value->has_value());
}

// SCAN then DEL takes a while on a big cache: until it is done, stale keys must not be served.
TEST(RedisCountCache, AnswersMissesWhileAnInvalidationIsUnderway) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("u");
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 5}}).ok());
  Raw({"SET", std::string(kInvalidatingKey), "1", "EX", "60"});  // as InvalidateAll sets it before its SCAN
  auto during = cache.GetMany({{user, "/p"}});
  auto single = cache.Get(user, "/p");
  Raw({"DEL", std::string(kInvalidatingKey)});
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_FALSE(during->counts.front().has_value()) << "a cached count served during an invalidation";
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_FALSE(single->has_value());
  EXPECT_EQ(**cache.Get(user, "/p"), 5);  // and served again once it is over
}

TEST(RedisCountCache, InvalidateAllRemovesItsMarkerWhenDone) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("u");
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 5}}).ok());
  ASSERT_TRUE(cache.InvalidateAll().ok());
  EXPECT_EQ(Raw({"EXISTS", std::string(kInvalidatingKey)}), "0");
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 6}}).ok());
  EXPECT_EQ(**cache.Get(user, "/p"), 6);
}

TEST(RedisCountCache, RaiseToKeepsTheMaximum) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("u");
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 5}}).ok());
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 3}}).ok());  // an older count arriving late
  EXPECT_EQ(**cache.Get(user, "/p"), 5);
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 9}}).ok());
  EXPECT_EQ(**cache.Get(user, "/p"), 9);
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 10}}).ok());
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 9}}).ok());  // compared as numbers: "9" sorts after "10" as text
  EXPECT_EQ(**cache.Get(user, "/p"), 10);
  EXPECT_GT(std::stoll(Raw({"TTL", domain::CountCacheKey(user, "/p")})), 0);  // and the kept count still expires
}

// A count key holding something that is not a number (written by hand, say) is replaced, not an error.
TEST(RedisCountCache, RaiseToReplacesAValueThatIsNotACount) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("u");
  Raw({"SET", domain::CountCacheKey(user, "/p"), "not a count"});
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 4}}).ok());
  EXPECT_EQ(Raw({"GET", domain::CountCacheKey(user, "/p")}), "4");
}

TEST(RedisCountCache, WritesUnderTheCollisionFreeKeyWithATtl) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("a") + "__+__b";
  ASSERT_TRUE(cache.RaiseTo({{user, "c", 1}, {UniqueId("a"), "b__+__c", 2}}).ok());
  const std::string key = domain::CountCacheKey(user, "c");
  EXPECT_EQ(Raw({"GET", key}), "1");
  EXPECT_GT(std::stoll(Raw({"TTL", key})), 0);
}

TEST(RedisCountCache, RaisesManyPairsAcrossChunks) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("bulk");
  std::vector<domain::PageCount> counts;
  for (int i = 0; i < 1200; ++i) counts.push_back({user, "/p" + std::to_string(i), i + 1});
  ASSERT_TRUE(cache.RaiseTo(counts).ok());
  EXPECT_EQ(**cache.Get(user, "/p1199"), 1200);
  EXPECT_EQ(**cache.Get(user, "/p0"), 1);
}

TEST(RedisCountCache, RecoversWhenTheServerForgetsTheScript) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("u");
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 1}}).ok());
  Raw({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 2}}).ok());
  EXPECT_EQ(**cache.Get(user, "/p"), 2);
}

TEST(RedisCountCache, InvalidateAllDropsOnlyCountKeys) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("u");
  const std::string other = UniqueId("not-a-count");
  Raw({"SET", other, "x"});
  ASSERT_TRUE(cache.RaiseTo({{user, "/p", 4}}).ok());
  ASSERT_TRUE(cache.InvalidateAll().ok());
  EXPECT_FALSE(cache.Get(user, "/p")->has_value());
  EXPECT_EQ(Raw({"GET", other}), "x");
}

TEST(RedisCountCache, GetManyAnswersEveryPairInOrderInOneCall) {
  RedisCountCache cache(Options());
  const std::string user = UniqueId("u");
  ASSERT_TRUE(cache.RaiseTo({{user, "/a", 3}, {user, "/c", 5}}).ok());
  auto counts = cache.GetMany({{user, "/a"}, {user, "/b"}, {user, "/c"}, {user, "/a"}});
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->counts.size(), 4u);
  EXPECT_EQ(counts->counts[0], 3);
  EXPECT_FALSE(counts->counts[1].has_value());
  EXPECT_EQ(counts->counts[2], 5);
  EXPECT_EQ(counts->counts[3], 3);
  auto none = cache.GetMany({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->counts.empty());
}

// The processor's word on how far the cache reaches comes back with every read: each partition's offset and the
// newest event time only ever raised (two processors with their own partitions, a late writer), its age by Redis'
// clock.
TEST(RedisCountCache, ReadsReportHowFarTheProcessorSaidTheCacheReaches) {
  RedisCountCache cache(Options());
  Raw({"DEL", std::string(kAppliedKey)});
  auto before = cache.GetMany({{UniqueId("u"), "/p"}});
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->freshness.source, domain::CountSource::kCache);
  EXPECT_TRUE(before->freshness.position.empty());
  EXPECT_EQ(before->freshness.age_ms, -1);

  ASSERT_TRUE(cache.RecordApplied({{0, 40}, {1, 7}}, 1'700'000'000'000'123).ok());
  ASSERT_TRUE(cache.RecordApplied({{2, 9}}, 1'600'000'000'000'000).ok());  // another processor, older events
  ASSERT_TRUE(cache.RecordApplied({{0, 39}}, 0).ok());                     // late: moves nothing back
  auto after = cache.GetMany({{UniqueId("u"), "/p"}});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->freshness.position, (domain::Position{{0, 40}, {1, 7}, {2, 9}}));
  EXPECT_EQ(after->freshness.newest_event_time_us, 1'700'000'000'000'123);
  EXPECT_GE(after->freshness.age_ms, 0);
  EXPECT_LT(after->freshness.age_ms, 10'000);
  Raw({"DEL", std::string(kAppliedKey)});
}

TEST(RedisCountCache, ClosedPortFailsFastAsUnavailable) {
  RedisOptions options;
  options.address = "127.0.0.1:1";
  RedisCountCache cache(options);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cache.Get("u", "/p").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cache.RaiseTo({{"u", "/p", 1}}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cache.GetMany({{"u", "/p"}}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cache.RecordApplied({{0, 1}}, 0).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cache.Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace clickstream::redis
