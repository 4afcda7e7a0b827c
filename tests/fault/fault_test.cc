// Fault tests: real traffic with unique event_ids, a fault injected in the middle (a service killed, Kafka,
// PostgreSQL or Redis stopped), recovery, and then the proof: every acknowledged event is counted exactly once
// and nothing else is. Clients behave as real ones do: a post that is not acknowledged is retried with the same
// event_id until it is. Each test prints one summary line: acknowledged, counted, lost, double counted.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "support/http_client.h"
#include "support/pipeline_client.h"
#include "support/service_process.h"
#include "support/test_infra.h"

namespace clickstream {
namespace {

using namespace testing_support;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Posts events from several threads, each retried until acknowledged, and records what was acknowledged.
class Traffic {
 public:
  Traffic(uint16_t ingest_port, std::string run, int pairs) : ingest_port_(ingest_port), run_(std::move(run)) {
    for (int i = 0; i < pairs; ++i)
      pairs_.push_back({run_ + "-user-" + std::to_string(i % 7), "/p" + std::to_string(i)});
  }
  ~Traffic() { Wait(); }

  // Posts `total` events from `threads` threads, pausing `pause` between posts of one thread; their indices (and
  // so event_ids) start at `first`.
  void Start(int total, int threads = 4, std::chrono::milliseconds pause = 0ms, int first = 0) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, t, total, threads, pause, first] {
        HttpConnection ingest(ingest_port_);
        for (int i = first + t; i < first + total; i += threads) {
          PostUntilAcknowledged(ingest, i);
          posted_.fetch_add(1);
          if (pause.count() > 0) std::this_thread::sleep_for(pause);
        }
      });
    }
  }

  void Wait() {
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

  // Blocks until `n` events have been acknowledged (or given up on).
  void WaitForPosted(int n) {
    while (posted_.load() < n) std::this_thread::sleep_for(10ms);
  }

  // The event_ids acknowledged, by pair.
  std::map<Pair, std::set<std::string>> AcknowledgedIds() const {
    std::lock_guard lock(mutex_);
    std::map<Pair, std::set<std::string>> ids;
    for (const auto& pair : pairs_) ids[pair];
    for (int index : acknowledged_) ids[PairOf(index)].insert(EventId(index));
    return ids;
  }

  std::map<Pair, int64_t> Expected() const {
    std::lock_guard lock(mutex_);
    std::map<Pair, int64_t> expected;
    for (const auto& pair : pairs_) expected[pair] = 0;
    for (int index : acknowledged_) ++expected[PairOf(index)];
    return expected;
  }
  int acknowledged() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(acknowledged_.size());
  }
  int refusals() const { return refusals_.load(); }
  int abandoned() const { return abandoned_.load(); }
  const std::string& run() const { return run_; }

 private:
  const Pair& PairOf(int index) const { return pairs_[index % pairs_.size()]; }
  std::string EventId(int index) const { return run_ + "-evt-" + std::to_string(index); }

  void PostUntilAcknowledged(HttpConnection& ingest, int index) {
    const auto& [user, page] = PairOf(index);
    const std::string body = EventJson(EventId(index), user, page);
    const auto give_up = Clock::now() + 90s;
    while (Clock::now() < give_up) {
      const auto result = ingest.Request("POST", "/ingest", body, "application/json", 15000);
      if (result.status == 200) {
        std::lock_guard lock(mutex_);
        acknowledged_.insert(index);
        return;
      }
      refusals_.fetch_add(1);
      std::this_thread::sleep_for(100ms);
    }
    abandoned_.fetch_add(1);
  }

  const uint16_t ingest_port_;
  const std::string run_;
  std::vector<Pair> pairs_;
  mutable std::mutex mutex_;
  std::set<int> acknowledged_;
  std::atomic<int> posted_{0};
  std::atomic<int> refusals_{0};
  std::atomic<int> abandoned_{0};
  std::vector<std::thread> threads_;
};

// The pid a component of the test infrastructure runs under, from its pid file (Kafka, Redis).
pid_t ComponentPid(const std::string& component) {
  std::ifstream pid_file(TestInfra().state_dir + "/" + component + "/" + component + ".pid");
  pid_t pid = 0;
  pid_file >> pid;
  return pid;
}

