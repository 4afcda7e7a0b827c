// The shared test infrastructure: PostgreSQL, Redis and Kafka started by scripts/infra.sh (the CTest fixture
// "infra") on free ports under the build tree. Tests read where they are from its env file and can stop and
// start single components to inject faults.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace clickstream::testing_support {

struct Infra {
  std::string state_dir;
  std::string database_url;
  std::string kafka_broker;
  std::string redis_addr;
  std::string topic;
  std::string dlq_topic;
};

// The running infrastructure; fails the test (FAIL) when CLICKSTREAM_TEST_STATE is unset or its env file missing.
const Infra& TestInfra();

// scripts/infra.sh stop-one / start-one for "postgres", "redis" or "kafka"; returns the script's exit status.
int StopComponent(const std::string& component);
int StartComponent(const std::string& component);

// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t FreePort();

// An id unique to this test process and call: "<prefix>-<start time>-<pid>-<counter>".
std::string UniqueId(const std::string& prefix);

}  // namespace clickstream::testing_support
