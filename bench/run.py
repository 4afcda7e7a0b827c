#!/usr/bin/env python3
"""clickstream benchmark: starts its own infrastructure and the services, measures the ceilings of this machine
(nginx, Kafka's producer, Redis, a PostgreSQL COPY), runs workloads W1-W5 with bench/loadgen, and writes
bench/results/latest.json (plus a timestamped copy) and a Markdown table.

It measures two layouts, one after the other, each on a stack of its own:
  spec      the clicks topic with 1 partition (the specification's), each service its own process, so each one's
            CPU and memory can be read: W1, W1i, W2, W3, W4, W5
  default   what scripts/up.sh runs: 4 partitions and one `clickstream all` process: W1, W1i, W2, W3
(W1i is W1 with the processor paused: ingestion alone.)

  bench/run.sh            the full run of both layouts, what the targets are judged on (about 15 minutes)
  bench/run.sh --quick    every workload briefly, a smoke check (about 5 minutes with everything built)
  bench/run.sh --keep     leave the last layout's infrastructure and services running afterwards (for profiling)
  bench/run.sh --only W1,W4   some workloads only (W4 and W5 then query pairs nobody wrote: counts 0)
  bench/run.sh --layout default   one layout only
  bench/run.sh --partitions 4 the spec layout's topic with 4 partitions
  bench/run.sh --set CLICKSTREAM_PARTITIONING=sticky   a setting for every service (repeatable)

Everything runs under .state/bench on free ports, from empty (what an earlier run left there is stopped and
deleted first); nothing of `scripts/up.sh`'s stack is touched.
"""

import argparse
import datetime
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent
STATE = REPO / ".state" / "bench"
BUILD = REPO / "build"
CLICKSTREAM = BUILD / "src" / "clickstream"
clickstream_binary = CLICKSTREAM  # the services run from this binary; --binary to compare another build
LOADGEN = BUILD / "bench" / "loadgen" / "clickstream-loadgen"
RESULTS = REPO / "bench" / "results"
KAFKA_LIBS = REPO / ".state" / "kafka" / "libs"
CLK_TCK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, str(REPO / "scripts" / "lib"))
from local_services import LocalServices, free_port, read_infra_env  # noqa: E402


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return 0, ""


# --- processes ----------------------------------------------------------------------------------------------


class Process:
    """A process we started, or any pid: CPU seconds and memory from /proc."""

    def __init__(self, name, pid):
        self.name = name
        self.pid = pid

    def cpu_seconds(self):
        fields = pathlib.Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def _status_kib(self, key):
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def rss_mib(self):
        return self._status_kib("VmRSS") / 1024

    def peak_rss_mib(self):
        return self._status_kib("VmHWM") / 1024

    def reset_peak(self):
        # Writing 5 to clear_refs resets VmHWM to the current RSS, so each workload gets its own peak.
        try:
            pathlib.Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            pass


class ProcessTree(Process):
    """A process and its children, as PostgreSQL's postmaster and its backends: CPU seconds summed over the live
    ones plus what exited children left in the parent's account (cutime, cstime)."""

    def cpu_seconds(self):
        fields = pathlib.Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = sum(int(f) for f in fields[11:15]) / CLK_TCK  # utime, stime, cutime, cstime
        for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
            try:
                child = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if child[1] == str(self.pid):  # ppid
                total += (int(child[11]) + int(child[12])) / CLK_TCK
        return total


