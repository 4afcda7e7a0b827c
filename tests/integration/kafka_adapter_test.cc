// The Kafka adapters against a real broker: acknowledged publishing, consumer-group polling with manual commits,
// and dead letters with their reason header.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "adapters/kafka/kafka_dead_letters.h"
#include "adapters/kafka/kafka_event_publisher.h"
#include "adapters/kafka/kafka_log_end.h"
#include "adapters/kafka/kafka_record_source.h"
#include "common/tracing.h"
#include "support/test_infra.h"

namespace clickstream::kafka {
namespace {

using std::chrono::milliseconds;
using testing_support::TestInfra;
using testing_support::UniqueId;

std::unique_ptr<KafkaEventPublisher> Publisher(const std::string& brokers, milliseconds timeout = milliseconds(5000)) {
  PublisherOptions options;
  options.brokers = brokers;
  options.topic = TestInfra().topic;
  options.publish_timeout = timeout;
  auto publisher = KafkaEventPublisher::Create(options);
  EXPECT_TRUE(publisher.ok()) << publisher.status();
  return std::move(*publisher);
}

// Where the broker stored the record, or why it did not.
absl::StatusOr<domain::PartitionOffset> PublishAndWait(KafkaEventPublisher& publisher, const std::string& key,
                                                       const std::string& value) {
  std::promise<absl::StatusOr<domain::PartitionOffset>> acked;
  publisher.Publish(key, value, 0, {},
                    [&](absl::StatusOr<domain::PartitionOffset> stored) { acked.set_value(stored); });
  return acked.get_future().get();
}

std::unique_ptr<KafkaRecordSource> Source(const std::string& group, const std::string& topic = TestInfra().topic) {
  auto source = KafkaRecordSource::Create({TestInfra().kafka_broker, topic, group, {}});
  EXPECT_TRUE(source.ok()) << source.status();
  return std::move(*source);
}

// Polls until a record with `value` arrives (or 30 s pass); returns every record seen meanwhile.
std::vector<domain::Record> PollUntil(KafkaRecordSource& source, const std::string& value) {
  std::vector<domain::Record> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto records = source.Poll(1000, milliseconds(200));
    if (!records.ok()) continue;
    for (auto& r : *records) seen.push_back(std::move(r));
    for (const auto& r : seen) {
      if (r.value == value) return seen;
    }
  }
  ADD_FAILURE() << "record never arrived: " << value;
  return seen;
}

std::vector<domain::PartitionOffset> NextOffsets(const std::vector<domain::Record>& records) {
  std::map<int32_t, int64_t> next;
  for (const auto& r : records) next[r.partition] = std::max(next[r.partition], r.offset + 1);
  std::vector<domain::PartitionOffset> out;
  for (const auto& [p, o] : next) out.push_back({p, o});
  return out;
}

TEST(KafkaEventPublisher, AcknowledgesAndTheRecordIsConsumable) {
  auto publisher = Publisher(TestInfra().kafka_broker);
  const std::string value = UniqueId("value");
  const auto stored = PublishAndWait(*publisher, "user-1", value);
  ASSERT_TRUE(stored.ok()) << stored.status();
  auto source = Source(UniqueId("group"));
  auto seen = PollUntil(*source, value);
  auto found = std::find_if(seen.begin(), seen.end(), [&](const domain::Record& r) { return r.value == value; });
  ASSERT_NE(found, seen.end());
  EXPECT_EQ(found->key, "user-1");
  // The acknowledgement says where the record is: what ingestion's position tokens are made of.
  EXPECT_EQ(stored->partition, found->partition);
  EXPECT_EQ(stored->next_offset, found->offset + 1);
  EXPECT_GT(found->timestamp_ms, 0) << "the record carries its Kafka timestamp";
}

// The log's end covers every acknowledged record: what lag in answers is measured against.
TEST(KafkaLogEnd, EndsPastEveryAcknowledgedRecordInEveryPartition) {
  auto publisher = Publisher(TestInfra().kafka_broker);
  const auto stored = PublishAndWait(*publisher, UniqueId("user"), UniqueId("value"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  auto log_end = KafkaLogEnd::Create(TestInfra().kafka_broker, TestInfra().topic);
  ASSERT_TRUE(log_end.ok()) << log_end.status();
  auto end = (*log_end)->End(milliseconds(5000));
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_TRUE(domain::Reaches(*end, {*stored})) << domain::PositionToken(*end);
  auto missing = KafkaLogEnd::Create(TestInfra().kafka_broker, UniqueId("no-such-topic"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ((*missing)->End(milliseconds(2000)).status().code(), absl::StatusCode::kUnavailable);
  auto unreachable = KafkaLogEnd::Create("127.0.0.1:1", TestInfra().topic);
  ASSERT_TRUE(unreachable.ok());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*unreachable)->End(milliseconds(500)).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(KafkaEventPublisher, SameKeySamePartition) {
  auto publisher = Publisher(TestInfra().kafka_broker);
  const std::string key = UniqueId("user");
  const std::string first = UniqueId("v"), second = UniqueId("v");
  ASSERT_TRUE(PublishAndWait(*publisher, key, first).ok());
  ASSERT_TRUE(PublishAndWait(*publisher, key, second).ok());
  auto source = Source(UniqueId("group"));
  auto seen = PollUntil(*source, second);
  int32_t first_partition = -1, second_partition = -2;
  int64_t first_offset = -1, second_offset = -1;
  for (const auto& r : seen) {
    if (r.value == first) first_partition = r.partition, first_offset = r.offset;
    if (r.value == second) second_partition = r.partition, second_offset = r.offset;
  }
  EXPECT_EQ(first_partition, second_partition);
  EXPECT_LT(first_offset, second_offset);
}

TEST(KafkaRecordSource, CommittedRecordsAreNotRedeliveredToTheGroup) {
  auto publisher = Publisher(TestInfra().kafka_broker);
  const std::string group = UniqueId("group");
  const std::string key = UniqueId("user");
  const std::string before = UniqueId("before");
  ASSERT_TRUE(PublishAndWait(*publisher, key, before).ok());
  {
    auto source = Source(group);
    auto seen = PollUntil(*source, before);
    ASSERT_TRUE(source->Commit(NextOffsets(seen)).ok());
  }
  const std::string after = UniqueId("after");
  ASSERT_TRUE(PublishAndWait(*publisher, key, after).ok());
  auto source = Source(group);
  auto seen = PollUntil(*source, after);
  for (const auto& r : seen) EXPECT_NE(r.value, before) << "a committed record came back";
}

// A topic of the test's own (the broker creates none by itself), so no other test's records count as its lag.
std::string CreateTopic(int partitions) {
  const std::string topic = UniqueId("lag-topic");
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  EXPECT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", TestInfra().kafka_broker.c_str(), error, sizeof error),
            RD_KAFKA_CONF_OK);
  rd_kafka_t* admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error, sizeof error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin);
  rd_kafka_CreateTopics(admin, &new_topic, 1, nullptr, queue);
  rd_kafka_event_t* result = rd_kafka_queue_poll(queue, 30000);
  EXPECT_NE(result, nullptr);
  if (result != nullptr) {
    std::size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(result), &count);
    EXPECT_EQ(count, 1u);
    if (count == 1) {
      EXPECT_EQ(rd_kafka_topic_result_error(topics[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    rd_kafka_event_destroy(result);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(new_topic);
  rd_kafka_destroy(admin);
  return topic;
}

// A processor restarted on a topic it had caught up with has consumed nothing since its assignment, so its position
// is unknown: the lag is measured from the group's committed offsets, not from the start of the topic (which would
// also make it call itself stalled).
TEST(KafkaRecordSource, LagAfterARestartOnACaughtUpTopicIsZero) {
  const std::string topic = CreateTopic(2);
  PublisherOptions options;
  options.brokers = TestInfra().kafka_broker;
  options.topic = topic;
  auto publisher = KafkaEventPublisher::Create(options);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  constexpr std::size_t kRecords = 40;
  for (std::size_t i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(PublishAndWait(**publisher, UniqueId("user"), UniqueId("caught-up")).ok());
  }
  const std::string group = UniqueId("group");
  {
    // Every record, whichever partition it is on: the partitions arrive in no set order.
    auto source = Source(group, topic);
    std::vector<domain::Record> seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (seen.size() < kRecords && std::chrono::steady_clock::now() < deadline) {
      auto records = source->Poll(100, milliseconds(200));
      ASSERT_TRUE(records.ok());
      seen.insert(seen.end(), records->begin(), records->end());
    }
    ASSERT_EQ(seen.size(), kRecords);
    ASSERT_TRUE(source->Commit(NextOffsets(seen)).ok());
  }
  auto restarted = Source(group, topic);
  std::map<int32_t, int64_t> lag;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (lag.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto records = restarted->Poll(100, milliseconds(200));  // joins the group; nothing is left to consume
    ASSERT_TRUE(records.ok());
    EXPECT_TRUE(records->empty());
    lag = restarted->Lag();
  }
  ASSERT_EQ(lag.size(), 2u) << "both partitions assigned";
  for (const auto& [partition, records] : lag) EXPECT_EQ(records, 0) << "partition " << partition;
}

// Sticky partitioning: records carry no key, and what is published together goes to one partition (one produce
// request, not one per partition), while the partition changes over time so every partition gets records.
TEST(KafkaEventPublisher, StickyPartitioningSendsRecordsTogetherToOnePartitionInTurns) {
  const std::string topic = CreateTopic(4);
  PublisherOptions options;
  options.brokers = TestInfra().kafka_broker;
  options.topic = topic;
  options.partitioning = Partitioning::kSticky;
  auto publisher = KafkaEventPublisher::Create(options);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  // Records published before the producer knows the topic's partitions wait unassigned and are spread when the
  // metadata comes: stickiness starts once it is known.
  ASSERT_TRUE(PublishAndWait(**publisher, UniqueId("user"), UniqueId("first")).ok());
  constexpr int kRounds = 24, kPerRound = 3;
  std::vector<std::vector<std::string>> rounds(kRounds);
  // A round whose records took longer than a few milliseconds to hand over (a slow moment, a sanitizer build) may
  // straddle the end of a sticky interval, and split for that reason alone: only the quick rounds are checked.
  std::vector<bool> quick(kRounds);
  for (auto& round : rounds) {
    std::vector<std::future<absl::Status>> acks;
    const auto began = std::chrono::steady_clock::now();
    for (int i = 0; i < kPerRound; ++i) {
      round.push_back(UniqueId("sticky"));
      auto acked = std::make_shared<std::promise<absl::Status>>();
      acks.push_back(acked->get_future());
      // Each record has a key of its own, which keyed partitioning would spread over the partitions.
      (*publisher)->Publish(UniqueId("user"), round.back(), 0, {}, [acked](absl::StatusOr<domain::PartitionOffset> s) {
        acked->set_value(s.status());
      });
    }
    quick[&round - &rounds[0]] = std::chrono::steady_clock::now() - began < milliseconds(3);
    for (auto& ack : acks) ASSERT_TRUE(ack.get().ok());
    std::this_thread::sleep_for(milliseconds(15));  // past librdkafka's 10 ms sticky interval
  }
  auto source = Source(UniqueId("group"), topic);
  std::map<std::string, domain::Record> by_value;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (by_value.size() < kRounds * kPerRound + 1 && std::chrono::steady_clock::now() < deadline) {
    auto records = source->Poll(100, milliseconds(200));
    ASSERT_TRUE(records.ok());
    for (auto& r : *records) by_value.emplace(r.value, std::move(r));
  }
  ASSERT_EQ(by_value.size(), static_cast<std::size_t>(kRounds * kPerRound + 1));
  std::set<int32_t> used;
  int checked = 0;
  for (const auto& round : rounds) {
    const int32_t partition = by_value.at(round.front()).partition;
    used.insert(partition);
    for (const auto& value : round) EXPECT_EQ(by_value.at(value).key, "") << "a sticky record carries no key";
    if (!quick[&round - &rounds[0]]) continue;
    ++checked;
    for (const auto& value : round) {
      EXPECT_EQ(by_value.at(value).partition, partition)
          << "round " << (&round - &rounds[0]) << ", published together, was split";
    }
  }
  EXPECT_GE(checked, kRounds / 2) << "too few rounds were handed over quickly enough to judge";
  EXPECT_GT(used.size(), 1u) << "the sticky partition never changed over " << kRounds << " intervals";
}

TEST(KafkaRecordSource, UncommittedRecordsAreRedelivered) {
  auto publisher = Publisher(TestInfra().kafka_broker);
  const std::string group = UniqueId("group");
  const std::string value = UniqueId("uncommitted");
  ASSERT_TRUE(PublishAndWait(*publisher, UniqueId("user"), value).ok());
  { PollUntil(*Source(group), value); }
  PollUntil(*Source(group), value);  // fails the test if it does not come back
}

// Each record comes with the key, broker timestamp and traceparent header it was published with.
TEST(KafkaRecordSource, RecordsComeWithTheirKeyTimestampAndTraceparent) {
  auto publisher = Publisher(TestInfra().kafka_broker);
  const std::string key = UniqueId("user"), value = UniqueId("traced");
  const std::string traceparent =
      "00-" + absl::StrFormat("%016x%016x", std::random_device{}() | 1ull << 40, std::random_device{}()) +
      "-00f067aa0ba902b7-01";
  const auto trace = tracing::ParseTraceparent(traceparent);
  ASSERT_TRUE(trace.has_value());
  std::promise<absl::StatusOr<domain::PartitionOffset>> acked;
  publisher->Publish(key, value, 1'700'000'000'123, *trace,
                     [&](absl::StatusOr<domain::PartitionOffset> stored) { acked.set_value(stored); });
  ASSERT_TRUE(acked.get_future().get().ok());
  const auto seen = PollUntil(*Source(UniqueId("group")), value);
  const auto record = std::find_if(seen.begin(), seen.end(), [&](const auto& r) { return r.value == value; });
  ASSERT_NE(record, seen.end());
  EXPECT_EQ(record->key, key);
  EXPECT_EQ(record->timestamp_ms, 1'700'000'000'123);
  const auto carried = tracing::ParseTraceparent(record->traceparent);
  ASSERT_TRUE(carried.has_value()) << record->traceparent;
  EXPECT_EQ(carried->trace_high, trace->trace_high);
  EXPECT_EQ(carried->trace_low, trace->trace_low);
}

TEST(KafkaDeadLetters, WritesTheRecordWithItsReason) {
  auto letters =
      KafkaDeadLetters::Create(TestInfra().kafka_broker, TestInfra().dlq_topic, TestInfra().topic, milliseconds(10000));
  ASSERT_TRUE(letters.ok()) << letters.status();
  const std::string value = UniqueId("poison");
  ASSERT_TRUE((*letters)->Send({{2, 42, "user-7", value}, "body is not valid JSON"}, milliseconds(10000)).ok());

  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", TestInfra().kafka_broker, error);
  conf->set("group.id", UniqueId("dlq-reader"), error);
  conf->set("auto.offset.reset", "earliest", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  consumer->subscribe({TestInfra().dlq_topic});
  std::map<std::string, std::string> headers;
  std::string key;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (headers.empty() && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() != RdKafka::ERR_NO_ERROR) continue;
    if (std::string(static_cast<const char*>(message->payload()), message->len()) != value) continue;
    if (message->key() != nullptr) key = *message->key();
    if (message->headers() == nullptr) continue;
    for (const auto& h : message->headers()->get_all()) {
      headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
    }
  }
  consumer->close();
  EXPECT_EQ(headers["dlq.reason"], "body is not valid JSON");
  EXPECT_EQ(headers["dlq.source.partition"], "2");
  EXPECT_EQ(headers["dlq.source.offset"], "42");
  EXPECT_EQ(headers["dlq.source.key"], "user-7");
  // The same key for every redelivery of the source record: copies can be recognised.
  EXPECT_EQ(key, TestInfra().topic + "/2/42");
}

// A dead letter the broker never took must not be delivered later behind the processor's back (its retry would
// then be a second copy): Send waits for librdkafka's own verdict, not a shorter deadline of its own.
TEST(KafkaDeadLetters, SendWaitsForTheProducersVerdictOnAnUnreachableBroker) {
  auto letters = KafkaDeadLetters::Create("127.0.0.1:1", "dlq", "clicks", milliseconds(2000));
  ASSERT_TRUE(letters.ok()) << letters.status();
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = (*letters)->Send({{0, 1, "k", "v"}, "reason"}, milliseconds(100));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_GE(took, milliseconds(1900));
  EXPECT_LT(took, std::chrono::seconds(10));
}

// After a fatal idempotence error every publish fails: ingestion would answer 503 forever, so readiness must say so.
TEST(KafkaEventPublisher, NotReadyAfterAFatalProducerError) {
  auto publisher = Publisher(TestInfra().kafka_broker);
  ASSERT_TRUE(publisher->CheckReady(milliseconds(5000)).ok());
  publisher->RaiseFatalErrorForTesting("injected by the test");
  const absl::Status ready = publisher->CheckReady(milliseconds(5000));
  EXPECT_FALSE(ready.ok());
  EXPECT_NE(ready.message().find("injected by the test"), std::string::npos) << ready;
  EXPECT_FALSE(PublishAndWait(*publisher, "u", UniqueId("after-fatal")).ok());
}

TEST(KafkaEventPublisher, UnreachableBrokerFailsWithinThePublishTimeout) {
  auto publisher = Publisher("127.0.0.1:1", milliseconds(1000));
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = PublishAndWait(*publisher, "u", "v").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(publisher->CheckReady(milliseconds(500)).ok());
}

}  // namespace
}  // namespace clickstream::kafka
