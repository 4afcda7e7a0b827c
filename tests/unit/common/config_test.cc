#include "common/config.h"

#include <gtest/gtest.h>

#include <map>

namespace clickstream::common {
namespace {

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, DefaultsMatchTheSpecification) {
  auto invocation = ParseInvocation({"all"}, Env({}));
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  const Config& c = invocation->config;
  EXPECT_EQ(c.kafka.topic, "clicks");
  EXPECT_EQ(c.kafka.dlq_topic, "clicks.dlq");
  EXPECT_EQ(c.kafka.consumer_group, "click-processor-group");
  EXPECT_EQ(c.ingestion.port, 8080);
  EXPECT_EQ(c.gateway.port, 8081);
  EXPECT_EQ(c.analytics.grpc_port, 50051);
}

// event_id is a database index key: a field limit the index cannot hold would acknowledge events the database
// then refuses.
TEST(Config, RefusesAFieldLimitTheDatabaseCannotIndex) {
  EXPECT_TRUE(ParseInvocation({"all"}, Env({{"CLICKSTREAM_MAX_FIELD_BYTES", "2048"}})).ok());
  auto too_large = ParseInvocation({"all"}, Env({{"CLICKSTREAM_MAX_FIELD_BYTES", "2049"}}));
  ASSERT_FALSE(too_large.ok());
  EXPECT_NE(too_large.status().message().find("CLICKSTREAM_MAX_FIELD_BYTES"), std::string::npos) << too_large.status();
}

TEST(Config, MemoryBoundsHaveSettings) {
  auto invocation = ParseInvocation({"ingestion", "--max-in-flight-bytes=1000000"},
                                    Env({{"CLICKSTREAM_HTTP_MAX_CONNECTIONS", "32"}}));
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->config.ingestion.max_in_flight_bytes, 1000000u);
  EXPECT_EQ(invocation->config.http_max_connections, 32u);
  EXPECT_FALSE(ParseInvocation({"ingestion"}, Env({{"CLICKSTREAM_HTTP_MAX_CONNECTIONS", "0"}})).ok());
}

// Messages name a setting through its field: the name is written once, in the table.
TEST(Config, EverySettingIsFoundByItsField) {
  const Config config;
  EXPECT_STREQ(SettingName(config, &config.tls.cert_file), "CLICKSTREAM_TLS_CERT_FILE");
  EXPECT_STREQ(SettingName(config, &config.ingestion.max_in_flight), "CLICKSTREAM_MAX_IN_FLIGHT");
  EXPECT_STREQ(SettingName(config, &config.database_url), "DATABASE_URL");
  EXPECT_STREQ(SettingName(config, &config.kafka.linger), "CLICKSTREAM_LINGER_MS");
}

TEST(Config, PortSetsTheOneServiceRunAlone) {
  auto gateway = ParseInvocation({"gateway"}, Env({{"PORT", "9999"}}));
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ(gateway->config.gateway.port, 9999);
  EXPECT_EQ(gateway->config.ingestion.port, 8080);
  auto all = ParseInvocation({"all"}, Env({{"PORT", "9999"}}));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->config.gateway.port, 8081);
}

TEST(Config, FlagBeatsEnvironmentBeatsDefault) {
  auto from_env = ParseInvocation({"all"}, Env({{"KAFKA_TOPIC", "env-topic"}, {"REDIS_ADDR", "r:1"}}));
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->config.kafka.topic, "env-topic");
  EXPECT_EQ(from_env->config.redis_addr, "r:1");
  auto from_flag = ParseInvocation({"all", "--kafka-topic=flag-topic", "--redis-addr", "f:2"},
                                   Env({{"KAFKA_TOPIC", "env-topic"}, {"REDIS_ADDR", "r:1"}}));
  ASSERT_TRUE(from_flag.ok());
  EXPECT_EQ(from_flag->config.kafka.topic, "flag-topic");
  EXPECT_EQ(from_flag->config.redis_addr, "f:2");
}

TEST(Config, PortSetsTheMainPortOfTheServiceRunAlone) {
  auto gateway = ParseInvocation({"gateway"}, Env({{"PORT", "9001"}}));
  ASSERT_TRUE(gateway.ok());
  EXPECT_EQ(gateway->command, Command::kGateway);
  EXPECT_EQ(gateway->config.gateway.port, 9001);
  EXPECT_EQ(gateway->config.ingestion.port, 8080);
  auto all = ParseInvocation({"all"}, Env({{"PORT", "9001"}}));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->config.gateway.port, 8081);
}