class FaultTest : public testing::Test {
 protected:
  void SetUp() override {
    // A consumer group of its own, so processors of other tests never share partitions with this one's.
    base_env_ = ServiceEnvironment(ports_, {{"CLICKSTREAM_CONSUMER_GROUP", UniqueId("fault-group")},
                                            {"CLICKSTREAM_PUBLISH_TIMEOUT_MS", "2000"},
                                            {"CLICKSTREAM_BATCH_WAIT_MS", "50"}});
  }

  void TearDown() override {
    // Leave the shared infrastructure running for the next test whatever happened here.
    for (const char* component : {"postgres", "redis", "kafka"}) StartComponent(component);
  }

  std::unique_ptr<ServiceProcess> Launch(const std::string& command, uint16_t ready_port,
                                         std::map<std::string, std::string> extra = {}) {
    auto env = base_env_;
    for (auto& [name, value] : extra) env[name] = std::move(value);
    auto process = std::make_unique<ServiceProcess>(command, env, "fault-" + command);
    process->Start();
    EXPECT_TRUE(process->WaitReady(ready_port)) << command << " never became ready; log: " << process->log_path();
    return process;
  }

  void StartStack() {
    analytics_ = Launch("analytics", ports_.analytics_health);
    processor_ = Launch("processor", ports_.processor);
    gateway_ = Launch("gateway", ports_.gateway);
    ingestion_ = Launch("ingestion", ports_.ingestion);
  }

  // Every acknowledged event counted once through the gateway, and in the database exactly the acknowledged
  // events of this run: nothing lost, nothing double counted, nothing else.
  void ExpectExact(const std::string& fault, const Traffic& traffic) {
    EXPECT_EQ(traffic.abandoned(), 0) << "some posts were never acknowledged";
    const auto expected = traffic.Expected();
    const auto wrong = WaitForCounts(ports_.gateway, expected, 60s);
    int64_t lost = 0, doubled = 0, counted = 0;
    for (const auto& [pair, count] : expected) {
      const auto it = wrong.find(pair);
      const int64_t seen = it == wrong.end() ? count : it->second;
      counted += std::max<int64_t>(seen, 0);
      if (seen < count) lost += count - std::max<int64_t>(seen, 0);
      if (seen > count) doubled += seen - count;
    }
    // Against the raw rows, pair by pair and event by event, so a lost and a double-counted event cannot cancel:
    // the stored event_ids of each pair are exactly the acknowledged ones, and the pair's counter equals them.
    pqxx::connection connection(TestInfra().database_url);
    pqxx::nontransaction tx(connection);
    std::map<Pair, std::set<std::string>> stored;
    for (const auto& row : tx.exec_params("SELECT user_id, page_url, event_id FROM click_events WHERE event_id LIKE $1",
                                          traffic.run() + "-evt-%")) {
      stored[{row[0].as<std::string>(), row[1].as<std::string>()}].insert(row[2].as<std::string>());
    }
    std::map<Pair, int64_t> counters;
    for (const auto& row :
         tx.exec_params("SELECT user_id, page_url, click_count FROM page_clicks WHERE user_id LIKE $1",
                        traffic.run() + "-user-%")) {
      counters[{row[0].as<std::string>(), row[1].as<std::string>()}] = row[2].as<int64_t>();
    }
    int64_t rows = 0, rows_not_acknowledged = 0, acknowledged_not_stored = 0, counter_mismatches = 0;
    for (const auto& [pair, ids] : traffic.AcknowledgedIds()) {
      const auto& rows_of_pair = stored[pair];
      rows += static_cast<int64_t>(rows_of_pair.size());
      for (const auto& id : rows_of_pair) rows_not_acknowledged += ids.count(id) == 0;
      for (const auto& id : ids) acknowledged_not_stored += rows_of_pair.count(id) == 0;
      const int64_t counter = counters.count(pair) ? counters[pair] : 0;
      if (counter != static_cast<int64_t>(rows_of_pair.size()) || counter != static_cast<int64_t>(ids.size())) {
        ++counter_mismatches;
        ADD_FAILURE() << pair.first << " " << pair.second << ": counter " << counter << ", rows " << rows_of_pair.size()
                      << ", acknowledged " << ids.size();
      }
    }
    std::printf(
        "fault=%s acknowledged=%d refused_attempts=%d counted=%lld lost=%lld double_counted=%lld "
        "stored_rows=%lld counter_mismatches=%lld\n",
        fault.c_str(), traffic.acknowledged(), traffic.refusals(), static_cast<long long>(counted),
        static_cast<long long>(lost), static_cast<long long>(doubled), static_cast<long long>(rows),
        static_cast<long long>(counter_mismatches));
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " pairs with wrong counts through the gateway";
    EXPECT_EQ(lost, 0);
    EXPECT_EQ(doubled, 0);
    EXPECT_EQ(acknowledged_not_stored, 0) << "acknowledged events missing from click_events";
    EXPECT_EQ(rows_not_acknowledged, 0) << "stored events other than the acknowledged ones";
    EXPECT_EQ(stored.size(), traffic.AcknowledgedIds().size()) << "rows under pairs no client posted to";
    EXPECT_EQ(counter_mismatches, 0);
  }

