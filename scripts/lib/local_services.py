"""clickstream's services as local processes on free ports, against infrastructure started by scripts/infra.sh:
what the Python tests (tests/e2e/smoke_test.py, tests/monitoring/prometheus_test.py) and the benchmark share.
Python 3 standard library only.
"""
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

SERVICES = ("analytics", "processor", "gateway", "ingestion")  # start order: the data flow backwards


_handed_out = set()


def free_port():
    """A port no listener holds, from below the kernel's ephemeral range and never handed out twice: a port
    from bind(0) may be taken a moment later as the local end of an outgoing connection (a service's own to
    Kafka, say), and the service meant to listen there then fails to start."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            end = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        end = 32768
    for _ in range(1000):
        port = random.randrange(10000, max(end, 11000))
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("cannot find a free port below the ephemeral range")


def read_infra_env(state_dir):
    """The variables scripts/infra.sh wrote to <state_dir>/env (its `export NAME=value` lines)."""
    env = {}
    with open(os.path.join(state_dir, "env")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                env[name] = value
    return env


def http(method, url, body=None, content_type="application/json", timeout=5):
    """(status, body text); status 0 when no answer came."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


class ServiceError(Exception):
    pass


class LocalServices:
    """`clickstream <service>` processes sharing one set of free ports: `all` in one process (as scripts/up.sh runs
    it) or each service in its own (as in a cluster). Logs go to <log_dir>/<log_prefix><service>.log.

    `command(service)` gives the command line that runs a service, [binary, service] unless given: a container
    runtime's, say, which must pass the environment on and forward SIGTERM."""

    def __init__(self, binary, infra_env, log_dir, log_prefix="", extra_env=None, command=None):
        self.binary, self.log_dir, self.log_prefix = binary, log_dir, log_prefix
        self.command = command or (lambda service: [self.binary, service])
        self.ports = {name: free_port() for name in ("ingestion", "gateway", "processor", "analytics",
                                                     "analytics_health")}
        self.env = dict(os.environ)
        self.env.update(infra_env)
        self.env.update({
            "CLICKSTREAM_BIND_ADDR": "127.0.0.1",
            "CLICKSTREAM_INGESTION_PORT": str(self.ports["ingestion"]),
            "CLICKSTREAM_GATEWAY_PORT": str(self.ports["gateway"]),
            "CLICKSTREAM_PROCESSOR_PORT": str(self.ports["processor"]),
            "CLICKSTREAM_ANALYTICS_PORT": str(self.ports["analytics"]),
            "CLICKSTREAM_ANALYTICS_HEALTH_PORT": str(self.ports["analytics_health"]),
            "CLICKSTREAM_ANALYTICS_ADDR": f"127.0.0.1:{self.ports['analytics']}",
        })
        self.env.update(extra_env or {})
        self.processes = {}

    def http_port(self, service):
        return self.ports["analytics_health" if service == "analytics" else service]

    def url(self, service):
        return f"http://127.0.0.1:{self.http_port(service)}"

    def log_path(self, service):
        return os.path.join(self.log_dir, f"{self.log_prefix}{service}.log")

    def start(self, service, timeout=60):
        """Starts `service` (or `all`) and waits until each of its /readyz answers 200; returns the process."""
        os.makedirs(self.log_dir, exist_ok=True)
        log = open(self.log_path(service), "ab")
        process = subprocess.Popen(self.command(service), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[service] = process
        deadline = time.monotonic() + timeout
        for name in SERVICES if service == "all" else (service,):
            port = self.http_port(name)
            while http("GET", f"http://127.0.0.1:{port}/readyz", timeout=2)[0] != 200:
                if process.poll() is not None:
                    raise ServiceError(f"{service} exited (status {process.returncode}); see "
                                       f"{self.log_path(service)}")
                if time.monotonic() > deadline:
                    raise ServiceError(f"{name} not ready on port {port} after {timeout} s; see "
                                       f"{self.log_path(service)}")
                time.sleep(0.1)
        return process

    def kill(self, service):
        process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self, service, timeout=30):
        """SIGTERM, as an orchestrator stops it; returns its exit status (killed after `timeout` s: None)."""
        process = self.processes.pop(service)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None

    def stop_all(self, timeout=30):
        """Stops every process in the reverse of its start order; returns {service: exit status}."""
        return {service: self.stop(service, timeout) for service in reversed(list(self.processes))}