TEST(Config, RejectsBadValuesNamingTheSetting) {
  auto bad_port = ParseInvocation({"ingestion", "--ingestion-port=70000"}, Env({}));
  ASSERT_FALSE(bad_port.ok());
  EXPECT_NE(bad_port.status().message().find("CLICKSTREAM_INGESTION_PORT"), std::string_view::npos);
  EXPECT_NE(bad_port.status().message().find("70000"), std::string_view::npos);
  EXPECT_FALSE(ParseInvocation({"all"}, Env({{"CLICKSTREAM_MAX_IN_FLIGHT", "lots"}})).ok());
  EXPECT_FALSE(ParseInvocation({"all"}, Env({{"CLICKSTREAM_LOG_LEVEL", "loud"}})).ok());
  EXPECT_FALSE(ParseInvocation({"all", "--no-such-flag=1"}, Env({})).ok());
  EXPECT_FALSE(ParseInvocation({"frobnicate"}, Env({})).ok());
  EXPECT_FALSE(ParseInvocation({"all", "--kafka-topic"}, Env({})).ok());
}

TEST(Config, AnalyticsReadLimitsDefaultToAThousandPairsAndTwoSeconds) {
  auto invocation = ParseInvocation({"analytics"}, Env({}));
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->config.analytics.max_pairs, 1000u);
  EXPECT_EQ(invocation->config.analytics.statement_timeout, Millis(2000));
}

TEST(Config, TheProcessorRunsTwoConsumersUnlessToldOtherwiseAndAtLeastOne) {
  auto defaults = ParseInvocation({"processor"}, Env({}));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->config.processor.consumers, 2u);
  auto four = ParseInvocation({"all", "--processor-consumers=4"}, Env({}));
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_EQ(four->config.processor.consumers, 4u);
  auto none = ParseInvocation({"processor"}, Env({{"CLICKSTREAM_PROCESSOR_CONSUMERS", "0"}}));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("CLICKSTREAM_PROCESSOR_CONSUMERS"), std::string_view::npos) << none.status();
}

