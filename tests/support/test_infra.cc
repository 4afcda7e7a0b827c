#include "support/test_infra.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
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

}  // namespace

const Infra& TestInfra() {
  static const Infra infra = LoadInfra();
  return infra;
}

int StopComponent(const std::string& component) { return RunInfra("stop-one", component); }
int StartComponent(const std::string& component) { return RunInfra("start-one", component); }

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string UniqueId(const std::string& prefix) {
  // The infrastructure's data outlives a test run, so ids carry the process start time as well as the pid.
  static const auto started = std::chrono::system_clock::now().time_since_epoch().count();
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(started) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

}  // namespace clickstream::testing_support
