// End to end through the public APIs: the clickstream executable ("all") against real Kafka, PostgreSQL and
// Redis. Events go in through POST /ingest and counts come out through GET /analytics/events (query string and
// JSON body) and gRPC GetEventCount and GetEventCounts.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "adapters/kafka/kafka_event_publisher.h"
#include "analytics.grpc.pb.h"
#include "domain/click_event.h"
#include "domain/position.h"
#include "support/http_client.h"
#include "support/pipeline_client.h"
#include "support/random_text.h"
#include "support/service_process.h"
#include "support/test_infra.h"

namespace clickstream {
namespace {

using namespace testing_support;
using Clock = std::chrono::steady_clock;

// The clickstream process under test (`all`), started for each test with free ports.
class PipelineTest : public testing::Test {
 protected:
  void SetUp() override {
    process_ = std::make_unique<ServiceProcess>("all", ServiceEnvironment(ports_), "e2e-clickstream");
    process_->Start();
    for (uint16_t port : {ports_.ingestion, ports_.gateway, ports_.processor, ports_.analytics_health}) {
      ASSERT_TRUE(process_->WaitReady(port))
          << "service on port " << port << " never became ready; log: " << process_->log_path();
    }
  }

  void TearDown() override {
    const int status = process_->Signal(SIGTERM);
    EXPECT_EQ(status, 0) << "clickstream did not drain and exit cleanly on SIGTERM; log: " << process_->log_path();
  }

  std::map<Pair, int64_t> WaitForCounts(const std::map<Pair, int64_t>& expected) {
    return testing_support::WaitForCounts(ports_.gateway, expected);
  }