  // A counter of the service's /metrics on `port` (the first series of that name), -1 when absent.
  static double MetricValue(uint16_t port, const std::string& name) {
    HttpConnection connection(port);
    const auto answer = connection.Request("GET", "/metrics");
    const auto at = answer.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(answer.body.substr(at + name.size() + 2));
  }

  const ServicePorts ports_ = ServicePorts::FreePorts();
  std::map<std::string, std::string> base_env_;
  std::unique_ptr<ServiceProcess> analytics_, processor_, gateway_, ingestion_;
};

TEST_F(FaultTest, ProcessorKilledMidStreamThenRestarted) {
  StartStack();
  Traffic traffic(ports_.ingestion, UniqueId("kill-processor"), 40);
  traffic.Start(3000);
  traffic.WaitForPosted(1000);
  processor_->Signal(SIGKILL);
  std::this_thread::sleep_for(1s);
  processor_ = Launch("processor", ports_.processor);
  traffic.Wait();
  ExpectExact("processor-sigkill", traffic);
}

TEST_F(FaultTest, BrokerStoppedAndRestartedDuringIngestion) {
  StartStack();
  Traffic traffic(ports_.ingestion, UniqueId("kafka-restart"), 40);
  traffic.Start(1500, 4, 2ms);
  traffic.WaitForPosted(400);
  ASSERT_EQ(StopComponent("kafka"), 0);
  std::this_thread::sleep_for(4s);
  ASSERT_EQ(StartComponent("kafka"), 0);
  traffic.Wait();
  // Posts during the outage were refused (503) and retried with the same event_id after it.
  EXPECT_GT(traffic.refusals(), 0);
  ExpectExact("kafka-restart", traffic);
}

TEST_F(FaultTest, PostgresStoppedUnderLoadWithTheProcessorKilledMeanwhile) {
  StartStack();
  Traffic traffic(ports_.ingestion, UniqueId("postgres-restart"), 40);
  traffic.Start(2000, 4, 1ms);
  traffic.WaitForPosted(500);
  ASSERT_EQ(StopComponent("postgres"), 0);
  std::this_thread::sleep_for(3s);
  // Had the processor committed offsets it had not stored, these events would now be lost.
  processor_->Signal(SIGKILL);
  ASSERT_EQ(StartComponent("postgres"), 0);
  processor_ = Launch("processor", ports_.processor);
  traffic.Wait();
  EXPECT_EQ(traffic.refusals(), 0) << "ingestion does not depend on PostgreSQL";
  ExpectExact("postgres-restart", traffic);
}

TEST_F(FaultTest, RedisStoppedUnderLoadCountsNeverGoBackwards) {
  StartStack();
  Traffic traffic(ports_.ingestion, UniqueId("redis-restart"), 20);
  const auto expected_pairs = traffic.Expected();
  std::atomic<bool> querying{true};
  std::atomic<int> regressions{0}, failures{0}, answers{0};
  std::thread reader([&] {
    HttpConnection gateway(ports_.gateway);
    std::map<Pair, int64_t> highest;
    while (querying.load()) {
      for (const auto& [pair, unused] : expected_pairs) {
        const int64_t seen = QueryCount(gateway, pair.first, pair.second);
        if (seen < 0) {
          failures.fetch_add(1);
          continue;
        }
        answers.fetch_add(1);
        if (seen < highest[pair]) regressions.fetch_add(1);
        highest[pair] = std::max(highest[pair], seen);
      }
    }
  });
  traffic.Start(2000, 4, 2ms);
  traffic.WaitForPosted(500);
  ASSERT_EQ(StopComponent("redis"), 0);
  std::this_thread::sleep_for(3s);
  ASSERT_EQ(StartComponent("redis"), 0);
  traffic.Wait();
  ExpectExact("redis-restart", traffic);
  querying.store(false);
  reader.join();
  std::printf("fault=redis-restart queries=%d failed=%d went_backwards=%d\n", answers.load(), failures.load(),
              regressions.load());
  EXPECT_GT(answers.load(), 0);
  EXPECT_EQ(failures.load(), 0) << "queries must keep answering from PostgreSQL while Redis is down";
  EXPECT_EQ(regressions.load(), 0) << "a count went lower than an earlier answer for the same pair";
}

