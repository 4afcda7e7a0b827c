// A clickstream service (or `all`) run as a child process for end-to-end and fault tests: started with the test
// infrastructure's environment and ports of its own, stopped with SIGTERM (drain) or killed with any signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace clickstream::testing_support {

// Ports for one deployment of the four services; FreePorts() picks them all.
struct ServicePorts {
  uint16_t ingestion = 0;
  uint16_t gateway = 0;
  uint16_t processor = 0;
  uint16_t analytics = 0;
  uint16_t analytics_health = 0;
  static ServicePorts FreePorts();
};

// The environment that points a service at the test infrastructure and at `ports` (the gateway calls analytics
// on ports.analytics). `overrides` win.
std::map<std::string, std::string> ServiceEnvironment(const ServicePorts& ports,
                                                      const std::map<std::string, std::string>& overrides = {});

class ServiceProcess {
 public:
  // `command` is ingestion, processor, analytics, gateway or all. Output goes to a log file under the test
  // infrastructure's log directory, named after `name`.
  ServiceProcess(std::string command, std::map<std::string, std::string> environment, const std::string& name);
  ~ServiceProcess();  // kills the process if it still runs
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  void Start();
  // Waits until GET /readyz on `http_port` answers 200; false after `timeout` or if the process died.
  bool WaitReady(uint16_t http_port, std::chrono::seconds timeout = std::chrono::seconds(60));
  // Sends `signal` and waits for the process to end; returns its wait status (0 = exited with 0).
  int Signal(int signal, std::chrono::seconds timeout = std::chrono::seconds(30));
  // Sends `signal` without waiting for anything (SIGSTOP hangs the process without closing its sockets, SIGCONT
  // resumes it); false when the process does not run.
  bool Send(int signal);
  bool Running();
  // Resident memory of the process in KiB (VmRSS), -1 when it does not run.
  int64_t ResidentKib() const;
  const std::string& log_path() const { return log_path_; }
  // The last `lines` lines of the process' log.
  std::string LogTail(size_t lines) const;
  pid_t pid() const { return pid_; }

 private:
  const std::string command_;
  const std::map<std::string, std::string> environment_;
  const std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace clickstream::testing_support