  const ServicePorts ports_ = ServicePorts::FreePorts();
  std::unique_ptr<ServiceProcess> process_;
};

TEST_F(PipelineTest, CountsEveryAcknowledgedEventOnceThroughGatewayAndGrpc) {
  constexpr int kEvents = 2000, kPairs = 100, kThreads = 8;
  const std::string run = UniqueId("run");
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.push_back({run + "a__+__b", "c"});
  pairs.push_back({run + "a", "b__+__c"});
  for (int i = 2; i < kPairs; ++i) {
    pairs.push_back({run + "-user-" + std::to_string(i % 25), "/page/" + std::to_string(i) + "?q=a b&x=\xe2\x82\xac"});
  }
  // A fifth of the posts repeat an earlier event_id (a client retry): each must count once.
  struct Post {
    std::string id;
    int pair;
  };
  std::vector<Post> posts;
  std::mt19937 random(42);
  for (int i = 0; i < kEvents; ++i) {
    if (i >= 10 && i % 5 == 0) {
      posts.push_back(posts[random() % posts.size()]);
    } else {
      posts.push_back({run + "-evt-" + std::to_string(i), static_cast<int>(random() % kPairs)});
    }
  }
  std::vector<int> statuses(posts.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpConnection ingest(ports_.ingestion);
      for (std::size_t i = t; i < posts.size(); i += kThreads) {
        const auto& [user, page] = pairs[posts[i].pair];
        statuses[i] = ingest.Request("POST", "/ingest", EventJson(posts[i].id, user, page)).status;
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::map<Pair, std::set<std::string>> acknowledged;
  for (const auto& pair : pairs) acknowledged[pair];
  for (std::size_t i = 0; i < posts.size(); ++i) {
    EXPECT_EQ(statuses[i], 200) << "post " << i;
    if (statuses[i] == 200) acknowledged[pairs[posts[i].pair]].insert(posts[i].id);
  }
  std::map<Pair, int64_t> expected;
  for (const auto& [pair, ids] : acknowledged) expected[pair] = static_cast<int64_t>(ids.size());
  const auto wrong = WaitForCounts(expected);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " pairs with wrong counts";

  // The same counts through a JSON body on GET, as existing clients send it.
  HttpConnection gateway(ports_.gateway);
  for (int i : {0, 1, 57}) {
    const auto& [user, page] = pairs[i];
    auto result =
        gateway.Request("GET", "/analytics/events", "{\"user_id\":\"" + user + "\",\"page_url\":\"" + page + "\"}");
    EXPECT_EQ(result.status, 200);
    EXPECT_NE(result.body.find("\"count\":" + std::to_string(expected[pairs[i]]) + ","), std::string::npos)
        << result.body;
  }

  // And straight through gRPC.
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(ports_.analytics), grpc::InsecureChannelCredentials());
  auto stub = analytics::AnalyticsService::NewStub(channel);
  for (int i : {0, 1, 99}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    analytics::EventCountRequest request;
    request.set_user_id(pairs[i].first);
    request.set_page_url(pairs[i].second);
    analytics::EventCountResponse response;
    ASSERT_TRUE(stub->GetEventCount(&context, request, &response).ok());
    EXPECT_EQ(response.count(), expected[pairs[i]]);
    EXPECT_EQ(response.user_id(), pairs[i].first);
    EXPECT_EQ(response.page_url(), pairs[i].second);
  }

  // And every pair in one GetEventCounts call, with an invalid pair among them answered on its own.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  analytics::EventCountsRequest batch;
  for (const auto& [user, page] : pairs) {
    auto* pair = batch.add_pairs();
    pair->set_user_id(user);
    pair->set_page_url(page);
  }
  batch.add_pairs()->set_page_url("/no-user");
  analytics::EventCountsResponse counts;
  ASSERT_TRUE(stub->GetEventCounts(&context, batch, &counts).ok());
  ASSERT_EQ(counts.results_size(), kPairs + 1);
  for (int i = 0; i < kPairs; ++i) {
    EXPECT_EQ(counts.results(i).status_code(), 0) << counts.results(i).status_message();
    EXPECT_EQ(counts.results(i).count(), expected[pairs[i]]) << i;
  }
  EXPECT_EQ(counts.results(kPairs).status_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PipelineTest, BadRequestsGetJsonErrors) {
  HttpConnection ingest(ports_.ingestion);
  auto missing = ingest.Request("POST", "/ingest", R"({"event_id":"e","user_id":"u","event_type":"click"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find(R"("field":"page_url")"), std::string::npos) << missing.body;
  EXPECT_EQ(ingest.Request("POST", "/ingest", "{not json").status, 400);
  EXPECT_EQ(ingest.Request("GET", "/ingest").status, 405);
  EXPECT_EQ(ingest.Request("POST", "/nowhere", "{}").status, 404);
  EXPECT_EQ(ingest.Request("POST", "/ingest", "<xml/>", "application/xml").status, 415);
  EXPECT_EQ(ingest.Request("POST", "/ingest", std::string(100000, ' ')).status, 413);
  HttpConnection gateway(ports_.gateway);
  auto no_page = gateway.Request("GET", "/analytics/events?user_id=u");
  EXPECT_EQ(no_page.status, 400);
  EXPECT_EQ(no_page.Header("Content-Type"), "application/json");
  auto unknown = gateway.Request("GET", "/analytics/events?user_id=" + UniqueId("nobody") + "&page_url=%2F");
  EXPECT_EQ(unknown.status, 200);
  EXPECT_NE(unknown.body.find("\"count\":0,"), std::string::npos) << unknown.body;
}

TEST_F(PipelineTest, PoisonRecordsGoToTheDeadLetterTopicAndDoNotBlockThePartition) {
  const Infra& infra = TestInfra();
  const std::string user = UniqueId("poisoned-user");
  const std::string poison = "{\"event_id\": 17, \"marker\": \"" + UniqueId("poison") + "\"}";
  {
    kafka::PublisherOptions options;
    options.brokers = infra.kafka_broker;
    options.topic = infra.topic;
    auto publisher = kafka::KafkaEventPublisher::Create(options);
    ASSERT_TRUE(publisher.ok());
    std::promise<absl::Status> acked;
    (*publisher)->Publish(user, poison, 0, {}, [&](absl::StatusOr<domain::PartitionOffset> s) {
      acked.set_value(s.status());
    });
    ASSERT_TRUE(acked.get_future().get().ok());
  }
  // Same key, so same partition, after the poison record: it must still be counted.
  HttpConnection ingest(ports_.ingestion);
  ASSERT_EQ(ingest.Request("POST", "/ingest", EventJson(UniqueId("evt"), user, "/after")).status, 200);
  EXPECT_TRUE(WaitForCounts({{{user, "/after"}, 1}}).empty());

  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", infra.kafka_broker, error);
  conf->set("group.id", UniqueId("dlq-reader"), error);
  conf->set("auto.offset.reset", "earliest", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  consumer->subscribe({infra.dlq_topic});
  bool found = false;
  std::string reason;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!found && Clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() != RdKafka::ERR_NO_ERROR) continue;
    found = std::string(static_cast<const char*>(message->payload()), message->len()) == poison;
    if (found && message->headers() != nullptr) {
      for (const auto& h : message->headers()->get_all()) {
        if (h.key() == "dlq.reason") reason.assign(static_cast<const char*>(h.value()), h.value_size());
      }
    }
  }
  consumer->close();
  EXPECT_TRUE(found) << "the poison record never reached " << infra.dlq_topic;
  EXPECT_EQ(reason, "event_id must be a string");
}

int64_t GrpcCount(uint16_t port, const std::string& user, const std::string& page) {
  auto stub = analytics::AnalyticsService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  analytics::EventCountRequest request;
  request.set_user_id(user);
  request.set_page_url(page);
  analytics::EventCountResponse response;
  return stub->GetEventCount(&context, request, &response).ok() ? response.count() : -1;
}

// The longest ids ingestion accepts, random and incompressible: acknowledged, so they must be counted, and the
// events behind them on the same partition too.
TEST_F(PipelineTest, CountsEventsWithTheLongestIncompressibleIdsAndWhatFollowsThem) {
  std::mt19937_64 random(std::random_device{}());
  const std::string user = UniqueId("u") + RandomText(2048 - 40, random);
  const std::string page = RandomText(2048, random);
  HttpConnection ingest(ports_.ingestion);
  for (int i = 0; i < 3; ++i) {
    const std::string id = UniqueId("evt") + RandomText(2000, random);
    ASSERT_EQ(ingest.Request("POST", "/ingest", EventJson(id, user, page)).status, 200);
  }
  const std::string after = UniqueId("after");
  ASSERT_EQ(ingest.Request("POST", "/ingest", EventJson(UniqueId("evt"), user, after)).status, 200);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  int64_t long_pair = -1, next_pair = -1;
  while (Clock::now() < deadline && (long_pair != 3 || next_pair != 1)) {
    long_pair = GrpcCount(ports_.analytics, user, page);
    next_pair = GrpcCount(ports_.analytics, user, after);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(long_pair, 3);
  EXPECT_EQ(next_pair, 1);
}

TEST_F(PipelineTest, CountsStayExactWhileRedisIsDownAndAfterItReturns) {
  const std::string user = UniqueId("redis-user");
  HttpConnection ingest(ports_.ingestion);
  HttpConnection gateway(ports_.gateway);
  int posted = 0;
  auto post = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(ingest.Request("POST", "/ingest", EventJson(UniqueId("evt"), user, "/r")).status, 200);
      ++posted;
    }
  };
  post(3);
  ASSERT_TRUE(WaitForCounts({{{user, "/r"}, posted}}).empty());  // now cached

  ASSERT_EQ(StopComponent("redis"), 0);
  post(4);
  EXPECT_TRUE(WaitForCounts({{{user, "/r"}, posted}}).empty()) << "answers from PostgreSQL while Redis is down";
  ASSERT_EQ(StartComponent("redis"), 0);

  post(2);
  int64_t highest = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  int64_t seen = -1;
  while (Clock::now() < deadline) {
    seen = QueryCount(gateway, user, "/r");
    EXPECT_GE(seen, highest) << "a count went backwards after Redis returned";
    highest = std::max(highest, seen);
    if (seen == posted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(seen, posted);
}

TEST(PipelineAccess, ApiKeysAndRateLimitsOnTheRealServices) {
  const ServicePorts ports = ServicePorts::FreePorts();
  const std::string key_file = TestInfra().state_dir + "/" + UniqueId("query-keys") + ".txt";
  std::ofstream(key_file) << "# query keys\nquery-key-1\n";
  ServiceProcess process("all",
                         ServiceEnvironment(ports, {{"CLICKSTREAM_INGEST_API_KEYS", "ingest-key-1,ingest-key-2"},
                                                    {"CLICKSTREAM_INGEST_RATE_PER_KEY", "1"},
                                                    {"CLICKSTREAM_INGEST_BURST_PER_KEY", "3"},
                                                    {"CLICKSTREAM_QUERY_API_KEYS", "@" + key_file},
                                                    {"CLICKSTREAM_ADMIN_API_KEYS", "admin-key-1"}}),
                         "e2e-access");
  process.Start();
  ASSERT_TRUE(process.WaitReady(ports.ingestion)) << process.log_path();
  ASSERT_TRUE(process.WaitReady(ports.gateway)) << process.log_path();

  // Raw requests, to set the key headers.
  HttpConnection ingest(ports.ingestion);
  auto post = [&](const std::string& header, const std::string& value) {
    const std::string body = EventJson(UniqueId("evt"), UniqueId("keyed-user"), "/k");
    return ingest.Request("POST", "/ingest", body, "application/json", 10000, {{header, value}});
  };
  EXPECT_EQ(post("X-Other", "1").status, 401);
  EXPECT_EQ(post("X-API-Key", "wrong").status, 401);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(post("X-API-Key", "ingest-key-1").status, 200) << i;
  const auto limited = post("X-API-Key", "ingest-key-1");
  EXPECT_EQ(limited.status, 429);
  EXPECT_FALSE(limited.Header("Retry-After").empty());
  EXPECT_EQ(post("Authorization", "Bearer ingest-key-2").status, 200) << "each key has its own budget";

  HttpConnection gateway(ports.gateway);
  const std::string target = "/analytics/events?user_id=u&page_url=%2Fk";
  EXPECT_EQ(gateway.Request("GET", target).status, 401);
  EXPECT_EQ(gateway.Request("GET", target, "", "", 10000, {{"Authorization", "Bearer query-key-1"}}).status, 200);
  // The dead-letter routes take the admin keys, not the query keys.
  EXPECT_EQ(gateway.Request("GET", "/dead-letters", "", "", 10000, {{"X-API-Key", "query-key-1"}}).status, 401);
  EXPECT_EQ(gateway.Request("POST", "/dead-letters/replay?ids=1", "", "", 10000, {{"X-API-Key", "query-key-1"}}).status,
            401);
  EXPECT_EQ(gateway.Request("GET", "/dead-letters", "", "", 10000, {{"X-API-Key", "admin-key-1"}}).status, 200);

  // The keys never reach the log.
  EXPECT_EQ(process.Signal(SIGTERM), 0);
  std::ifstream log(process.log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("ingest-key-1"), std::string::npos);
  EXPECT_EQ(text.find("query-key-1"), std::string::npos);
  EXPECT_EQ(text.find("admin-key-1"), std::string::npos);
  EXPECT_NE(text.find("API key required"), std::string::npos);
}

// The value of one series in a Prometheus text exposition, or -1 when absent.
double SeriesValue(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  std::size_t at = text.rfind("\n" + prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + 1 + prefix.size()));
}

TEST_F(PipelineTest, MetricsOfEveryServiceMoveWithTraffic) {
  const std::map<std::string, uint16_t> services = {{"ingestion", ports_.ingestion},
                                                    {"gateway", ports_.gateway},
                                                    {"processor", ports_.processor},
                                                    {"analytics", ports_.analytics_health}};
  auto scrape = [&](uint16_t port) {
    HttpConnection connection(port);
    auto result = connection.Request("GET", "/metrics");
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.Header("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
    return result.body;
  };
  const std::vector<std::string> series = {
      R"(clickstream_http_requests_total{route="/ingest",service="ingestion",status="200"})",
      R"(clickstream_http_requests_total{route="/analytics/events",service="gateway",status="200"})",
      "clickstream_kafka_produce_duration_seconds_count",
      "clickstream_processor_records_total",
      "clickstream_processor_events_counted_total",
      R"(clickstream_db_duration_seconds_count{operation="apply_batch"})",
      "clickstream_freshness_seconds_count",
      "clickstream_cache_hits_total",  // the processor wrote the count after its commit: queries hit the cache
      R"(clickstream_redis_duration_seconds_count{operation="mget"})",
  };
  std::map<std::string, std::map<std::string, double>> before;
  for (const auto& [name, port] : services) {
    const std::string text = scrape(port);
    for (const auto& s : series) before[name][s] = SeriesValue(text, s);
  }

  const std::string user = UniqueId("metrics-user");
  HttpConnection ingest(ports_.ingestion);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(ingest.Request("POST", "/ingest", EventJson(UniqueId("evt"), user, "/m")).status, 200);
  }
  ASSERT_TRUE(WaitForCounts({{{user, "/m"}, 5}}).empty());
  HttpConnection gateway(ports_.gateway);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(QueryCount(gateway, user, "/m"), 5);

  // `all` runs the four services with one registry, so every service's /metrics shows every series; each must
  // have moved on each endpoint.
  for (const auto& [name, port] : services) {
    const std::string text = scrape(port);
    EXPECT_NE(text.find("# TYPE clickstream_consumer_lag_records gauge"), std::string::npos) << name;
    EXPECT_NE(text.find("clickstream_ingest_in_flight 0"), std::string::npos) << name;
    for (const auto& s : series) {
      EXPECT_GT(SeriesValue(text, s), before[name][s]) << name << ": " << s << " did not move";
    }
    EXPECT_GE(SeriesValue(text, "clickstream_processor_events_counted_total"),
              std::max(0.0, before[name]["clickstream_processor_events_counted_total"]) + 5)
        << name;
  }
}

TEST_F(PipelineTest, BatchIngestCountsEveryAcceptedEventOnceAndReportsEachEvent) {
  const std::string user = UniqueId("batch-user");
  const std::string a = UniqueId("batch-a"), b = UniqueId("batch-b"), c = UniqueId("batch-c"), d = UniqueId("batch-d");
  HttpConnection ingest(ports_.ingestion);

  // A JSON array: a and b on /x, c on /y, and an event without page_url, refused alone.
  const std::string array = "[" + EventJson(a, user, "/x") + "," + EventJson(b, user, "/x") + ",{\"event_id\":\"" +
                            UniqueId("bad") + "\",\"user_id\":\"" + user + "\",\"event_type\":\"click\"}," +
                            EventJson(c, user, "/y") + "]";
  auto first = ingest.Request("POST", "/ingest/batch", array, "application/json");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("Content-Type"), "application/json");
  const std::string head =
      R"({"accepted":3,"rejected":1,"results":[{"index":0,"event_id":")" + a + R"(","status":"accepted"})";
  EXPECT_EQ(first.body.rfind(head, 0), 0u) << first.body;
  EXPECT_NE(first.body.find(R"("status":"rejected","error":{"code":"invalid_argument",)"
                            R"("message":"page_url must not be empty","field":"page_url"}})"),
            std::string::npos)
      << first.body;

  // NDJSON: a again (a client retry), d twice (a duplicate inside the batch), a line that is not JSON, CRLF ends.
  const std::string ndjson = EventJson(a, user, "/x") + "\r\n" + EventJson(d, user, "/y") + "\r\n\r\n" +
                             EventJson(d, user, "/y") + "\r\n{\"event_id\":\r\n";
  auto second = ingest.Request("POST", "/ingest/batch", ndjson, "application/x-ndjson");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.body.rfind(R"({"accepted":3,"rejected":1,)", 0), 0u) << second.body;
  EXPECT_NE(second.body.find(R"({"index":3,"status":"rejected","error":{"code":"invalid_argument")"), std::string::npos)
      << second.body;

  // Refused whole, nothing published.
  EXPECT_EQ(ingest.Request("POST", "/ingest/batch", "[]").status, 400);
  EXPECT_EQ(ingest.Request("POST", "/ingest/batch", EventJson(UniqueId("e"), user, "/x"), "text/csv").status, 415);

  // A last event of the same user lands on the same partition after the batches: once it is counted, everything
  // before it is, so the counts below are final rather than passing through the expected value.
  ASSERT_EQ(ingest.Request("POST", "/ingest", EventJson(UniqueId("batch-last"), user, "/last")).status, 200);
  ASSERT_TRUE(WaitForCounts({{{user, "/last"}, 1}}).empty());
  HttpConnection gateway(ports_.gateway);
  EXPECT_EQ(QueryCount(gateway, user, "/x"), 2) << "a and b; the retried a counts once";
  EXPECT_EQ(QueryCount(gateway, user, "/y"), 2) << "c and d; the repeated d counts once";
}

// The value of a string field in a flat JSON answer ("" when absent): enough for the tokens ingestion writes.
std::string StringField(const std::string& body, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const auto start = body.find(key);
  if (start == std::string::npos) return "";
  const auto value = start + key.size();
  return body.substr(value, body.find('"', value) - value);
}

// The integer after "name": in a flat JSON answer; nullopt when absent or null.
std::optional<int64_t> NumberField(const std::string& body, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  const auto start = body.find(key);
  if (start == std::string::npos || body.compare(start + key.size(), 4, "null") == 0) return std::nullopt;
  return std::stoll(body.substr(start + key.size()));
}

// Every answer says how fresh its count is: read from the database after a position, the position it includes
// reaches the posted event's; read from the cache once the processor raised it, the cache's own word.
TEST_F(PipelineTest, AnswersSayWhereTheirCountWasReadAndHowCurrentItIs) {
  HttpConnection ingest(ports_.ingestion);
  HttpConnection gateway(ports_.gateway);
  const std::string user = UniqueId("fresh-user");
  const std::string target = "/analytics/events?user_id=" + user + "&page_url=/fresh";
  auto posted = ingest.Request("POST", "/ingest", EventJson(UniqueId("fresh"), user, "/fresh"));
  ASSERT_EQ(posted.status, 200) << posted.body;
  const auto wanted = domain::ParsePositionToken(StringField(posted.body, "position"));
  ASSERT_TRUE(wanted.ok()) << posted.body;

  auto counted = gateway.Request("GET", target + "&position=" + domain::PositionToken(*wanted));
  ASSERT_EQ(counted.status, 200) << counted.body;
  EXPECT_EQ(StringField(counted.body, "source"), "database") << counted.body;
  const auto included = domain::ParsePositionToken(StringField(counted.body, "position"));
  ASSERT_TRUE(included.ok()) << counted.body;
  EXPECT_TRUE(domain::Reaches(*included, *wanted)) << counted.body;
  EXPECT_GE(StringField(counted.body, "newest_event_time"), StringField(posted.body, "time_stamp")) << counted.body;
  EXPECT_GE(NumberField(counted.body, "age_ms").value_or(-1), 0) << counted.body;

  // The processor raises the cache just after its commit, then says how far it reaches: a plain query comes from
  // the cache soon, with a position no older than the one posted, and lag known once the log's end was read.
  const auto settled = [&wanted](const std::string& body) {
    const auto position = domain::ParsePositionToken(StringField(body, "position"));
    return StringField(body, "source") == "cache" && position.ok() && domain::Reaches(*position, *wanted) &&
           NumberField(body, "lag").has_value();
  };
  std::string cached = gateway.Request("GET", target).body;
  for (const auto deadline = Clock::now() + std::chrono::seconds(20); !settled(cached) && Clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    cached = gateway.Request("GET", target).body;
  }
  ASSERT_TRUE(settled(cached)) << cached;
  EXPECT_NE(cached.find("\"count\":1,"), std::string::npos) << cached;
  EXPECT_GE(NumberField(cached, "age_ms").value_or(-1), 0) << cached;
  EXPECT_GE(NumberField(cached, "lag").value_or(-1), 0) << cached;
}

// Read-your-writes: a query passing the position from ingestion's answer sees its event counted, every time, with
// no sleep and no polling in the client. The same pair over and over, so the cache holds the previous count when
// each query comes: a count read from it would be one short.
TEST_F(PipelineTest, AQueryPassingThePositionFromIngestionAlwaysSeesItsEventCounted) {
  HttpConnection ingest(ports_.ingestion);
  HttpConnection gateway(ports_.gateway);
  const std::string user = UniqueId("ryw-user");
  const std::string page = "/ryw/" + UniqueId("page");
  const std::string target = "/analytics/events?user_id=" + user + "&page_url=" + page;
  for (int i = 1; i <= 150; ++i) {
    auto posted = ingest.Request("POST", "/ingest", EventJson(UniqueId("ryw"), user, page));
    ASSERT_EQ(posted.status, 200) << posted.body;
    const std::string position = StringField(posted.body, "position");
    ASSERT_FALSE(position.empty()) << posted.body;
    auto counted = gateway.Request("GET", target + "&position=" + position);
    ASSERT_EQ(counted.status, 200) << counted.body;
    ASSERT_NE(counted.body.find("\"count\":" + std::to_string(i) + ","), std::string::npos)
        << "post " << i << " (position " << position << ") not counted: " << counted.body;
  }

  // A batch's position covers every event it accepted, whichever partitions they went to.
  std::string batch = "[";
  std::vector<std::string> users;
  for (int i = 0; i < 16; ++i) {
    users.push_back(UniqueId("ryw-batch"));
    batch += (i > 0 ? "," : "") + EventJson(UniqueId("ryw-b"), users.back(), page);
  }
  auto posted = ingest.Request("POST", "/ingest/batch", batch + "]", "application/json");
  ASSERT_EQ(posted.status, 200) << posted.body;
  const std::string position = StringField(posted.body, "position");
  ASSERT_FALSE(position.empty()) << posted.body;
  for (const auto& batch_user : users) {
    auto counted = gateway.Request(
        "GET", "/analytics/events?user_id=" + batch_user + "&page_url=" + page + "&position=" + position);
    EXPECT_NE(counted.body.find("\"count\":1,"), std::string::npos) << batch_user << ": " << counted.body;
  }

  // A position the processor will not reach: 503 after the wait, with Retry-After and how far it got.
  auto ahead = gateway.Request("GET", target + "&position=0-999999999999");
  EXPECT_EQ(ahead.status, 503) << ahead.body;
  EXPECT_FALSE(ahead.Header("Retry-After").empty());
  EXPECT_FALSE(StringField(ahead.body, "position").empty()) << ahead.body;
  EXPECT_EQ(gateway.Request("GET", target + "&position=latest").status, 400);
}

// The output and exit status of the clickstream executable run with `arguments` (each one shell-safe).
std::pair<std::string, int> RunCommand(const std::string& arguments) {
  const std::string command = std::string(CLICKSTREAM_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {"popen failed", -1};
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// An event of any type at any time, as a client sends it.
std::string TypedEventJson(const std::string& id, const std::string& user, const std::string& type,
                           const std::string& page, int64_t time_stamp_us) {
  return "{\"event_id\":\"" + id + "\",\"user_id\":\"" + user + "\",\"event_type\":\"" + type + "\",\"page_url\":\"" +
         page + "\",\"time_stamp\":\"" + domain::FormatTimestamp(time_stamp_us) + "\"}";
}

// The aggregates beyond one counter, asked through the gateway, equal the raw rows of click_events key by key
// (pages of a user, pages across users with their distinct users, event types, minutes), after retried posts.
TEST_F(PipelineTest, TopPagesEventTypesAndClicksOverTimeEqualTheRawRows) {
  const std::string run = UniqueId("agg");
  const std::string user = run + "-user";
  const std::vector<std::string> pages = {"/" + run + "/a", "/" + run + "/b", "/" + run + "/c"};
  const std::vector<std::string> types = {run + "-click", run + "-view"};
  std::mt19937_64 random(std::random_device{}());
  // A minute of 2018 nobody else writes in; the events spread over the five minutes from it.
  const int64_t base_us = (1'514'764'800 + static_cast<int64_t>(random() % 31'000'000) / 60 * 60) * 1'000'000;
  std::vector<std::string> bodies;
  std::map<Pair, int64_t> expected;
  HttpConnection ingest(ports_.ingestion);
  for (int i = 0; i < 150; ++i) {
    const std::string who = i % 3 == 0 ? run + "-other-" + std::to_string(i % 7) : user;
    const std::string& page = pages[(i * i + i / 10) % 3];
    bodies.push_back(TypedEventJson(run + "-evt-" + std::to_string(i), who, types[i % 2], page,
                                    base_us + static_cast<int64_t>(random() % 300'000'000)));
    ASSERT_EQ(ingest.Request("POST", "/ingest", bodies.back()).status, 200);
    ++expected[{who, page}];
  }
  for (int i = 0; i < 150; i += 10) ASSERT_EQ(ingest.Request("POST", "/ingest", bodies[i]).status, 200);  // retries
  ASSERT_TRUE(WaitForCounts(expected).empty());

  pqxx::connection connection(TestInfra().database_url);
  pqxx::nontransaction tx(connection);
  HttpConnection gateway(ports_.gateway);
  // One user's pages, most clicked first.
  auto top = gateway.Request("GET", "/analytics/top-pages?user_id=" + user + "&limit=3");
  ASSERT_EQ(top.status, 200) << top.body;
  std::size_t previous_at = 0;
  int64_t previous_clicks = INT64_MAX;
  for (const auto& row : tx.exec_params(
           "SELECT page_url, count(*) FROM click_events WHERE user_id = $1 GROUP BY 1 ORDER BY 2 DESC", user)) {
    const int64_t clicks = row[1].as<int64_t>();
    const auto at =
        top.body.find("{\"page_url\":\"" + row[0].as<std::string>() + "\",\"clicks\":" + std::to_string(clicks) + "}");
    ASSERT_NE(at, std::string::npos) << row[0].c_str() << " with " << clicks << " clicks: " << top.body;
    if (clicks < previous_clicks) {
      EXPECT_GT(at, previous_at) << "a page with fewer clicks came first: " << top.body;
    }
    previous_at = at;
    previous_clicks = clicks;
  }
  // Across users, found by paging: clicks and distinct users.
  std::string ranking, after;
  for (int page = 0; page < 20; ++page) {
    auto answer = gateway.Request("GET", "/analytics/top-pages?limit=1000" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(answer.status, 200) << answer.body;
    ranking += answer.body;
    after = StringField(answer.body, "next");
    if (after.empty()) break;
  }
  for (const auto& page : pages) {
    const auto raw =
        tx.exec_params1("SELECT count(*), count(DISTINCT user_id) FROM click_events WHERE page_url = $1", page);
    EXPECT_NE(ranking.find("{\"page_url\":\"" + page + "\",\"clicks\":" + raw[0].as<std::string>() +
                           ",\"users\":" + raw[1].as<std::string>() + "}"),
              std::string::npos)
        << page << ": " << raw[0].as<std::string>() << " clicks, " << raw[1].as<std::string>() << " users";
  }
  auto event_types = gateway.Request("GET", "/analytics/event-types?limit=1000");
  ASSERT_EQ(event_types.status, 200) << event_types.body;
  for (const auto& type : types) {
    const auto raw = tx.exec_params1("SELECT count(*) FROM click_events WHERE event_type = $1", type);
    EXPECT_NE(event_types.body.find("{\"event_type\":\"" + type + "\",\"clicks\":" + raw[0].as<std::string>() + "}"),
              std::string::npos)
        << type << ": " << event_types.body;
  }
  // Each of the five minutes, and in the hours of a zone 5:45 ahead, all 150 once.
  const std::string range =
      "from=" + domain::FormatTimestamp(base_us) + "&to=" + domain::FormatTimestamp(base_us + 300'000'000);
  auto minutes = gateway.Request("GET", "/analytics/clicks-over-time?" + range + "&bucket=minute");
  ASSERT_EQ(minutes.status, 200) << minutes.body;
  for (int m = 0; m < 5; ++m) {
    const int64_t start = base_us + m * 60'000'000;
    const auto raw = tx.exec_params1(
        "SELECT count(*) FROM click_events WHERE time_stamp >= timestamptz 'epoch' + $1 * interval '1 microsecond'"
        " AND time_stamp < timestamptz 'epoch' + ($1 + 60000000) * interval '1 microsecond'",
        start);
    EXPECT_NE(minutes.body.find("{\"start\":\"" + domain::FormatTimestamp(start) +
                                "\",\"clicks\":" + raw[0].as<std::string>() + "}"),
              std::string::npos)
        << "minute " << m << ": " << minutes.body;
  }
  EXPECT_NE(minutes.body.find("\"total\":150,"), std::string::npos) << minutes.body;
  auto hours = gateway.Request("GET", "/analytics/clicks-over-time?" + range + "&bucket=hour&time_zone=Asia/Kathmandu");
  ASSERT_EQ(hours.status, 200) << hours.body;
  EXPECT_NE(hours.body.find("\"total\":150,"), std::string::npos) << hours.body;
  // Each answer says how far its numbers reach: read from the database, at a position that includes the events.
  for (const auto* body : {&ranking, &event_types.body, &minutes.body, &hours.body}) {
    EXPECT_NE(body->find(R"("freshness":{"source":"database","position":")"), std::string::npos) << *body;
  }
  EXPECT_NE(hours.body.find(":15:00Z\""), std::string::npos) << "Kathmandu's hours start at a quarter past";
  // What only analytics can judge is a 400 naming the field.
  auto unknown = gateway.Request("GET", "/analytics/clicks-over-time?" + range + "&time_zone=Mars/Olympus");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find("\"field\":\"time_zone\""), std::string::npos) << unknown.body;
  auto forged = gateway.Request("GET", "/analytics/top-pages?after=1.forged");
  EXPECT_EQ(forged.status, 400) << forged.body;
  EXPECT_NE(forged.body.find("\"field\":\"after\""), std::string::npos) << forged.body;
  // The same rankings from the command line.
  const std::string gateway_url = "--gateway http://127.0.0.1:" + std::to_string(ports_.gateway);
  const auto [mine, mine_exit] = RunCommand("top " + gateway_url + " --user-id " + user + " --limit 3");
  EXPECT_EQ(mine_exit, 0) << mine;
  for (const auto& row :
       tx.exec_params("SELECT page_url, count(*) FROM click_events WHERE user_id = $1 GROUP BY 1", user)) {
    EXPECT_NE(mine.find("\t" + row[1].as<std::string>() + "\t" + row[0].as<std::string>() + "\n"), std::string::npos)
        << mine;
  }
  const auto [typed, typed_exit] = RunCommand("top " + gateway_url + " --event-types --limit 1000");
  EXPECT_EQ(typed_exit, 0) << typed;
  EXPECT_NE(typed.find("\t" + types[0] + "\n"), std::string::npos) << typed;
  for (const auto* printed : {&mine, &typed}) {
    EXPECT_NE(printed->find("\nfreshness: source database, position "), std::string::npos) << *printed;
  }
  // One pair's count, with its freshness, from the command line.
  const auto [count, count_exit] =
      RunCommand("query " + gateway_url + " --user-id " + user + " --page-url " + pages[0]);
  EXPECT_EQ(count_exit, 0) << count;
  EXPECT_NE(count.find("count: " + std::to_string(expected[{user, pages[0]}]) + "\nsource: "), std::string::npos)
      << count;
  EXPECT_NE(count.find("\nposition: "), std::string::npos) << count;
  EXPECT_EQ(RunCommand("query " + gateway_url + " --user-id " + user).second, 2);
  EXPECT_EQ(RunCommand("query " + gateway_url + " --user-id " + user +
                       " --page-url /p --position 0-999999999999"
                       " --timeout 30")
                .second,
            1);
  EXPECT_EQ(RunCommand("top " + gateway_url + " --limit 0").second, 2);
  EXPECT_EQ(RunCommand("top " + gateway_url + " --colour red").second, 2);
  EXPECT_EQ(RunCommand("top --gateway http://127.0.0.1:1 --timeout 2").second, 1);
}

// Reconciliation on the real stack: the route reports a pair's counter and raw rows; a counter changed behind the
// processor's back is reported by the route, by the background drift check (its metric and its log line) and by
// the command in both its modes; undone, the pair is consistent again.
TEST(PipelineReconcile, ACounterChangedBehindTheProcessorsBackIsFoundByTheRouteTheDriftCheckAndTheCommand) {
  const ServicePorts ports = ServicePorts::FreePorts();
  // Every counter in every check, so the changed one is found whatever the database holds.
  ServiceProcess process("all",
                         ServiceEnvironment(ports, {{"CLICKSTREAM_RECONCILE_INTERVAL_MS", "300"},
                                                    {"CLICKSTREAM_RECONCILE_SAMPLE", "10000000"}}),
                         "e2e-reconcile");
  process.Start();
  for (uint16_t port : {ports.ingestion, ports.gateway, ports.analytics_health}) {
    ASSERT_TRUE(process.WaitReady(port)) << process.log_path();
  }
  HttpConnection ingest(ports.ingestion);
  HttpConnection gateway(ports.gateway);
  const std::string user = UniqueId("reconciled-user");
  const std::string page = "/reconcile/" + UniqueId("page");
  std::string position;
  for (int i = 0; i < 5; ++i) {
    auto posted = ingest.Request("POST", "/ingest", EventJson(UniqueId("rec"), user, page));
    ASSERT_EQ(posted.status, 200) << posted.body;
    position = StringField(posted.body, "position");
  }
  const std::string pair = "user_id=" + user + "&page_url=" + page;
  ASSERT_NE(gateway.Request("GET", "/analytics/events?" + pair + "&position=" + position).body.find("\"count\":5,"),
            std::string::npos);

  auto consistent = gateway.Request("GET", "/analytics/reconcile?" + pair);
  ASSERT_EQ(consistent.status, 200) << consistent.body;
  EXPECT_NE(consistent.body.find("\"consistent\":true,\"counter\":5,\"raw_rows\":5,"), std::string::npos)
      << consistent.body;
  EXPECT_NE(consistent.body.find("\"source\":\"database\""), std::string::npos) << consistent.body;
  const std::string gateway_url = "http://127.0.0.1:" + std::to_string(ports.gateway);
  const std::string pair_arguments =
      "reconcile --gateway " + gateway_url + " --user-id " + user + " --page-url " + page;
  auto [pair_output, pair_status] = RunCommand(pair_arguments);
  EXPECT_EQ(pair_status, 0) << pair_output;
  EXPECT_NE(pair_output.find("result: consistent (counter 5, raw rows 5)"), std::string::npos) << pair_output;

  {
    pqxx::connection connection(TestInfra().database_url);
    pqxx::nontransaction(connection)
        .exec_params0(
            "UPDATE page_clicks SET click_count = click_count + 1 WHERE pair_key = clickstream_pair_key($1, $2)", user,
            page);
  }
  auto drifted = gateway.Request("GET", "/analytics/reconcile?" + pair);
  ASSERT_EQ(drifted.status, 200) << drifted.body;
  EXPECT_NE(drifted.body.find("\"consistent\":false,\"counter\":6,\"raw_rows\":5,"), std::string::npos) << drifted.body;
  std::tie(pair_output, pair_status) = RunCommand(pair_arguments);
  EXPECT_EQ(pair_status, 1) << pair_output;
  EXPECT_NE(pair_output.find("result: DRIFT (counter 6, raw rows 5)"), std::string::npos) << pair_output;
  auto [table_output, table_status] =
      RunCommand("reconcile --database-url '" + TestInfra().database_url + "' --list 10000000");
  EXPECT_EQ(table_status, 1) << table_output.substr(0, 4000);
  EXPECT_NE(table_output.find("user_id \"" + user + "\" page_url \"" + page + "\": counter 6, raw rows 5"),
            std::string::npos)
      << table_output.substr(0, 4000);

  // The background check: its metric and a log line naming the pair.
  HttpConnection health(ports.analytics_health);
  double drift_total = -1;
  std::string log_text;
  for (int i = 0; i < 300; ++i) {
    drift_total = SeriesValue(health.Request("GET", "/metrics").body, "clickstream_reconcile_drift_pairs_total");
    std::ifstream log(process.log_path());
    log_text.assign(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
    if (drift_total >= 1 && log_text.find("count drift: user_id=" + user) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(drift_total, 1);
  EXPECT_NE(log_text.find("count drift: user_id=" + user + " page_url=" + page + " counter=6 raw_rows=5"),
            std::string::npos);

  {
    pqxx::connection connection(TestInfra().database_url);
    pqxx::nontransaction(connection)
        .exec_params0(
            "UPDATE page_clicks SET click_count = click_count - 1 WHERE pair_key = clickstream_pair_key($1, $2)", user,
            page);
  }
  std::tie(pair_output, pair_status) = RunCommand(pair_arguments);
  EXPECT_EQ(pair_status, 0) << pair_output;
  std::tie(table_output, table_status) =
      RunCommand("reconcile --database-url '" + TestInfra().database_url + "' --list 10000000");
  EXPECT_EQ(table_output.find(user), std::string::npos) << table_output.substr(0, 4000);
  EXPECT_NE(table_output.find("database: "), std::string::npos) << table_output.substr(0, 4000);
  auto [usage, usage_status] = RunCommand("reconcile --user-id " + user);
  EXPECT_EQ(usage_status, 2) << usage;
  EXPECT_NE(usage.find("--page-url"), std::string::npos) << usage;
  EXPECT_EQ(process.Signal(SIGTERM), 0) << process.log_path();
}

// The id of the dead letter in a GET /dead-letters answer whose record holds `marker`; -1 when none does.
int64_t LetterIdHolding(const std::string& body, const std::string& marker) {
  const auto at = body.find(marker);
  if (at == std::string::npos) return -1;
  const auto id = body.rfind("{\"id\":", at);
  return id == std::string::npos ? -1 : std::stoll(body.substr(id + 6));
}

// Dead letters on the real stack: an event the processor refuses as too old and a record that is not JSON are
// listed through the gateway with their reasons; replayed under the same limits the event is still refused;
// once the limits are widened (the stack restarted) it is replayed and counted, and a second replay counts it no
// more, while the letter says it was replayed twice. The command does the same through the gateway.
TEST(PipelineDeadLetters, ListedThroughTheGatewayAndReplayedOnceTheLimitsAllowCountedOnceIfReplayedTwice) {
  const Infra& infra = TestInfra();
  const ServicePorts ports = ServicePorts::FreePorts();
  auto start = [&](const std::string& max_age_s) {
    auto process = std::make_unique<ServiceProcess>(
        "all", ServiceEnvironment(ports, {{"CLICKSTREAM_EVENT_MAX_AGE_S", max_age_s}}), "e2e-dead-letters");
    process->Start();
    for (uint16_t port : {ports.ingestion, ports.gateway, ports.processor, ports.analytics_health}) {
      EXPECT_TRUE(process->WaitReady(port)) << process->log_path();
    }
    return process;
  };
  auto process = start("3600");
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string since = domain::FormatTimestamp(now_us - 60'000'000);
  const std::string user = UniqueId("dlq-user");
  const std::string page = "/dlq/" + UniqueId("page");
  const std::string event_id = UniqueId("dlq-evt");
  // Two hours before the instant it is published at: too old under a limit of one hour.
  const std::string old_event = R"({"event_id":")" + event_id + R"(","user_id":")" + user +
                                R"(","event_type":"click","page_url":")" + page + R"(","time_stamp":")" +
                                domain::FormatTimestamp(now_us - 7'200'000'000) + R"("})";
  const std::string garbage = "{not json " + UniqueId("garbage");
  {
    kafka::PublisherOptions options;
    options.brokers = infra.kafka_broker;
    options.topic = infra.topic;
    auto publisher = kafka::KafkaEventPublisher::Create(options);
    ASSERT_TRUE(publisher.ok());
    for (const std::string* value : {&old_event, &garbage}) {
      std::promise<absl::Status> acked;
      (*publisher)->Publish(user, *value, now_us / 1000, {}, [&](absl::StatusOr<domain::PartitionOffset> s) {
        acked.set_value(s.status());
      });
      ASSERT_TRUE(acked.get_future().get().ok());
    }
  }
  HttpConnection gateway(ports.gateway);
  const std::string recent = "&since=" + since + "&limit=1000";
  int64_t old_id = -1, garbage_id = -1;
  std::string listed;
  for (int i = 0; i < 300 && (old_id < 0 || garbage_id < 0); ++i) {
    listed = gateway.Request("GET", "/dead-letters?reason=time_stamp_too_old" + recent).body;
    old_id = LetterIdHolding(listed, event_id);
    garbage_id = LetterIdHolding(gateway.Request("GET", "/dead-letters?reason=invalid" + recent).body, garbage);
    if (old_id < 0 || garbage_id < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(old_id, 0) << listed;
  ASSERT_GT(garbage_id, 0);
  EXPECT_NE(listed.find(R"("reason":"time_stamp is too far in the past")"), std::string::npos) << listed;

  const std::string ids = "/dead-letters/replay?ids=" + std::to_string(old_id);
  auto refused = gateway.Request("POST", ids);
  EXPECT_EQ(refused.status, 200) << refused.body;
  EXPECT_NE(refused.body.find(R"("replayed":0,"invalid":1)"), std::string::npos) << refused.body;

  EXPECT_EQ(process->Signal(SIGTERM), 0);
  process = start("316224000");
  HttpConnection widened(ports.gateway);
  const std::string counted = "/analytics/events?user_id=" + user + "&page_url=" + page + "&position=";
  for (int replay = 1; replay <= 2; ++replay) {
    auto replayed = widened.Request("POST", ids);
    ASSERT_EQ(replayed.status, 200) << replayed.body;
    ASSERT_NE(replayed.body.find(R"("replayed":1,"invalid":0,"failed":0)"), std::string::npos) << replayed.body;
    const std::string position = StringField(replayed.body.substr(replayed.body.find("\"results\"")), "position");
    ASSERT_FALSE(position.empty()) << replayed.body;
    auto count = widened.Request("GET", counted + position);
    EXPECT_NE(count.body.find("\"count\":1,"), std::string::npos) << "replay " << replay << ": " << count.body;
  }
  auto letter = widened.Request("GET", "/dead-letters?ids=" + std::to_string(old_id));
  EXPECT_NE(letter.body.find("\"replays\":2,"), std::string::npos) << letter.body;

  const std::string gateway_url = "--gateway http://127.0.0.1:" + std::to_string(ports.gateway);
  auto [list_output, list_status] = RunCommand("dead-letters list " + gateway_url + " --ids " + std::to_string(old_id));
  EXPECT_EQ(list_status, 0) << list_output;
  EXPECT_NE(list_output.find(std::to_string(old_id) + " "), std::string::npos) << list_output;
  EXPECT_NE(list_output.find("time_stamp_too_old replays=2"), std::string::npos) << list_output;
  auto [replay_output, replay_status] =
      RunCommand("dead-letters replay " + gateway_url + " --ids " + std::to_string(garbage_id));
  EXPECT_EQ(replay_status, 1) << replay_output;
  EXPECT_NE(replay_output.find("result: 0 replayed, 1 still invalid, 0 failed"), std::string::npos) << replay_output;
  EXPECT_EQ(process->Signal(SIGTERM), 0) << process->log_path();
}

}  // namespace
}  // namespace clickstream