TEST(Config, AGatewayBatchBeyondAnalyticsPairLimitIsRefusedNamingBoth) {
  EXPECT_TRUE(ParseInvocation({"gateway", "--gateway-max-batch=500", "--analytics-max-pairs=500"}, Env({})).ok());
  auto refused =
      ParseInvocation({"gateway", "--gateway-max-batch=501"}, Env({{"CLICKSTREAM_ANALYTICS_MAX_PAIRS", "500"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("CLICKSTREAM_GATEWAY_MAX_BATCH"), std::string_view::npos);
  EXPECT_NE(refused.status().message().find("CLICKSTREAM_ANALYTICS_MAX_PAIRS (500)"), std::string_view::npos)
      << refused.status().message();
}

TEST(Config, EventTimeLimitsAreSettingsInSeconds) {
  auto defaults = ParseInvocation({"all"}, Env({}));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->config.ingestion.event_max_age, std::chrono::hours(24 * 366 * 10));
  EXPECT_EQ(defaults->config.ingestion.event_max_skew, std::chrono::hours(24));
  EXPECT_EQ(defaults->config.ingestion.event_late_after, std::chrono::minutes(5));
  auto set = ParseInvocation({"all", "--event-late-after-s=60"},
                             Env({{"CLICKSTREAM_EVENT_MAX_AGE_S", "604800"}, {"CLICKSTREAM_EVENT_MAX_SKEW_S", "120"}}));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->config.ingestion.event_max_age, std::chrono::days(7));
  EXPECT_EQ(set->config.ingestion.event_max_skew, std::chrono::minutes(2));
  EXPECT_EQ(set->config.ingestion.event_late_after, std::chrono::minutes(1));
  auto refused = ParseInvocation({"all"}, Env({{"CLICKSTREAM_EVENT_MAX_SKEW_S", "0"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("CLICKSTREAM_EVENT_MAX_SKEW_S"), std::string_view::npos);
}

TEST(Config, PartitioningIsByUserIdUnlessStickyIsAskedFor) {
  auto defaults = ParseInvocation({"ingestion"}, Env({}));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->config.kafka.partitioning, "user_id");
  auto sticky = ParseInvocation({"ingestion"}, Env({{"CLICKSTREAM_PARTITIONING", "sticky"}}));
  ASSERT_TRUE(sticky.ok()) << sticky.status();
  EXPECT_EQ(sticky->config.kafka.partitioning, "sticky");
  for (const char* bad : {"", "random", "Sticky", "user-id", "user_id "}) {
    auto refused = ParseInvocation({"ingestion"}, Env({{"CLICKSTREAM_PARTITIONING", bad}}));
    ASSERT_FALSE(refused.ok()) << "accepted '" << bad << "'";
    EXPECT_NE(refused.status().message().find("CLICKSTREAM_PARTITIONING"), std::string_view::npos)
        << refused.status().message();
  }
}

TEST(Config, LingerTakesMillisecondsWithUpToThreeDecimals) {
  const auto linger = [](const std::string& value) -> std::optional<int64_t> {
    auto invocation = ParseInvocation({"ingestion"}, Env({{"CLICKSTREAM_LINGER_MS", value}}));
    if (!invocation.ok()) return std::nullopt;
    return invocation->config.kafka.linger.count();
  };
  EXPECT_EQ(linger("0.5"), 500);
  EXPECT_EQ(linger("2"), 2000);
  EXPECT_EQ(linger("0"), 0);
  EXPECT_EQ(linger("1.25"), 1250);
  EXPECT_EQ(linger("0.001"), 1);
  for (const char* bad : {"1.2345", ".5", "0.", "-1", "1e3", "fast", "", "3600001", "0.5ms"}) {
    EXPECT_EQ(linger(bad), std::nullopt) << bad;
  }
  auto defaults = ParseInvocation({"ingestion"}, Env({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.kafka.linger.count(), 500);
}

TEST(Config, TracingSamplesARatioFromZeroToOneAndExportsNowhereByDefault) {
  const auto ratio = [](const std::string& value) -> std::optional<double> {
    auto invocation = ParseInvocation({"all"}, Env({{"CLICKSTREAM_TRACING_SAMPLE_RATIO", value}}));
    if (!invocation.ok()) return std::nullopt;
    return invocation->config.tracing.sample_ratio;
  };
  EXPECT_EQ(ratio("0"), 0.0);
  EXPECT_EQ(ratio("1"), 1.0);
  EXPECT_EQ(ratio("0.25"), 0.25);
  for (const char* bad : {"1.5", "-0.1", "", "fast", "0.5x", "nan", "inf", "10%"}) {
    EXPECT_EQ(ratio(bad), std::nullopt) << bad;
  }
  auto refused = ParseInvocation({"all", "--tracing-sample-ratio=2"}, Env({}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("CLICKSTREAM_TRACING_SAMPLE_RATIO"), std::string_view::npos);
  auto defaults = ParseInvocation({"all"}, Env({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.tracing.sample_ratio, 0.01);
  EXPECT_EQ(defaults->config.tracing.zipkin_url, "");
}

TEST(Config, TlsSettingsMustComeTogether) {
  const auto error = [](const std::vector<std::string>& args, std::map<std::string, std::string> env) {
    auto invocation = ParseInvocation(args, Env(std::move(env)));
    return invocation.ok() ? std::string("ok") : std::string(invocation.status().message());
  };
  EXPECT_NE(error({"gateway"}, {{"CLICKSTREAM_TLS_CERT_FILE", "c.pem"}}).find("must be set together"),
            std::string::npos);
  EXPECT_NE(error({"analytics"}, {{"CLICKSTREAM_TLS_CLIENT_CA_FILE", "ca.pem"}}).find("only asked for over TLS"),
            std::string::npos);
  EXPECT_NE(error({"all"}, {{"CLICKSTREAM_TLS_CERT_FILE", "c.pem"}, {"CLICKSTREAM_TLS_KEY_FILE", "k.pem"}})
                .find("CLICKSTREAM_ANALYTICS_TLS_CA_FILE"),
            std::string::npos);
  EXPECT_EQ(error({"gateway"}, {{"CLICKSTREAM_TLS_CERT_FILE", "c.pem"}, {"CLICKSTREAM_TLS_KEY_FILE", "k.pem"}}), "ok");
  auto plain = ParseInvocation({"all"}, Env({}));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->config.tls.Enabled());
}

TEST(Config, HelpListsEverySettingWithItsEnvironmentName) {
  auto invocation = ParseInvocation({"gateway", "--help"}, Env({}));
  ASSERT_TRUE(invocation.ok());
  EXPECT_TRUE(invocation->help);
  const std::string help = HelpText();
  for (const char* name : {"DATABASE_URL", "KAFKA_BROKER", "KAFKA_TOPIC", "REDIS_ADDR", "--query-deadline-ms"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

TEST(IngestBatchConfig, LimitsHaveDefaultsAndComeFromEnvironmentOrFlags) {
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto defaults = ParseInvocation({"ingestion"}, none);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->config.ingestion.batch_max_events, 1000u);
  EXPECT_EQ(defaults->config.ingestion.batch_max_body_bytes, 4194304u);
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "CLICKSTREAM_INGEST_BATCH_MAX_EVENTS") return "500";
    return std::nullopt;
  };
  auto set = ParseInvocation({"ingestion", "--ingest-batch-max-body-bytes=1048576"}, env);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->config.ingestion.batch_max_events, 500u);
  EXPECT_EQ(set->config.ingestion.batch_max_body_bytes, 1048576u);
  EXPECT_FALSE(ParseInvocation({"ingestion", "--ingest-batch-max-events=0"}, none).ok());
  EXPECT_NE(HelpText().find("--ingest-batch-max-events"), std::string::npos);
}

}  // namespace
}  // namespace clickstream::common