class Service(Process):
    """`clickstream <name>` (one service, or `all` of them), with its log under the state dir."""

    def __init__(self, name, env, ready_port):
        self.ready_port = ready_port
        self.log_path = STATE / "logs" / f"{name}.log"
        self.popen = subprocess.Popen([str(clickstream_binary), name], env=env, stdout=open(self.log_path, "ab"),
                                      stderr=subprocess.STDOUT)
        super().__init__(name, self.popen.pid)

    def wait_ready(self, timeout=60):
        Service.wait_ready_port(self.ready_port, self, timeout)

    @staticmethod
    def wait_ready_port(port, service, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if service.popen.poll() is not None:
                raise SystemExit(f"bench: {service.name} exited (status {service.popen.returncode}); "
                                 f"see {service.log_path}")
            if http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                return
            time.sleep(0.1)
        raise SystemExit(f"bench: {service.name} not ready on port {port} after {timeout} s; see {service.log_path}")

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


PIDS = STATE / "services.pids"  # services started by a run, so the next run can stop what --keep left


def clean_slate():
    """Stops what an earlier run left (--keep, or a crash) and deletes its data: every run starts empty."""
    if PIDS.exists():
        for pid in PIDS.read_text().split():
            try:
                if "clickstream" in pathlib.Path(f"/proc/{pid}/cmdline").read_text():
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        PIDS.unlink()
    if (STATE / "infra").exists():
        subprocess.run([str(REPO / "scripts" / "infra.sh"), "stop", str(STATE / "infra")], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(STATE / "infra")


class Layout:
    """How the stack is laid out: partitions of the clicks topic, and the services as separate processes or as one
    `clickstream all` (as scripts/up.sh runs them)."""

    def __init__(self, name, partitions, combined, workloads, settings=None):
        self.name, self.partitions, self.combined, self.workloads = name, partitions, combined, workloads
        self.settings = dict(settings or {})  # clickstream settings given with --set, for every service

    def describe(self):
        processes = "one `clickstream all` process (as scripts/up.sh)" if self.combined else \
            "each service its own process"
        settings = "".join(f", {name}={value}" for name, value in sorted(self.settings.items()))
        return f"{self.name}: topic clicks with {self.partitions} partition(s), {processes}{settings}"


class Stack:
    """Infrastructure (scripts/infra.sh under .state/bench/infra) and the four services on free ports, as the
    layout says."""

    def __init__(self, layout):
        self.layout = layout
        partitions = layout.partitions
        self.infra_dir = STATE / "infra"
        subprocess.run([str(REPO / "scripts" / "infra.sh"), "start", str(self.infra_dir), "--pg-port", "0",
                        "--redis-port", "0", "--kafka-port", "0", "--partitions", str(partitions)], check=True,
                       stdout=sys.stderr)
        self.infra = read_infra_env(self.infra_dir)
        # The ports and environment every local run of the services shares; the bench starts and measures its
        # processes itself (Service), to read their CPU and memory.
        layout_env = LocalServices(clickstream_binary, {k: self.infra[k] for k in (
            "DATABASE_URL", "KAFKA_BROKER", "REDIS_ADDR", "KAFKA_TOPIC", "CLICKSTREAM_DLQ_TOPIC")}, str(STATE / "logs"))
        self.ports, self.env = layout_env.ports, layout_env.env
        self.env.update(layout.settings)
        self.services = {}

    def start(self, name):
        ready_port = self.ports["analytics_health" if name == "analytics" else "ingestion" if name == "all" else name]
        service = Service(name, self.env, ready_port)
        with open(PIDS, "a") as pids:
            pids.write(f"{service.pid}\n")
        service.wait_ready()
        self.services[name] = service
        return service

    def start_all(self):
        if self.layout.combined:
            self.start("all")
            for name in ("gateway", "processor", "analytics_health"):
                Service.wait_ready_port(self.ports[name], self.services["all"])
            return
        for name in ("analytics", "processor", "gateway", "ingestion"):
            self.start(name)

    def pause_processor(self):
        """Stops the processor: alone, or by running ingestion alone in place of `all`."""
        if self.layout.combined:
            self.services.pop("all").stop()
            self.start("ingestion")
        else:
            self.services.pop("processor").stop()

    def resume_processor(self):
        """Starts the processor again (so its counters start from 0); returns its process."""
        if self.layout.combined:
            self.services.pop("ingestion").stop()
            self.start_all()
            return self.services["all"]
        return self.start("processor")

    def url(self, name):
        return f"http://127.0.0.1:{self.ports[name]}"

    def redis(self, *command):
        host, port = self.infra["REDIS_ADDR"].rsplit(":", 1)
        return subprocess.run(["redis-cli", "-h", host, "-p", port, *command], check=True, capture_output=True,
                              text=True).stdout

    def psql(self, sql, user=None):
        url = self.infra["DATABASE_URL"]
        if user:
            url = url.replace("//clickstream@", f"//{user}@", 1)
        return subprocess.run(["psql", url, "-At", "-c", sql], check=True, capture_output=True,
                              text=True).stdout.strip()

    def metric(self, name, port_name):
        """Sum of every series of a metric on a service's /metrics."""
        status, text = http_get(self.url(port_name) + "/metrics")
        if status != 200:
            return None
        total = None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total = (total or 0) + float(line.rsplit(" ", 1)[1])
        return total

    def infra_processes(self):
        """The broker, PostgreSQL (with its backends) and Redis, by the pid files infra.sh keeps."""
        found = {}
        for name, path, kind in (("kafka", self.infra_dir / "kafka" / "kafka.pid", Process),
                                 ("postgres", pathlib.Path(self.infra["CLICKSTREAM_PG_DATA"]) / "postmaster.pid",
                                  ProcessTree),
                                 ("redis", self.infra_dir / "redis" / "redis.pid", Process)):
            try:
                found[name] = kind(name, int(path.read_text().split()[0]))
            except (OSError, ValueError, IndexError):
                log(f"no pid for {name} in {path}: its CPU is not measured")
        return found

    def stop(self, keep):
        if keep:
            log(f"--keep: services and infrastructure left running (infra: {self.infra_dir}; services: pids "
                + ", ".join(f"{s.name} {s.pid}" for s in self.services.values()) + ")")
            return
        for service in self.services.values():
            service.stop()
        subprocess.run([str(REPO / "scripts" / "infra.sh"), "stop", str(self.infra_dir)], stdout=sys.stderr)
        PIDS.unlink(missing_ok=True)


# --- measurement helpers ------------------------------------------------------------------------------------


class Usage:
    """CPU seconds and peak RSS of every service over one workload, and the CPU seconds of the infrastructure
    (the Kafka broker, PostgreSQL with its backends, Redis): what a capacity plan divides by the events."""

    def __init__(self, stack):
        self.stack = stack

    def __enter__(self):
        self.cpu = {name: s.cpu_seconds() for name, s in self.stack.services.items()}
        for s in self.stack.services.values():
            s.reset_peak()
        self.infra = self.stack.infra_processes()
        self.infra_cpu = {name: p.cpu_seconds() for name, p in self.infra.items()}
        return self

    def __exit__(self, *unused):
        self.result = {name: {"cpu_s": round(s.cpu_seconds() - self.cpu.get(name, 0), 2),
                              "peak_rss_mib": round(s.peak_rss_mib(), 1)}
                       for name, s in self.stack.services.items()}
        for name, p in self.infra.items():
            try:
                self.result[name] = {"cpu_s": round(p.cpu_seconds() - self.infra_cpu[name], 2)}
            except OSError:  # stopped meanwhile
                pass


def loadgen(*args):
    command = [str(LOADGEN), *map(str, args)]
    log("$ " + " ".join(command[1:]))
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: loadgen failed (exit {done.returncode}): {' '.join(command)}")
    return json.loads(done.stdout)


def workload(id_, rate, result, usage, *, ceiling=None, events_per_s=None, latency=None, note=None, events=None):
    latency = latency if latency is not None else result.get("latency_ms") or {}
    entry = {
        "id": id_,
        "rate": rate,
        "events_per_s": round(events_per_s if events_per_s is not None else result.get("events_per_s", 0), 1),
        "requests_per_s": round(result.get("requests_per_s", 0), 1),
        "p50_ms": round(latency.get("p50", 0), 3),
        "p99_ms": round(latency.get("p99", 0), 3),
        "p999_ms": round(latency.get("p999", 0), 3),
        "errors": result.get("errors", 0),
        "counts_exact": result.get("counts_exact"),
        "ceiling": ceiling,
        "ratio_to_ceiling": None,
        "services": usage.result if usage else None,
    }
    # CPU per event (per query for W4, W5) of each process: its CPU seconds over the events of the whole window,
    # warm-up included (taken at the measured rate), and whatever the window held after them (a verification, the
    # processor applying them) charged to them too.
    if events is None and result.get("duration_s"):
        events = entry["events_per_s"] * (result["duration_s"] + result.get("warmup_s", 0))
    if usage and events:
        entry["cpu_us_per_event"] = {name: round(u["cpu_s"] * 1e6 / events, 1) for name, u in usage.result.items()}
    if note:
        entry["note"] = note
    return entry


def with_ratio(entry, our_figure):
    if entry["ceiling"] and entry["ceiling"]["value"]:
        entry["ratio_to_ceiling"] = round(our_figure / entry["ceiling"]["value"], 3)
    return entry


# --- ceilings -----------------------------------------------------------------------------------------------


def nginx_ceiling(duration, connections):
    """Static 200 answers from Debian's nginx (one worker, like our one HTTP I/O thread) under W1's shape."""
    root = STATE / "nginx"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (root / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 '{{"ok":true}}'; }}
  }}
}}
""")
    nginx = subprocess.Popen(["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while http_get(f"http://127.0.0.1:{port}/")[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit("bench: nginx did not answer")
            time.sleep(0.05)
        result = loadgen("static", "--url", f"http://127.0.0.1:{port}", "--connections", connections,
                         "--rate", "max", "--duration", duration, "--warmup", 1)
    finally:
        nginx.terminate()
        nginx.wait()
    return {"name": "nginx static 200, 1 worker, same load shape", "value": round(result["requests_per_s"], 1)}


def kafka_ceiling(stack, records):
    """Kafka's own producer performance tool, with our producer's settings, 160-byte records."""
    broker = stack.infra["KAFKA_BROKER"]
    java = ["java", "-Xmx512m", f"-Dlog4j2.configurationFile={REPO}/scripts/kafka/log4j2.properties",
            "-Dclickstream.log.level=WARN", "-Dclickstream.log.target=SYSTEM_ERR", "-cp", f"{KAFKA_LIBS}/*"]
    subprocess.run(java + ["org.apache.kafka.tools.TopicCommand", "--bootstrap-server", broker, "--create",
                           "--if-not-exists", "--topic", "bench-ceiling", "--partitions",
                           stack.infra["CLICKSTREAM_KAFKA_PARTITIONS"], "--replication-factor", "1"],
                   check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(java + ["org.apache.kafka.tools.ProducerPerformance", "--topic", "bench-ceiling",
                                 "--num-records", str(records), "--record-size", "160", "--throughput", "-1",
                                 "--producer-props", f"bootstrap.servers={broker}", "acks=all",
                                 "enable.idempotence=true", "linger.ms=1", "compression.type=lz4",
                                 "batch.size=1000000"],
                         check=True, capture_output=True, text=True).stdout
    summary = [line for line in out.splitlines() if "records sent" in line][-1]
    per_second = float(summary.split("records sent,")[1].split("records/sec")[0])
    return {"name": "kafka ProducerPerformance acks=all idempotent lz4 linger 1 ms, 160 B", "value": round(per_second, 1)}


def redis_ceiling(stack, requests):
    host, port = stack.infra["REDIS_ADDR"].rsplit(":", 1)
    stack.redis("SET", "bench:ceiling", "12345")
    out = subprocess.run(["redis-benchmark", "-h", host, "-p", port, "-t", "get", "-n", str(requests), "-c", "64",
                          "-q"], check=True, capture_output=True, text=True).stdout
    line = [l for l in out.replace("\r", "\n").splitlines() if l.startswith("GET:")][-1]
    return {"name": "redis-benchmark GET, 64 clients, no pipelining",
            "value": float(line.split(":")[1].split("requests")[0])}


def postgres_ceiling(stack, rows):
    """Rows/s of one COPY into click_events (its primary key and index included), in a transaction rolled back."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        run = f"ceiling{int(time.time())}"
        for i in range(rows):
            f.write(f"{run}-e{i},{run}-u{i % 100000},click,/bench/{run}/p{i % 97},2026-01-01T00:00:00Z\n")
        path = f.name
    try:
        start = time.monotonic()
        subprocess.run(["psql", stack.infra["DATABASE_URL"], "-q", "-v", "ON_ERROR_STOP=1", "-c", "BEGIN",
                        "-c", f"\\copy click_events (event_id, user_id, event_type, page_url, time_stamp) "
                              f"FROM '{path}' WITH (FORMAT csv)", "-c", "ROLLBACK"], check=True)
        elapsed = time.monotonic() - start
    finally:
        os.unlink(path)
    return {"name": "PostgreSQL COPY into click_events", "value": round(rows / elapsed, 1)}


