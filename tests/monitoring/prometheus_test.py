#!/usr/bin/env python3
"""A real Prometheus scrapes the four services under traffic, with the repository's scrape job and alert rules.

Usage: prometheus_test.py CLICKSTREAM_BINARY PROMETHEUS_BINARY   (run by CTest with the `infra` fixture)

What it proves, through Prometheus' own HTTP API:
  - the local job of deploy/monitoring/prometheus.yml scrapes every service (`up` is 1 for each app);
  - the series the dashboard and the alerts use exist and move with traffic;
  - every rule of deploy/monitoring/alerts.yml evaluates without error against the real series;
  - alerts fire when their condition is staged: analytics killed (ClickstreamServiceDown for analytics) and the
    gateway then answering 503 (ClickstreamHighErrorRate for the gateway).

Only two things differ from the repository's files, both so the test takes seconds instead of minutes: the
scrape and evaluation intervals are 1 s, and every rule's `for:` is 0s. Targets are the test's own ports, and
the job keeps every target's samples because the services run as separate processes here (the comment in
prometheus.yml says to drop metric_relabel_configs then).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITORING = os.path.join(REPO, "deploy", "monitoring")
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from local_services import LocalServices, free_port, http, read_infra_env  # noqa: E402


def fail(message):
    print(f"prometheus_test: FAIL: {message}", flush=True)
    sys.exit(1)


def read_test_infra_env():
    state = os.environ.get("CLICKSTREAM_TEST_STATE")
    if not state:
        fail("CLICKSTREAM_TEST_STATE is not set (run through CTest, which starts the infra fixture)")
    return state, read_infra_env(state)


def wait_until(what, predicate, timeout=60.0, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Stack(LocalServices):
    """The four services as separate processes, as in a cluster."""

    def __init__(self, binary, infra_env, log_dir):
        super().__init__(binary, infra_env, log_dir, "prometheus-test-", {
            "CLICKSTREAM_CONSUMER_GROUP": f"prometheus-test-{os.getpid()}-{time.time_ns()}",
            "CLICKSTREAM_QUERY_DEADLINE_MS": "2000",
        })


def derived_config(stack, work_dir):
    """The repository's local job pointed at the test's ports, and its rules with `for: 0s`."""
    with open(os.path.join(MONITORING, "prometheus.yml")) as f:
        config = yaml.safe_load(f)
    with open(os.path.join(MONITORING, "alerts.yml")) as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "0s"
    rules_path = os.path.join(work_dir, "alerts.yml")
    with open(rules_path, "w") as f:
        yaml.safe_dump(rules, f)

    local = next(job for job in config["scrape_configs"] if job["job_name"] == "clickstream-local")
    for target in local["static_configs"]:
        app = target["labels"]["app"]
        target["targets"] = [f"127.0.0.1:{stack.http_port(app)}"]
    local.pop("metric_relabel_configs", None)
    config["scrape_configs"] = [local]
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [rules_path]
    config_path = os.path.join(work_dir, "prometheus.yml")
    with open(config_path, "w") as f:
        yaml.safe_dump(config, f)
    return config_path, [rule["alert"] for group in rules["groups"] for rule in group["rules"]]


class Prometheus:
    def __init__(self, binary, config_path, work_dir):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        log = open(os.path.join(work_dir, "prometheus.log"), "ab")
        self.process = subprocess.Popen([
            binary, f"--config.file={config_path}", f"--storage.tsdb.path={os.path.join(work_dir, 'data')}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"], stdout=log,
            stderr=subprocess.STDOUT)
        wait_until("prometheus to be ready", lambda: http("GET", f"{self.base}/-/ready")[0] == 200)

    def api(self, path, **params):
        status, body = http("GET", f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}")
        if status != 200:
            fail(f"prometheus API {path} answered {status}: {body[:300]}")
        return json.loads(body)["data"]

    def query(self, expression):
        return self.api("query", query=expression)["result"]

    def value(self, expression):
        result = self.query(expression)
        return sum(float(sample["value"][1]) for sample in result) if result else None

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def post_events(stack, run, count):
    base = f"http://127.0.0.1:{stack.ports['ingestion']}/ingest"
    for i in range(count):
        event = {"event_id": f"{run}-{i}", "user_id": f"{run}-user-{i % 5}", "event_type": "click",
                 "page_url": f"/page/{i % 3}"}
        status, body = http("POST", base, json.dumps(event))
        if status != 200:
            fail(f"POST /ingest answered {status}: {body}")


def query_counts(stack, run, count):
    statuses = []
    for i in range(count):
        statuses.append(http("GET", f"http://127.0.0.1:{stack.ports['gateway']}/analytics/events?"
                                    f"user_id={run}-user-{i % 5}&page_url=%2Fpage%2F{i % 3}")[0])
    return statuses


def main():
    if len(sys.argv) != 3:
        fail("usage: prometheus_test.py CLICKSTREAM_BINARY PROMETHEUS_BINARY")
    binary, prometheus_binary = sys.argv[1], sys.argv[2]
    state, infra_env = read_test_infra_env()
    work_dir = tempfile.mkdtemp(prefix="prometheus-test-")
    stack = Stack(binary, infra_env, os.path.join(state, "logs"))
    prometheus = None
    try:
        for service in ("analytics", "processor", "gateway", "ingestion"):
            stack.start(service)
        config_path, alert_names = derived_config(stack, work_dir)
        prometheus = Prometheus(prometheus_binary, config_path, work_dir)

        wait_until("every service scraped with up == 1",
                   lambda: prometheus.value('sum(up{job="clickstream-local"})') == 4.0, timeout=30)
        run = f"prom-{os.getpid()}-{time.time_ns()}"
        post_events(stack, run, 60)
        if any(status != 200 for status in query_counts(stack, run, 30)):
            fail("queries failed before any fault was staged")

        # The series exist, per service, and move with the traffic.
        for expression in (
                'clickstream_http_requests_total{app="ingestion",route="/ingest",status="200"}',
                'clickstream_http_requests_total{app="gateway",route="/analytics/events",status="200"}',
                'clickstream_http_request_duration_seconds_bucket{app="gateway"}',
                'clickstream_kafka_produce_duration_seconds_count{app="ingestion"}',
                'clickstream_processor_events_counted_total{app="processor"}',
                'clickstream_processor_late_events_total{app="processor"}',
                'clickstream_processor_invalid_events_total{app="processor",reason="time_stamp_too_old"}',
                'clickstream_ingest_invalid_events_total{app="ingestion",reason="time_stamp_too_far_ahead"}',
                'clickstream_consumer_lag_records{app="processor"}',
                'clickstream_processor_stalled_seconds{app="processor"}',
                'clickstream_freshness_seconds_count{app="processor"}',
                'clickstream_cache_hits_total{app="analytics"}',
                'clickstream_reconcile_checked_pairs_total{app="analytics"}',
                'clickstream_reconcile_drift_pairs_total{app="analytics"}',
                'clickstream_db_duration_seconds_count{app="processor"}'):
            wait_until(f"series {expression}", lambda e=expression: prometheus.query(e), timeout=20)
        wait_until("the processor's counted events to reach the 60 posted",
                   lambda: (prometheus.value('clickstream_processor_events_counted_total{app="processor"}') or 0)
                   >= 60, timeout=30)
        before = prometheus.value('clickstream_http_requests_total{app="ingestion",route="/ingest",status="200"}')
        post_events(stack, run + "-more", 40)
        wait_until("ingestion's request counter to move by the 40 new posts",
                   lambda: (prometheus.value(
                       'clickstream_http_requests_total{app="ingestion",route="/ingest",status="200"}') or 0)
                   >= before + 40, timeout=20)

        # Every rule evaluates against the real series without error, and none fires on a healthy stack.
        def rules_evaluated():
            groups = prometheus.api("rules")["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            if len(rules) != len(alert_names) or any(rule.get("lastEvaluation", "").startswith("0001") for rule in rules):
                return None
            return rules
        rules = wait_until("every alert rule evaluated", rules_evaluated, timeout=20)
        broken = [f'{rule["name"]}: {rule.get("lastError")}' for rule in rules if rule["health"] != "ok"]
        if broken:
            fail(f"rules that do not evaluate: {broken}")
        firing = [alert["labels"]["alertname"] for alert in prometheus.api("alerts")["alerts"]]
        if firing:
            fail(f"alerts firing on a healthy stack: {firing}")

        # Stage faults: analytics killed, so its target is down and the gateway answers 503.
        stack.kill("analytics")
        for _ in range(2):
            statuses = query_counts(stack, run, 5)
            if all(status == 200 for status in statuses):
                fail("the gateway answered 200 with analytics dead")

        def fired(name, label, value):
            for alert in prometheus.api("alerts")["alerts"]:
                if alert["labels"]["alertname"] == name and alert["labels"].get(label) == value \
                        and alert["state"] == "firing":
                    return alert
            return None
        down = wait_until("ClickstreamServiceDown for analytics",
                          lambda: fired("ClickstreamServiceDown", "app", "analytics"), timeout=30)
        errors = wait_until("ClickstreamHighErrorRate for the gateway",
                            lambda: fired("ClickstreamHighErrorRate", "service", "gateway") or
                            (query_counts(stack, run, 3) and None), timeout=30)
        print(f"prometheus_test: PASS: 4 targets up, {len(rules)} rules evaluate, fired: "
              f"{down['labels']['alertname']}({down['labels']['app']}), "
              f"{errors['labels']['alertname']}({errors['labels']['service']})", flush=True)
    finally:
        if prometheus:
            prometheus.stop()
        stack.stop_all()


if __name__ == "__main__":
    main()