// Redis alive but unreachable (stopped with SIGSTOP, its data kept), and the processor restarted meanwhile: the
// counts it could not write must not be lost with it, or the cache serves the old counts as hits when Redis
// comes back.
TEST_F(FaultTest, RedisPausedWhileTheProcessorRestartsLeavesNoStaleCounts) {
  StartStack();
  Traffic traffic(ports_.ingestion, UniqueId("redis-paused"), 10);
  traffic.Start(200);
  traffic.Wait();
  ASSERT_TRUE(WaitForCounts(ports_.gateway, traffic.Expected()).empty());  // now cached
  const pid_t redis_pid = ComponentPid("redis");
  ASSERT_GT(redis_pid, 0) << "no redis pid file";
  ASSERT_EQ(kill(redis_pid, SIGSTOP), 0);
  // The same pairs again, applied while the cache cannot be written.
  traffic.Start(400, 4, 0ms, 200);
  traffic.Wait();
  const auto deadline = Clock::now() + 20s;
  pqxx::connection connection(TestInfra().database_url);
  int64_t stored = 0;
  while (Clock::now() < deadline && stored < traffic.acknowledged()) {
    pqxx::nontransaction tx(connection);
    stored = tx.exec_params1("SELECT count(*) FROM click_events WHERE event_id LIKE $1", traffic.run() + "-evt-%")[0]
                 .as<int64_t>();
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(stored, traffic.acknowledged()) << "the processor did not apply the events while Redis was paused";
  processor_->Signal(SIGKILL);
  processor_ = Launch("processor", ports_.processor);
  std::this_thread::sleep_for(2s);  // the new processor runs a while with the cache still unreachable
  ASSERT_EQ(kill(redis_pid, SIGCONT), 0);
  const auto expected = traffic.Expected();
  const auto wrong = WaitForCounts(ports_.gateway, expected, 30s);
  for (const auto& [pair, seen] : wrong) {
    ADD_FAILURE() << pair.first << " " << pair.second << ": the gateway answers " << seen << ", expected "
                  << expected.at(pair);
  }
  ExpectExact("redis-paused-processor-restarted", traffic);
}

TEST_F(FaultTest, AnalyticsStoppedGatewayAnswers503WithinDeadlineAndRecovers) {
  StartStack();
  const std::string user = UniqueId("analytics-down");
  HttpConnection ingest(ports_.ingestion);
  ASSERT_EQ(ingest.Request("POST", "/ingest", EventJson(UniqueId("evt"), user, "/a")).status, 200);
  ASSERT_TRUE(WaitForCounts(ports_.gateway, {{{user, "/a"}, 1}}).empty());

  analytics_->Signal(SIGKILL);
  HttpConnection gateway(ports_.gateway);
  const auto start = Clock::now();
  const auto answer = gateway.Request("GET", "/analytics/events?user_id=" + UrlEncode(user) + "&page_url=%2Fa");
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(answer.status, 503) << answer.body;
  EXPECT_EQ(answer.Header("Content-Type"), "application/json");
  EXPECT_LT(elapsed, 3s) << "the gateway must answer within its deadline (3 s here)";
  std::printf("fault=analytics-down gateway_answer=%d in %lld ms\n", answer.status,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));

  analytics_ = Launch("analytics", ports_.analytics_health);
  // The gateway reconnects by itself: no restart of the gateway.
  EXPECT_TRUE(WaitForCounts(ports_.gateway, {{{user, "/a"}, 1}}, 30s).empty());
}

