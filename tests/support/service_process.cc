#include "support/service_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <thread>

#include "support/http_client.h"
#include "support/test_infra.h"

namespace clickstream::testing_support {

using Clock = std::chrono::steady_clock;

ServicePorts ServicePorts::FreePorts() { return {FreePort(), FreePort(), FreePort(), FreePort(), FreePort()}; }

std::map<std::string, std::string> ServiceEnvironment(const ServicePorts& ports,
                                                      const std::map<std::string, std::string>& overrides) {
  const Infra& infra = TestInfra();
  std::map<std::string, std::string> env = {
      {"DATABASE_URL", infra.database_url},
      {"KAFKA_BROKER", infra.kafka_broker},
      {"REDIS_ADDR", infra.redis_addr},
      {"KAFKA_TOPIC", infra.topic},
      {"CLICKSTREAM_DLQ_TOPIC", infra.dlq_topic},
      {"CLICKSTREAM_BIND_ADDR", "127.0.0.1"},
      {"CLICKSTREAM_INGESTION_PORT", std::to_string(ports.ingestion)},
      {"CLICKSTREAM_GATEWAY_PORT", std::to_string(ports.gateway)},
      {"CLICKSTREAM_PROCESSOR_PORT", std::to_string(ports.processor)},
      {"CLICKSTREAM_ANALYTICS_PORT", std::to_string(ports.analytics)},
      {"CLICKSTREAM_ANALYTICS_HEALTH_PORT", std::to_string(ports.analytics_health)},
      {"CLICKSTREAM_ANALYTICS_ADDR", "127.0.0.1:" + std::to_string(ports.analytics)},
      {"CLICKSTREAM_QUERY_DEADLINE_MS", "3000"},
  };
  for (const auto& [name, value] : overrides) env[name] = value;
  return env;
}

ServiceProcess::ServiceProcess(std::string command, std::map<std::string, std::string> environment,
                               const std::string& name)
    : command_(std::move(command)),
      environment_(std::move(environment)),
      log_path_(TestInfra().state_dir + "/logs/" + UniqueId(name) + ".log") {}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) Signal(SIGKILL);
}

void ServiceProcess::Start() {
  pid_ = fork();
  if (pid_ != 0) return;
  // The child: only async-signal-safe work matters little here, as the parent's threads are not ours to share.
  for (const auto& [name, value] : environment_) setenv(name.c_str(), value.c_str(), 1);
  if (std::freopen(log_path_.c_str(), "a", stdout) == nullptr) _exit(126);
  dup2(fileno(stdout), STDERR_FILENO);
  execl(CLICKSTREAM_BINARY, CLICKSTREAM_BINARY, command_.c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

bool ServiceProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

bool ServiceProcess::WaitReady(uint16_t http_port, std::chrono::seconds timeout) {
  HttpConnection connection(http_port);
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && Running()) {
    if (connection.Request("GET", "/readyz", "", "", 1000).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // CI keeps only the test's output, not the log file: show why the service did not come up.
  std::fprintf(stderr, "--- last lines of %s ---\n%s--- end of log ---\n", log_path_.c_str(), LogTail(40).c_str());
  return false;
}

std::string ServiceProcess::LogTail(size_t lines) const {
  std::ifstream log(log_path_);
  std::deque<std::string> tail;
  for (std::string line; std::getline(log, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  std::string text;
  for (const auto& line : tail) text += line + "\n";
  return text;
}

int ServiceProcess::Signal(int signal, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  const auto deadline = Clock::now() + timeout;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return status;
}

bool ServiceProcess::Send(int signal) { return pid_ > 0 && kill(pid_, signal) == 0; }

int64_t ServiceProcess::ResidentKib() const {
  if (pid_ <= 0) return -1;
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

}  // namespace clickstream::testing_support