# --- workloads ----------------------------------------------------------------------------------------------


class Bench:
    """The workloads, in the order they run; each records its entries. W4 and W5 query the pairs W1 and W2 wrote."""

    def __init__(self, args, stack):
        self.args, self.stack = args, stack
        self.quick = args.quick
        self.seconds = 4 if args.quick else 15
        self.stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%H%M%S")
        self.ingest, self.gateway = stack.url("ingestion"), stack.url("gateway")
        self.w1_pairs = 1000
        self.w2_pairs = 20_000 if args.quick else 100_000
        self.entries = []
        self.nginx = None  # W1's ceiling, which W1i shares

    def warm_up(self):
        """Every kind of traffic before anything is measured: the Kafka broker's JVM compiles its hot paths,
        connections and pools fill. Without it the first workload measures a cold broker."""
        log("warming up (not measured)")
        self.warm("batch", 2 if self.quick else 5, "--batch-size", 500, "--connections", 16)
        # Single posts until the broker's JIT is done with them: they reach it as thousands of small produce
        # requests a second, and a broker still compiling competes with everything else for the 2 cores (measured
        # after a broker restart, in 10 s W1 runs: p99 7.5-11.8 ms in runs during which it compiled 160-1,000
        # methods, 6.3-6.4 ms once that fell to about 100; a fixed 15 s of warm-up ended well before that).
        if self.quick:
            self.warm("ingest", 2, "--connections", 64)
        else:
            self.warm_until_compiled("ingest", "--connections", 64)
        self.warm("query", 2)
        self.settle()

    def warm(self, kind, seconds, *extra):
        """`seconds` of `kind` load at the maximum rate; queries ask for the pairs the single posts wrote."""
        target = ["--url", self.gateway] if kind == "query" else ["--url", self.ingest, "--gateway", self.gateway]
        loadgen(kind, *target, "--rate", "max", "--duration", seconds, "--pairs", 1000,
                "--run-id", f"warm{'ingest' if kind == 'query' else kind}{self.stamp}", *extra)

    def warm_until_compiled(self, kind, *extra, slice_s=5, settled=25, at_least_s=15, at_most_s=90):
        """Load in slices of `slice_s` seconds until a slice sees fewer than `settled` methods compiled by the
        broker's JIT (and at least `at_least_s`, at most `at_most_s` seconds in all)."""
        compiled = broker_compilations(self.stack)
        if compiled is None:
            log("jstat cannot read the broker's JIT (no JDK tools?): a fixed warm-up of 30 s instead")
            self.warm(kind, 30, *extra)
            return
        spent = 0
        while True:
            self.warm(kind, slice_s, *extra)
            spent += slice_s
            now = broker_compilations(self.stack) or compiled
            log(f"warm-up: {now - compiled} methods compiled by the broker in the last {slice_s} s ({spent} s in)")
            if spent >= at_most_s or (spent >= at_least_s and now - compiled < settled):
                return
            compiled = now

    def settle(self):
        """Waits until the processor has applied everything, then vacuums and checkpoints PostgreSQL, so a
        workload does not pay for the writes of the one before it (autovacuum of millions of new rows, dirty pages
        and WAL written out, which otherwise stretch every commit's fsync)."""
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            lag = self.stack.metric("clickstream_consumer_lag_records", "processor")
            if lag is not None and lag == 0:
                break
            time.sleep(0.2)
        self.stack.psql("VACUUM (ANALYZE) click_events, page_clicks", user="postgres")
        self.stack.psql("CHECKPOINT", user="postgres")  # CHECKPOINT needs a superuser; local trust auth

    def record(self, entry):
        self.entries.append(entry)
        log(f"{entry['id']} rate={entry['rate']}: {entry['events_per_s']} ev/s, {entry['requests_per_s']} req/s, "
            f"p50 {entry['p50_ms']} p99 {entry['p99_ms']} p99.9 {entry['p999_ms']} ms, errors {entry['errors']}, "
            f"exact {entry['counts_exact']}, ratio {entry['ratio_to_ceiling']}")

    def w1(self):
        """One event per request, 64 keep-alive connections, as fast as acknowledgements come."""
        self.nginx = nginx_ceiling(self.seconds, 64)
        self.settle()
        with Usage(self.stack) as usage:
            result = loadgen("ingest", "--url", self.ingest, "--gateway", self.gateway, "--connections", 64,
                             "--rate", "max", "--duration", self.seconds, "--warmup", 3, "--pairs", self.w1_pairs,
                             "--run-id", f"w1{self.stamp}", "--verify")
        entry = workload("W1", "max", result, usage, ceiling=self.nginx)
        self.record(with_ratio(entry, entry["requests_per_s"]))

    def w1i(self):
        """W1 with the processor paused: what ingestion alone acknowledges. Its events are counted once the
        processor is back (the next workload's settling waits for that), so no count is checked here."""
        ceiling = self.nginx or nginx_ceiling(self.seconds, 64)
        self.settle()
        self.stack.pause_processor()
        try:
            with Usage(self.stack) as usage:
                result = loadgen("ingest", "--url", self.ingest, "--connections", 64, "--rate", "max",
                                 "--duration", self.seconds, "--warmup", 3, "--pairs", self.w1_pairs,
                                 "--run-id", f"w1i{self.stamp}")
        finally:
            self.stack.resume_processor()
        entry = workload("W1i", "max", result, usage, ceiling=ceiling, note="the processor paused")
        entry["counts_exact"] = None
        self.record(with_ratio(entry, entry["requests_per_s"]))

    def w2(self):
        """500 events per request. Shorter than the others: at this rate 8 s leave millions of events for the
        processor, which the verification waits for."""
        ceiling = kafka_ceiling(self.stack, 300_000 if self.quick else 3_000_000)
        self.settle()
        with Usage(self.stack) as usage:
            result = loadgen("batch", "--url", self.ingest, "--gateway", self.gateway, "--connections", 16,
                             "--rate", "max", "--batch-size", 500, "--duration", 4 if self.quick else 8,
                             "--warmup", 1, "--pairs", self.w2_pairs, "--run-id", f"w2{self.stamp}", "--verify",
                             "--verify-timeout", 600)
        entry = workload("W2", "max", result, usage, ceiling=ceiling)
        self.record(with_ratio(entry, entry["events_per_s"]))

    def w3(self):
        """Freshness at 10,000 events/s, then the processor's own rate (its backlog would disturb the first)."""
        self.w3_freshness()
        self.w3_processor_rate()

    def w3_processor_rate(self):
        stack = self.stack
        self.settle()
        # With the processor stopped, a backlog is ingested in batches; then the processor starts and its
        # events-counted counter is sampled until the backlog is applied.
        ceiling = postgres_ceiling(stack, 200_000 if self.quick else 1_000_000)
        stack.pause_processor()
        backlog = loadgen("batch", "--url", self.ingest, "--gateway", self.gateway, "--connections", 16,
                          "--rate", "max", "--batch-size", 500, "--duration", 3 if self.quick else 10,
                          "--pairs", 50_000, "--run-id", f"w3a{self.stamp}")
        with Usage(stack) as usage:
            processor = stack.resume_processor()
            usage.cpu[processor.name] = processor.cpu_seconds()
            rate, span = processor_rate(stack, backlog["events_acknowledged"])
        entry = workload("W3", "max", {"errors": backlog["errors"], "counts_exact": None}, usage, ceiling=ceiling,
                         events_per_s=rate, latency={}, events=backlog["events_acknowledged"],
                         note=f"the processor applied a backlog of {backlog['events_acknowledged']} events "
                              f"in {span:.2f} s")
        self.record(with_ratio(entry, rate))

    def w3_freshness(self):
        stack = self.stack
        # Freshness at 10,000 events/s: the load comes as batches of 100 events at 100 requests/s (as a busy
        # producer sends), while probes posted one by one measure the time from a post's acknowledgement to its
        # count through the gateway. Both check their counts at the end.
        self.settle()
        lag = LagSampler(stack)
        load = {}
        batches = threading.Thread(target=lambda: load.update(loadgen(
            "batch", "--url", self.ingest, "--gateway", self.gateway, "--connections", 16, "--rate", 100,
            "--batch-size", 100, "--duration", self.seconds + 1, "--pairs", 5000, "--run-id", f"w3b{self.stamp}",
            "--verify", "--verify-timeout", 60)))
        with Usage(stack) as usage:
            batches.start()
            result = loadgen("fresh", "--url", self.ingest, "--gateway", self.gateway, "--connections", 8,
                             "--rate", 100, "--duration", self.seconds, "--warmup", 1, "--pairs", 500,
                             "--run-id", f"w3p{self.stamp}", "--probe-rate", 50, "--verify")
            batches.join()
        lag.stop()
        combined = dict(result)
        combined["events_per_s"] = load.get("events_per_s", 0) + result["events_per_s"]
        combined["requests_per_s"] = load.get("requests_per_s", 0) + result["requests_per_s"]
        combined["errors"] = load.get("errors", 0) + result["errors"]
        combined["counts_exact"] = bool(load.get("counts_exact")) and bool(result.get("counts_exact"))
        self.record(workload(
            "W3", 10000, combined, usage, latency=result.get("freshness_ms") or {},
            note=f"load: {load.get('events_per_s', 0):,.0f} events/s in batches of 100 plus "
                 f"{result['events_per_s']:,.0f} single posts/s; p50/p99/p99.9 are freshness (acknowledgement to "
                 f"visible count, polled every {result.get('freshness_resolution_ms')} ms) over "
                 f"{result.get('probes')} probes ({result.get('probes_failed')} failed); batch p99 "
                 f"{(load.get('latency_ms') or {}).get('p99', 0):.2f} ms, single post p99 "
                 f"{result['latency_ms']['p99']:.2f} ms; consumer lag at most {lag.max_lag} records"))

    def w4(self):
        """Cached queries (W1's pairs, cached by its verification) at 5,000 req/s, then at the maximum."""
        ceiling = redis_ceiling(self.stack, 200_000 if self.quick else 1_000_000)
        self.settle()
        for rate in (5000, "max"):
            with Usage(self.stack) as usage:
                result = loadgen("query", "--url", self.gateway, "--connections", 64, "--rate", rate,
                                 "--duration", self.seconds, "--warmup", 1, "--pairs", self.w1_pairs,
                                 "--run-id", f"w1{self.stamp}")
            entry = workload("W4", rate, result, usage, ceiling=ceiling if rate == "max" else None)
            self.record(with_ratio(entry, entry["requests_per_s"]))

    def w5(self):
        """Uncached queries: the cache emptied, each request a pair not asked before (W2's pairs)."""
        self.settle()
        self.stack.redis("FLUSHDB")
        with Usage(self.stack) as usage:
            result = loadgen("query", "--url", self.gateway, "--connections", 16, "--rate", 1000, "--duration",
                             min(self.seconds, self.w2_pairs // 1000 - 1), "--distinct", "--pairs", self.w2_pairs,
                             "--run-id", f"w2{self.stamp}")
        self.record(workload("W5", 1000, result, usage))


WORKLOADS = ("W1", "W1I", "W2", "W3", "W4", "W5")


def layouts(args):
    spec = Layout("spec", args.partitions, False, WORKLOADS, args.set)
    default = Layout("default", 4, True, ("W1", "W1I", "W2", "W3"), args.set)
    chosen = {"spec": [spec], "default": [default], "both": [spec, default]}[args.layout]
    if args.only:
        for layout in chosen:
            layout.workloads = [w for w in layout.workloads if w in args.only]
    return [layout for layout in chosen if layout.workloads]


def run_layout(args, layout, keep):
    """Every workload of one layout on a stack of its own, from empty."""
    clean_slate()
    log(f"layout {layout.describe()}")
    stack = Stack(layout)
    outcome = {"layout": layout.name, "partitions": layout.partitions, "combined": layout.combined,
               "settings": layout.settings, "binary": str(clickstream_binary), "workloads": [], "services": {}}
    started = time.monotonic()
    try:
        stack.start_all()
        time.sleep(2)
        idle = {name: round(s.rss_mib(), 1) for name, s in stack.services.items()}
        log("idle RSS (MiB): " + ", ".join(f"{k} {v}" for k, v in idle.items()))
        bench = Bench(args, stack)
        bench.warm_up()
        for id_ in layout.workloads:
            getattr(bench, id_.lower())()
        outcome["workloads"] = bench.entries
        for name in idle:
            peaks = [w["services"][name]["peak_rss_mib"] for w in bench.entries if name in (w["services"] or {})]
            cpu = sum((w["services"] or {}).get(name, {}).get("cpu_s", 0) for w in bench.entries)
            outcome["services"][name] = {"idle_rss_mib": idle[name], "peak_rss_mib": round(max(peaks or [0]), 1),
                                         "cpu_s": round(cpu, 1)}
    finally:
        stack.stop(keep)
    outcome["duration_s"] = round(time.monotonic() - started, 1)
    return outcome


def run(args):
    STATE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(STATE / "logs", ignore_errors=True)
    (STATE / "logs").mkdir()
    chosen = layouts(args)
    results = {"machine": machine(), "quick": args.quick, "layouts": []}
    started = time.monotonic()
    for i, layout in enumerate(chosen):
        results["layouts"].append(run_layout(args, layout, keep=args.keep and i == len(chosen) - 1))
    results["duration_s"] = round(time.monotonic() - started, 1)
    write_results(results, partial=bool(args.only) or args.layout != "both" or bool(args.set)
                  or clickstream_binary != CLICKSTREAM.resolve())


def processor_rate(stack, expected):
    """Samples the events-counted counter of a processor just started (so it starts from 0) until `expected`
    events are counted; returns the rate between the first and the last sample that saw events, and that span."""
    base = 0
    first = last = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        counted = (stack.metric("clickstream_processor_events_counted_total", "processor") or 0) - base
        now = time.monotonic()
        if counted > 0 and first is None:
            first = (now, counted)
        if counted >= expected:
            last = (now, counted)
            break
        time.sleep(0.05)
    if first is None or last is None or last[0] <= first[0]:
        raise SystemExit(f"bench: the processor did not apply the {expected}-event backlog")
    return (last[1] - first[1]) / (last[0] - first[0]), last[0] - first[0]


class LagSampler:
    """The processor's consumer lag, sampled every 200 ms in the background."""

    def __init__(self, stack):
        self.stack, self.max_lag, self.running = stack, 0, True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self):
        while self.running:
            lag = self.stack.metric("clickstream_consumer_lag_records", "processor")
            if lag is not None:
                self.max_lag = max(self.max_lag, int(lag))
            time.sleep(0.2)

    def stop(self):
        self.running = False
        self.thread.join()