// Analytics hanging, not refusing (SIGSTOP keeps its connections open and answers nothing): look-ups arriving one
// after another queue behind the batch in flight, and each must still get its JSON 504 by its own deadline (3 s
// here), not by the deadlines of the batches in front of it added up.
TEST_F(FaultTest, AnalyticsHangingEveryQueuedLookUpGets504ByItsOwnDeadline) {
  analytics_ = Launch("analytics", ports_.analytics_health);
  gateway_ = Launch("gateway", ports_.gateway);
  const std::string user = UniqueId("analytics-hangs");
  {
    HttpConnection gateway(ports_.gateway);
    ASSERT_EQ(gateway.Request("GET", "/analytics/events?user_id=" + UrlEncode(user) + "&page_url=%2Fwarm").status, 200);
  }
  ASSERT_TRUE(analytics_->Send(SIGSTOP));
  struct Resume {  // whatever the assertions do, analytics runs again for the next steps and its own teardown
    ServiceProcess& analytics;
    ~Resume() { analytics.Send(SIGCONT); }
  } resume{*analytics_};

  constexpr int kLookUps = 8;
  constexpr auto kDeadline = 3000ms;
  struct Outcome {
    HttpResult answer;
    Clock::duration elapsed{};
  };
  std::vector<Outcome> outcomes(kLookUps);
  std::vector<std::thread> clients;
  for (int i = 0; i < kLookUps; ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(i * 200ms);  // each arrives while the ones before it still wait
      HttpConnection gateway(ports_.gateway);
      const auto start = Clock::now();
      outcomes[i].answer =
          gateway.Request("GET", "/analytics/events?user_id=" + UrlEncode(user) + "&page_url=%2Fq" + std::to_string(i),
                          "", "application/json", 30000);
      outcomes[i].elapsed = Clock::now() - start;
    });
  }
  for (auto& client : clients) client.join();
  long long slowest_ms = 0;
  for (int i = 0; i < kLookUps; ++i) {
    const auto& [answer, elapsed] = outcomes[i];
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    slowest_ms = std::max<long long>(slowest_ms, ms);
    EXPECT_EQ(answer.status, 504) << "look-up " << i << ": " << answer.body;
    EXPECT_EQ(answer.Header("Content-Type"), "application/json") << "look-up " << i;
    EXPECT_NE(answer.body.find(R"("error":)"), std::string::npos) << "look-up " << i << ": " << answer.body;
    EXPECT_LT(elapsed, kDeadline + 1s) << "look-up " << i << " answered after " << ms << " ms";
    EXPECT_GE(elapsed, kDeadline - 100ms) << "look-up " << i << " answered 504 before its deadline";
  }
  std::printf("fault=analytics-hangs lookups=%d slowest_504_ms=%lld\n", kLookUps, slowest_ms);

  analytics_->Send(SIGCONT);
  EXPECT_TRUE(WaitForCounts(ports_.gateway, {{{user, "/warm"}, 0}}, 30s).empty()) << "the gateway recovers";
}

TEST_F(FaultTest, TwoProcessorsInOneGroupOneKilledMidStream) {
  StartStack();
  const uint16_t second_port = FreePort();
  auto second = Launch("processor", second_port, {{"CLICKSTREAM_PROCESSOR_PORT", std::to_string(second_port)}});
  Traffic traffic(ports_.ingestion, UniqueId("rebalance"), 40);
  traffic.Start(3000, 4, 1ms);
  traffic.WaitForPosted(1000);
  // Both processors own partitions and apply records: otherwise this is a one-processor test.
  const auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline && (MetricValue(ports_.processor, "clickstream_processor_records_total") <= 0 ||
                                     MetricValue(second_port, "clickstream_processor_records_total") <= 0)) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(MetricValue(ports_.processor, "clickstream_processor_records_total"), 0);
  EXPECT_GT(MetricValue(second_port, "clickstream_processor_records_total"), 0);
  // No clean leave: the group notices the dead member only after its session timeout, then rebalances.
  second->Signal(SIGKILL);
  traffic.Wait();
  ExpectExact("rebalance-one-of-two-killed", traffic);
}

