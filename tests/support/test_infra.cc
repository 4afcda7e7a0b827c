#include "support/test_infra.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>

namespace clickstream::testing_support {
namespace {

// Reads `export NAME=value` lines (values possibly single- or double-quoted) written by scripts/infra.sh.
std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    const auto eq = line.find('=');
    if (eq == std::string::npos || line.empty() || line[0] == '#') continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    values[line.substr(0, eq)] = value;
  }
  return values;
}

Infra LoadInfra() {
  const char* state = std::getenv("CLICKSTREAM_TEST_STATE");
  if (state == nullptr) throw std::runtime_error("CLICKSTREAM_TEST_STATE is not set: run the tests through ctest");
  auto env = ReadEnvFile(std::string(state) + "/env");
  if (env.empty()) throw std::runtime_error(std::string("no infrastructure env file under ") + state);
  return Infra{state,
               env["DATABASE_URL"],
               env["KAFKA_BROKER"],
               env["REDIS_ADDR"],
               env.count("KAFKA_TOPIC") ? env["KAFKA_TOPIC"] : "clicks",
               env.count("CLICKSTREAM_DLQ_TOPIC") ? env["CLICKSTREAM_DLQ_TOPIC"] : "clicks.dlq"};
}

int RunInfra(const std::string& verb, const std::string& component) {
  const std::string command = std::string(CLICKSTREAM_SOURCE_DIR) + "/scripts/infra.sh " + verb + " '" +
                              TestInfra().state_dir + "' " + component + " >/dev/null";
  return std::system(command.c_str());
}

// The first port of the kernel's ephemeral range (ip_local_port_range), from which outgoing connections take
// their local ports.
uint16_t EphemeralRangeStart() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  return range >> low && low > 0 && low < 65536 ? static_cast<uint16_t>(low) : 32768;
}

bool Bindable(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(port);
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return bound;
}

}  // namespace

const Infra& TestInfra() {
  static const Infra infra = LoadInfra();
  return infra;
}

int StopComponent(const std::string& component) { return RunInfra("stop-one", component); }
int StartComponent(const std::string& component) { return RunInfra("start-one", component); }

// Not bind(0): the kernel answers that from the ephemeral range, and the port it names may be taken a moment
// later as the local end of any outgoing connection (the service's own to Kafka or PostgreSQL, say), so the
// service meant to listen there dies at start. Below that range only listeners compete, a bind checks for them,
// and this process never hands out the same port twice.
uint16_t FreePort() {
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;
  static std::mt19937 random(std::random_device{}());
  constexpr uint16_t kLowest = 10000;
  const uint16_t end = EphemeralRangeStart();
  if (end <= kLowest + 1000) throw std::runtime_error("the ephemeral port range leaves no room for test ports");
  std::uniform_int_distribution<int> pick(kLowest, end - 1);
  const std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(pick(random));
    if (handed_out.count(port) == 0 && Bindable(port)) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("cannot find a free port below the ephemeral range");
}

std::string UniqueId(const std::string& prefix) {
  // The infrastructure's data outlives a test run, so ids carry the process start time as well as the pid.
  static const auto started = std::chrono::system_clock::now().time_since_epoch().count();
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(started) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

}  // namespace clickstream::testing_support