def broker_compilations(stack):
    """Methods the Kafka broker's JIT has compiled so far (jstat, from the JDK), or None if it cannot be read."""
    try:
        pid = (stack.infra_dir / "kafka" / "kafka.pid").read_text().strip()
        out = subprocess.run(["jstat", "-compiler", pid], capture_output=True, text=True, timeout=10).stdout
        return int(out.splitlines()[1].split()[0])
    except (OSError, IndexError, ValueError, subprocess.TimeoutExpired):
        return None


def machine():
    memory_kib = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    return {"cores": os.cpu_count(), "memory_gib": round(memory_kib / 1024 / 1024, 1), "cpu": model}


# --- results ------------------------------------------------------------------------------------------------


def number(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def layout_markdown(outcome):
    combined = "one `clickstream all` process, as scripts/up.sh" if outcome["combined"] else \
        "each service its own process"
    settings = "".join(f", {name}={value}" for name, value in sorted(outcome.get("settings", {}).items()))
    if outcome.get("binary", str(CLICKSTREAM.resolve())) != str(CLICKSTREAM.resolve()):
        settings += f", services from {outcome['binary']}"
    lines = [f"### Layout {outcome['layout']}: topic clicks with {outcome['partitions']} partition(s), {combined}"
             f"{settings} ({outcome['duration_s']} s)",
             "",
             "| workload | rate | events/s | requests/s | p50 ms | p99 ms | p99.9 ms | errors | counts exact | "
             "ceiling | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for w in outcome["workloads"]:
        ceiling = f"{w['ceiling']['name']}: {number(w['ceiling']['value'])}" if w["ceiling"] else "-"
        exact = {True: "yes", False: "**no**", None: "-"}[w["counts_exact"]]
        lines.append(f"| {w['id']} | {w['rate']} | {number(w['events_per_s'])} | {number(w['requests_per_s'])} | "
                     f"{number(w['p50_ms'], 2)} | {number(w['p99_ms'], 2)} | {number(w['p999_ms'], 2)} | "
                     f"{w['errors']} | {exact} | {ceiling} | {number(w['ratio_to_ceiling'], 2)} |")
    notes = [f"- {w['id']} ({w['rate']}): {w['note']}" for w in outcome["workloads"] if w.get("note")]
    if notes:
        lines += [""] + notes
    services = outcome["services"]
    lines += ["", "| process | idle RSS MiB | peak RSS MiB | CPU s (workloads) |", "|---|---|---|---|"]
    for name, s in services.items():
        lines.append(f"| {name} | {s['idle_rss_mib']} | {s['peak_rss_mib']} | {s['cpu_s']} |")
    # A paused processor may leave another process running a workload (`ingestion` in place of `all`).
    processes = list(services)
    for w in outcome["workloads"]:
        processes += [n for n in (w.get("services") or {}) if n not in processes]
    lines += ["", "CPU seconds by workload and process:", "",
              "| workload | " + " | ".join(processes) + " |",
              "|---|" + "---|" * len(processes)]
    for w in outcome["workloads"]:
        usage = w.get("services") or {}
        lines.append(f"| {w['id']} {w['rate']} | " +
                     " | ".join(str(usage.get(n, {}).get("cpu_s", "-")) for n in processes) + " |")
    lines += ["", "CPU microseconds per event (per query for W4 and W5) by workload and process:", "",
              "| workload | " + " | ".join(processes) + " | total |",
              "|---|" + "---|" * (len(processes) + 1)]
    for w in outcome["workloads"]:
        per_event = w.get("cpu_us_per_event") or {}
        total = round(sum(per_event.values()), 1) if per_event else "-"
        lines.append(f"| {w['id']} {w['rate']} | " +
                     " | ".join(str(per_event.get(n, "-")) for n in processes) + f" | {total} |")
    return lines


def comparison_markdown(outcomes):
    """W1, W1i, W2 and W3 side by side in every layout measured."""
    names = [o["layout"] for o in outcomes]
    lines = ["| workload | " + " | ".join(f"{n} events/s" for n in names) + " | " +
             " | ".join(f"{n} p99 ms" for n in names) + " | " + " | ".join(f"{n} ratio" for n in names) + " |",
             "|---|" + "---|" * (3 * len(names))]
    keys = []
    for o in outcomes:
        for w in o["workloads"]:
            if (w["id"], w["rate"]) not in keys and w["id"] in ("W1", "W1i", "W2", "W3"):
                keys.append((w["id"], w["rate"]))
    for id_, rate in keys:
        found = [next((w for w in o["workloads"] if (w["id"], w["rate"]) == (id_, rate)), None) for o in outcomes]
        cells = [number(w and w["events_per_s"]) for w in found] + [number(w and w["p99_ms"], 2) for w in found] + \
                [number(w and w["ratio_to_ceiling"], 2) for w in found]
        lines.append(f"| {id_} {rate} | " + " | ".join(cells) + " |")
    return lines


def markdown(results):
    machine_ = results["machine"]
    lines = [f"Machine: {machine_['cores']} cores, {machine_['memory_gib']} GiB ({machine_.get('cpu', '')}); "
             f"{'quick' if results.get('quick') else 'full'} run, {results.get('duration_s')} s.", ""]
    if len(results["layouts"]) > 1:
        lines += comparison_markdown(results["layouts"]) + [""]
    for outcome in results["layouts"]:
        lines += layout_markdown(outcome) + [""]
    return "\n".join(lines)


def write_results(results, partial):
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, indent=2) + "\n"
    table = markdown(results)
    # A run of some workloads only (--only) leaves latest.* to the last complete run.
    names = ([] if partial else ["latest"]) + [stamp]
    for name in names:
        (RESULTS / f"{name}.json").write_text(text)
        (RESULTS / f"{name}.md").write_text(table)
    print(table)
    log(f"results: {', '.join(str(RESULTS / f'{name}.{{json,md}}') for name in names)}")


def positive_int(text):
    """An argparse type: a whole number from 1, refused with a clear message before anything starts."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1")
    return value


def setting(text):
    """NAME=VALUE of a clickstream setting, for --set."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier() or not (name.startswith("CLICKSTREAM_") or name.isupper()):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, e.g. CLICKSTREAM_PARTITIONING=sticky, not {text!r}")
    return name, value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every workload briefly (a smoke check)")
    parser.add_argument("--keep", action="store_true", help="leave everything running afterwards")
    parser.add_argument("--layout", choices=("spec", "default", "both"), default="both",
                        help="spec: 1 partition, separate processes; default: as scripts/up.sh (4 partitions, "
                             "`clickstream all`); both (the default)")
    parser.add_argument("--partitions", type=positive_int, default=1,
                        help="partitions of the clicks topic in the spec layout (default 1)")
    parser.add_argument("--only", type=lambda text: [w.strip().upper() for w in text.split(",")],
                        help="run only these workloads, e.g. W1,W4 (results go to a timestamped file only)")
    parser.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                        help="a clickstream setting for every service, e.g. CLICKSTREAM_PARTITIONING=sticky "
                             "(repeatable; results go to a timestamped file only)")
    parser.add_argument("--binary", type=pathlib.Path, default=CLICKSTREAM,
                        help="run the services from this clickstream binary, e.g. another commit's build, to compare "
                             "two builds on one machine (default build/src/clickstream; results go to a "
                             "timestamped file only)")
    args = parser.parse_args()
    args.set = dict(args.set)
    global clickstream_binary
    clickstream_binary = args.binary.resolve()
    if args.only and not set(args.only) <= set(WORKLOADS):
        parser.error(f"--only takes workloads among {', '.join(WORKLOADS)}")
    for tool in (clickstream_binary, LOADGEN):
        if not tool.exists():
            raise SystemExit(f"bench: {tool} missing: run bench/run.sh, which builds it")
    for command in ("nginx", "redis-benchmark", "redis-cli", "psql", "java"):
        if shutil.which(command) is None:
            raise SystemExit(f"bench: {command} not found: run scripts/setup.sh")
    run(args)


if __name__ == "__main__":
    main()