// Sticky partitioning spreads one pair's events, and a retried event_id, over several partitions, so two processors
// update the same counter rows and may hold the same event_id at once: each waits for the other's transaction, and
// nothing may be lost or counted twice. Every event is posted twice, by two sets of clients at the same time.
TEST_F(FaultTest, StickyPartitioningWithTwoProcessorsCountsSharedCountersExactly) {
  base_env_["CLICKSTREAM_PARTITIONING"] = "sticky";
  StartStack();
  const uint16_t second_port = FreePort();
  auto second = Launch("processor", second_port, {{"CLICKSTREAM_PROCESSOR_PORT", std::to_string(second_port)}});
  Traffic traffic(ports_.ingestion, UniqueId("sticky"), 12);
  traffic.Start(3000, 6);
  traffic.Start(3000, 6);  // the same event_ids again
  traffic.Wait();
  ExpectExact("sticky-two-processors", traffic);
  // Both took part (the group's topic is shared with other tests, so this says only that each one applied).
  EXPECT_GT(MetricValue(ports_.processor, "clickstream_processor_records_total"), 0);
  EXPECT_GT(MetricValue(second_port, "clickstream_processor_records_total"), 0);
}

// SIGTERM while the broker hangs (stopped, not refusing) and posts wait for their acknowledgement: ingestion must
// answer or close every pending request and exit cleanly within its grace period, and every 200 it sent must be
// counted. The clients retry what was not acknowledged, as real ones do, against a new ingestion.
TEST_F(FaultTest, SigtermWhileTheBrokerHangsExitsCleanlyAndEvery200IsCounted) {
  base_env_["CLICKSTREAM_SHUTDOWN_GRACE_MS"] = "1000";
  StartStack();
  Traffic traffic(ports_.ingestion, UniqueId("sigterm-broker-hangs"), 20);
  traffic.Start(300, 4);
  traffic.Wait();
  const pid_t kafka = ComponentPid("kafka");
  ASSERT_GT(kafka, 0);
  ASSERT_EQ(kill(kafka, SIGSTOP), 0);
  traffic.Start(400, 16, 0ms, 300);
  std::this_thread::sleep_for(500ms);  // the posts now wait for an acknowledgement that does not come
  const auto start = Clock::now();
  const int status = ingestion_->Signal(SIGTERM, 20s);
  const auto took = Clock::now() - start;
  kill(kafka, SIGCONT);
  EXPECT_EQ(status, 0) << "ingestion did not exit cleanly on SIGTERM with posts pending; log: "
                       << ingestion_->log_path();
  EXPECT_LT(took, 5s) << "the grace period is 1 s";
  ingestion_ = Launch("ingestion", ports_.ingestion);
  traffic.Wait();
  ExpectExact("sigterm-while-broker-hangs", traffic);
}

