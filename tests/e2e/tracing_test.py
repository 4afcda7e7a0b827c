#!/usr/bin/env python3
"""Tracing into a real backend: a Zipkin server (the jar scripts/setup.sh fetches) started here, and `clickstream all`
exporting to it with no sampling of its own (ratio 0), so only requests whose traceparent says "sampled" record.

- An event posted with a sampled traceparent: its trace in Zipkin holds ingestion's server span under the caller's,
  the Kafka send under it, and the processor's apply of the batch under the send, with its PostgreSQL transaction
  and its Redis update.
- A query with a sampled traceparent: its trace holds the gateway's server span under the caller's, the gateway's
  gRPC call under it, analytics' side of the call under that, and analytics' cache read under its side.
- An event posted with an unsampled traceparent records nothing, even though later sampled ones do.
- With Zipkin killed, sampled posts are still answered 200 and counted.
- An endpoint that is not an http(s) URL stops the process at start, naming the setting.

Usage: tracing_test.py CLICKSTREAM_BINARY   (run by CTest with the `infra` fixture; CLICKSTREAM_TEST_STATE names it)
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from local_services import LocalServices, free_port, http, read_infra_env  # noqa: E402

ZIPKIN_JAR = os.path.join(REPO, ".state", "zipkin", "zipkin-server-3.4.2-exec.jar")


def traceparent(sampled=True):
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def post(url, body, headers):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def trace_spans(zipkin, trace_id):
    status, body = http("GET", f"{zipkin}/api/v2/trace/{trace_id}")
    return json.loads(body) if status == 200 else []


def wait_for_spans(zipkin, trace_id, names, timeout=30):
    """The trace's spans once every name in `names` is among them (Zipkin lowercases names), else what came."""
    deadline = time.monotonic() + timeout
    spans = []
    while time.monotonic() < deadline:
        spans = trace_spans(zipkin, trace_id)
        if names <= {s.get("name") for s in spans}:
            return spans
        time.sleep(0.2)
    return spans


def by_name(spans, name):
    return next(s for s in spans if s.get("name") == name)


def event(user, page):
    return {"event_id": secrets.token_hex(12), "user_id": user, "event_type": "click", "page_url": page}