// SIGTERM on the gateway while analytics hangs and look-ups wait for it: the gateway answers or closes each and
// exits cleanly, bounded by its grace period and query deadline.
TEST_F(FaultTest, SigtermOnTheGatewayWhileAnalyticsHangsExitsCleanly) {
  base_env_["CLICKSTREAM_SHUTDOWN_GRACE_MS"] = "1000";
  base_env_["CLICKSTREAM_QUERY_DEADLINE_MS"] = "1500";
  StartStack();
  ASSERT_EQ(kill(analytics_->pid(), SIGSTOP), 0);
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      HttpConnection gateway(ports_.gateway);
      const auto result = gateway.Request("GET", "/analytics/events?user_id=u" + std::to_string(i) + "&page_url=%2F",
                                          "", "application/json", 10000);
      if (result.status == 503 || result.status == 504) answered.fetch_add(1);
      EXPECT_NE(result.status, 200);
    });
  }
  std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  const int status = gateway_->Signal(SIGTERM, 20s);
  const auto took = Clock::now() - start;
  for (auto& client : clients) client.join();
  kill(analytics_->pid(), SIGCONT);
  EXPECT_EQ(status, 0) << "the gateway did not exit cleanly on SIGTERM; log: " << gateway_->log_path();
  EXPECT_LT(took, 6s);
  std::printf("fault=sigterm-gateway-analytics-hangs answered=%d of 8 exit_ms=%lld\n", answered.load(),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

// One hostile client while the broker hangs: many connections, each posting the largest batch bodies of long,
// random events as fast as it can. With the default in-flight bounds and the connection cap the manifests' 512 MiB
// container is sized for (32 per instance), ingestion stays inside 512 MiB; bounded by event count alone it did not.
TEST_F(FaultTest, HangingBrokerAndOneHostileClientStayInsideTheContainerMemoryLimit) {
  constexpr int kConnections = 96;
  constexpr int64_t kContainerLimitKib = 512 * 1024;
  ingestion_ = Launch("ingestion", ports_.ingestion, {{"CLICKSTREAM_HTTP_MAX_CONNECTIONS", "32"}});
  std::mt19937_64 random(std::random_device{}());
  auto random_text = [&random](std::size_t bytes) {
    std::string text;
    while (text.size() < bytes) text += static_cast<char>('a' + random() % 26);
    return text;
  };
  std::string body;  // about 4 MB of NDJSON: 1,000 events of about 4 kB, under the 4 MiB batch limit
  const std::string user = UniqueId("hostile");
  for (int i = 0; i < 1000; ++i) {
    body += EventJson(UniqueId("evt") + random_text(900), user + random_text(1000), "/" + random_text(2000)) + "\n";
  }
  ASSERT_LT(body.size(), 4u << 20);
  const pid_t kafka = ComponentPid("kafka");
  ASSERT_EQ(kill(kafka, SIGSTOP), 0);
  const int64_t rss_before = ingestion_->ResidentKib();
  std::atomic<bool> flooding{true};
  std::atomic<int64_t> peak{rss_before};
  std::atomic<int> answered{0}, accepted{0};
  std::thread sampler([&] {
    while (flooding.load()) {
      peak.store(std::max(peak.load(), ingestion_->ResidentKib()));
      std::this_thread::sleep_for(20ms);
    }
  });
  std::vector<std::thread> clients;
  const auto flood_end = Clock::now() + 10s;
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&] {
      HttpConnection ingest(ports_.ingestion);
      while (Clock::now() < flood_end) {
        const auto result = ingest.Request("POST", "/ingest/batch", body, "application/x-ndjson", 3000);
        if (result.status > 0) answered.fetch_add(1);
        if (result.status == 200) accepted.fetch_add(1);
      }
    });
  }
  for (auto& client : clients) client.join();
  flooding.store(false);
  sampler.join();
  kill(kafka, SIGCONT);
  std::printf("fault=hostile-client-broker-hangs answered=%d accepted=%d rss_before_kib=%lld rss_peak_kib=%lld\n",
              answered.load(), accepted.load(), static_cast<long long>(rss_before),
              static_cast<long long>(peak.load()));
  EXPECT_TRUE(ingestion_->Running()) << "ingestion died; log: " << ingestion_->log_path();
  EXPECT_EQ(accepted.load(), 0) << "nothing can be acknowledged while the broker hangs";
  EXPECT_GT(answered.load(), 0) << "refusals must be answered";
  EXPECT_LT(peak.load(), kContainerLimitKib) << "past the container's memory limit";
}

// Live processors only, no crash: a third joins the group mid-stream and leaves again, so partitions move twice
// between members while records are in flight: records a member applied but had not committed when its partition
// moved are delivered again to the next owner. Nothing may be lost or counted twice.
TEST_F(FaultTest, LiveProcessorsRebalancingOnOverlappingRedeliveriesCountExactly) {
  StartStack();
  const uint16_t second_port = FreePort(), third_port = FreePort();
  auto second = Launch("processor", second_port, {{"CLICKSTREAM_PROCESSOR_PORT", std::to_string(second_port)}});
  Traffic traffic(ports_.ingestion, UniqueId("live-rebalance"), 40);
  traffic.Start(4000, 4, 1ms);
  traffic.WaitForPosted(1000);
  auto third = Launch("processor", third_port, {{"CLICKSTREAM_PROCESSOR_PORT", std::to_string(third_port)}});
  traffic.WaitForPosted(2500);
  EXPECT_EQ(third->Signal(SIGTERM), 0) << "the third processor did not leave cleanly; log: " << third->log_path();
  traffic.Wait();
  ExpectExact("live-processors-rebalancing", traffic);
  // Every processor that stayed took part.
  EXPECT_GT(MetricValue(ports_.processor, "clickstream_processor_records_total"), 0);
  EXPECT_GT(MetricValue(second_port, "clickstream_processor_records_total"), 0);
}

// One processor runs CLICKSTREAM_PROCESSOR_CONSUMERS consumers of the group (2 by default), which share the
// topic's partitions and apply their batches on a PostgreSQL connection each: two connections opened since this
// processor started run the apply statement, and every event is counted once.
TEST_F(FaultTest, TwoConsumersOfOneProcessorApplyOnTwoConnectionsAndCountExactly) {
  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  const auto started = tx.exec1("SELECT now()::text")[0].as<std::string>();
  StartStack();
  Traffic traffic(ports_.ingestion, UniqueId("consumers"), 40);
  traffic.Start(4000, 4, 1ms);
  std::set<int64_t> appliers;  // backends that ran the statement applying a batch
  const auto deadline = Clock::now() + 60s;
  while (appliers.size() < 2 && Clock::now() < deadline) {
    for (const auto& row : tx.exec_params("SELECT pid FROM pg_stat_activity WHERE backend_start >= $1::timestamptz"
                                          " AND query LIKE '%INSERT INTO click_events%'",
                                          started)) {
      appliers.insert(row[0].as<int64_t>());
    }
    std::this_thread::sleep_for(20ms);
  }
  traffic.Wait();
  EXPECT_EQ(appliers.size(), 2u) << "connections that applied batches; log: " << processor_->log_path();
  ExpectExact("two-consumers-of-one-processor", traffic);
}

TEST_F(FaultTest, FloodWhileTheBrokerIsStoppedIsRefusedWithBoundedMemory) {
  // More clients than in-flight slots: the slots fill with posts waiting for the absent broker, and everything
  // beyond them must be refused at once rather than queued.
  constexpr int kClients = 64, kSlots = 16;
  constexpr auto kFloodFor = 8s;
  ingestion_ = Launch("ingestion", ports_.ingestion, {{"CLICKSTREAM_MAX_IN_FLIGHT", std::to_string(kSlots)}});
  const int64_t rss_before = ingestion_->ResidentKib();
  ASSERT_EQ(StopComponent("kafka"), 0);
  std::atomic<int> ok{0}, refused{0}, with_retry_after{0}, other{0}, requests{0};
  const auto flood_end = Clock::now() + kFloodFor;
  std::atomic<int64_t> peak_rss{rss_before};
  std::vector<std::thread> flood;
  const std::string padding(1500, 'x');
  for (int t = 0; t < kClients; ++t) {
    flood.emplace_back([&, t] {
      HttpConnection ingest(ports_.ingestion);
      for (int i = 0; Clock::now() < flood_end; ++i) {
        requests.fetch_add(1);
        const std::string id = UniqueId("flood") + "-" + std::to_string(t) + "-" + std::to_string(i);
        const auto result =
            ingest.Request("POST", "/ingest", EventJson(id, "flood-user", "/f?" + padding), "application/json", 15000);
        if (result.status == 200)
          ok.fetch_add(1);
        else if (result.status == 503)
          refused.fetch_add(1);
        else
          other.fetch_add(1);
        if (!result.Header("Retry-After").empty()) with_retry_after.fetch_add(1);
        if (t == 0 && i % 10 == 0) {
          int64_t rss = ingestion_->ResidentKib();
          int64_t peak = peak_rss.load();
          while (rss > peak && !peak_rss.compare_exchange_weak(peak, rss)) {
          }
        }
      }
    });
  }
  for (auto& thread : flood) thread.join();
  const int64_t rss_after = ingestion_->ResidentKib();
  ASSERT_EQ(StartComponent("kafka"), 0);
  std::printf(
      "fault=flood-broker-stopped requests=%d ok=%d refused_503=%d other=%d rss_before_kib=%lld "
      "rss_peak_kib=%lld rss_after_kib=%lld\n",
      requests.load(), ok.load(), refused.load(), other.load(), static_cast<long long>(rss_before),
      static_cast<long long>(std::max(peak_rss.load(), rss_after)), static_cast<long long>(rss_after));
  EXPECT_EQ(ok.load(), 0) << "nothing can be acknowledged while the broker is down";
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(refused.load(), requests.load());
  EXPECT_GT(requests.load(), 10 * kClients) << "refusals beyond the in-flight slots must be immediate";
  EXPECT_EQ(with_retry_after.load(), refused.load());
  // At most kSlots events of 1.5 KB wait in the producer; everything else is refused at once.
  EXPECT_LT(std::max(peak_rss.load(), rss_after) - rss_before, 64 * 1024) << "memory grew under the flood";
}

}  // namespace
}  // namespace clickstream