def start_zipkin(log_dir):
    port = free_port()
    log = open(os.path.join(log_dir, "zipkin.log"), "ab")
    env = dict(os.environ, QUERY_PORT=str(port), STORAGE_TYPE="mem", JAVA_OPTS="-Xms64m -Xmx256m")
    process = subprocess.Popen(["java", "-Xms64m", "-Xmx256m", "-jar", ZIPKIN_JAR], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while http("GET", f"{url}/health", timeout=2)[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"tracing_test: Zipkin did not start; see {log_dir}/zipkin.log")
        time.sleep(0.5)
    return process, url


def main():
    if len(sys.argv) != 2 or not os.environ.get("CLICKSTREAM_TEST_STATE"):
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> tracing_test.py CLICKSTREAM_BINARY", file=sys.stderr)
        return 2
    if not os.path.exists(ZIPKIN_JAR):
        print(f"tracing_test: FAIL: {ZIPKIN_JAR} is missing; scripts/setup.sh fetches it")
        return 1
    state = os.environ["CLICKSTREAM_TEST_STATE"]
    log_dir = os.path.join(state, "logs")
    os.makedirs(log_dir, exist_ok=True)
    failures = []

    # An endpoint that is not a URL stops the process at start, naming the setting.
    refused = subprocess.run([sys.argv[1], "all"], env=dict(os.environ, CLICKSTREAM_TRACING_ZIPKIN_URL="zipkin:9411"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    if refused.returncode != 1 or "CLICKSTREAM_TRACING_ZIPKIN_URL" not in refused.stdout:
        failures.append(f"a bad endpoint: exit {refused.returncode}, output {refused.stdout[-500:]!r}")

    zipkin_process, zipkin = start_zipkin(log_dir)
    services = LocalServices(sys.argv[1], read_infra_env(state), log_dir, "tracing-test-", {
        "CLICKSTREAM_CONSUMER_GROUP": f"tracing-test-{os.getpid()}-{time.time_ns()}",
        "CLICKSTREAM_TRACING_ZIPKIN_URL": f"{zipkin}/api/v2/spans",
        "CLICKSTREAM_TRACING_SAMPLE_RATIO": "0",
    })
    try:
        services.start("all")
        ingest = services.url("ingestion")
        user, page = "tracer-" + secrets.token_hex(6), "/traced/" + secrets.token_hex(6)

        # An unsampled trace first: nothing of it may reach Zipkin, though everything after it does.
        quiet_trace, _, quiet = traceparent(sampled=False)
        post(f"{ingest}/ingest", event(user, page), {"traceparent": quiet, "Content-Type": "application/json"})

        trace_id, caller_span, sampled = traceparent()
        status = post(f"{ingest}/ingest", event(user, page), {"traceparent": sampled,
                                                               "Content-Type": "application/json"})
        if status != 200:
            failures.append(f"traced post answered {status}")
        names = {"post /ingest", "send clicks", "apply batch", "postgres apply batch", "redis update counts"}
        # The processor's consumer group is new, so it applies the whole shared test topic first (every earlier
        # test's events and poison records): its spans may take a while.
        spans = wait_for_spans(zipkin, trace_id, names, timeout=150)
        got = {s.get("name") for s in spans}
        if not names <= got:
            failures.append(f"ingest trace {trace_id}: spans {sorted(got)}, expected {sorted(names)}")
        else:
            server, send = by_name(spans, "post /ingest"), by_name(spans, "send clicks")
            apply_, store = by_name(spans, "apply batch"), by_name(spans, "postgres apply batch")
            cache = by_name(spans, "redis update counts")
            expected_tree = [(server, caller_span, "ingestion", "SERVER"), (send, server["id"], "ingestion", "PRODUCER"),
                             (apply_, send["id"], "processor", "CONSUMER"), (store, apply_["id"], "processor", "CLIENT"),
                             (cache, apply_["id"], "processor", "CLIENT")]
            for span, parent, service, kind in expected_tree:
                where = f"span {span['name']}"
                if span.get("parentId") != parent:
                    failures.append(f"{where}: parent {span.get('parentId')}, expected {parent}")
                if span["localEndpoint"]["serviceName"] != service:
                    failures.append(f"{where}: service {span['localEndpoint']['serviceName']}, expected {service}")
                if span.get("kind") != kind:
                    failures.append(f"{where}: kind {span.get('kind')}, expected {kind}")
            if server.get("tags", {}).get("http.response.status_code") != "200":
                failures.append(f"server span tags {server.get('tags')}")

        query_trace, query_caller, query_parent = traceparent()
        query = urllib.parse.urlencode({"user_id": user, "page_url": page})
        request = urllib.request.Request(f"{services.url('gateway')}/analytics/events?{query}",
                                         headers={"traceparent": query_parent})
        with urllib.request.urlopen(request, timeout=10) as answer:
            count = json.loads(answer.read())["count"]
        if count != 2:
            failures.append(f"count {count}, expected 2 (one unsampled and one sampled post)")
        call = "analytics.analyticsservice/geteventcounts"
        spans = wait_for_spans(zipkin, query_trace, {"get /analytics/events", call, "redis get counts"})
        server = [s for s in spans if s.get("name") == "get /analytics/events"]
        calls = {s.get("kind"): s for s in spans if s.get("name") == call}
        reads = [s for s in spans if s.get("name") == "redis get counts"]
        if not server or set(calls) != {"CLIENT", "SERVER"} or not reads:
            failures.append(f"query trace {query_trace}: spans {sorted(s.get('name') for s in spans)}")
        else:
            expected_tree = [(server[0], query_caller, "gateway"), (calls["CLIENT"], server[0]["id"], "gateway"),
                             (calls["SERVER"], calls["CLIENT"]["id"], "analytics"),
                             (reads[0], calls["SERVER"]["id"], "analytics")]
            for span, parent, service in expected_tree:
                if span.get("parentId") != parent or span["localEndpoint"]["serviceName"] != service:
                    failures.append(f"query span {span['name']} ({span.get('kind')}): parent {span.get('parentId')} "
                                    f"service {span['localEndpoint']['serviceName']}, expected {parent} {service}")

        if trace_spans(zipkin, quiet_trace):
            failures.append(f"the unsampled trace {quiet_trace} was recorded")

        # The backend gone: requests are answered as before.
        zipkin_process.send_signal(signal.SIGKILL)
        zipkin_process.wait()
        # Few: their records stay in the shared test topic, and a later run's processor (a new consumer group) records
        # at most 256 sampled records of a batch.
        for _ in range(5):
            status = post(f"{ingest}/ingest", event(user, page), {"traceparent": traceparent()[2],
                                                                   "Content-Type": "application/json"})
            if status != 200:
                failures.append(f"with Zipkin down a traced post answered {status}")
                break
    finally:
        statuses = services.stop_all()
        if zipkin_process.poll() is None:
            zipkin_process.kill()
            zipkin_process.wait()
    if statuses.get("all") != 0:
        failures.append(f"clickstream all did not exit cleanly ({statuses.get('all')}); see "
                        f"{services.log_path('all')}")
    for failure in failures:
        print(f"tracing_test: FAIL: {failure}")
    if failures:
        return 1
    print("tracing_test: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
