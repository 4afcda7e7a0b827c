#!/usr/bin/env python3
"""`clickstream verify` against real stacks on the test infrastructure:

- `--help` exits 0 with the usage; an unknown option or a bad number exits 2 naming it.
- Against `clickstream all`: every pair exact through the gateway and in the database (counters, raw rows and the
  acknowledged event_ids), exit 0, and the report gives the figures.
- Through a gateway that counts one too many (a stand-in here, in front of the real one), it must report each
  pair as double counted and exit 1, even though the database is right.
- Against a stack with no processor (ingestion, gateway and analytics each alone): the posts are acknowledged but
  never counted, so it must report the pairs as lost, the database check as failing, and exit 1 within its timeout.

Usage: verify_test.py CLICKSTREAM_BINARY   (run by CTest with the `infra` fixture; CLICKSTREAM_TEST_STATE names it)
"""
import http.server
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from local_services import LocalServices, read_infra_env  # noqa: E402
from test_checks import answer, serve  # noqa: E402


def verify(binary, *args, timeout=300):
    return subprocess.run([binary, "verify", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def overcounting_gateway(real_gateway):
    """An HTTP server in front of the real gateway that adds one to every count it answers."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with urllib.request.urlopen(real_gateway + self.path, timeout=5) as real:
                body = json.loads(real.read())
            body["count"] += 1
            answer(self, 200, json.dumps(body).encode())

    return serve(Handler)


def main():
    if len(sys.argv) != 2 or not os.environ.get("CLICKSTREAM_TEST_STATE"):
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> verify_test.py CLICKSTREAM_BINARY", file=sys.stderr)
        return 2
    binary, state = sys.argv[1], os.environ["CLICKSTREAM_TEST_STATE"]
    infra = read_infra_env(state)
    log_dir = os.path.join(state, "logs")
    failures = []

    usage = verify(binary, "--help")
    if usage.returncode != 0 or "--database-url" not in usage.stdout:
        failures.append(f"--help: exit {usage.returncode}, {usage.stdout[:300]!r}")
    for args, named in ((["--bogus", "1"], "--bogus"), (["--events", "ten"], "--events"), (["--pairs"], "--pairs")):
        refused = verify(binary, *args)
        if refused.returncode != 2 or named not in refused.stdout:
            failures.append(f"{args}: exit {refused.returncode}, {refused.stdout!r}")

    group = f"verify-test-{os.getpid()}-{time.time_ns()}"
    healthy = LocalServices(binary, infra, log_dir, "verify-test-", {"CLICKSTREAM_CONSUMER_GROUP": group})
    try:
        healthy.start("all")
        # A new consumer group first applies everything earlier tests left in the shared topic: a generous timeout.
        run = verify(binary, "--ingest", healthy.url("ingestion"), "--gateway", healthy.url("gateway"), "--events",
                     "600", "--pairs", "13", "--duplicates", "150", "--timeout", "120", "--database-url",
                     infra["DATABASE_URL"])
        print(run.stdout)
        expected = ("13 of 13 pairs exact", "database: 600 raw rows for 600 events; 13 of 13 counters",
                    "750 posts acknowledged", "result: exact")
        if run.returncode != 0 or not all(text in run.stdout for text in expected):
            failures.append(f"healthy stack: exit {run.returncode}, output {run.stdout[-1500:]!r}")

        server, lying = overcounting_gateway(healthy.url("gateway"))
        try:
            run = verify(binary, "--ingest", healthy.url("ingestion"), "--gateway", lying, "--events", "40", "--pairs",
                         "4", "--timeout", "5", "--database-url", infra["DATABASE_URL"])
        finally:
            server.shutdown()
        print(run.stdout)
        doubled = re.findall(r"expected (\d+), gateway says (\d+) \(double counted\)", run.stdout)
        if run.returncode != 1 or len(doubled) != 4 or any(int(seen) != int(want) + 1 for want, seen in doubled) \
                or "4 of 4 counters" not in run.stdout or "result: NOT EXACT" not in run.stdout:
            failures.append(f"over-counting gateway: exit {run.returncode}, output {run.stdout[-1500:]!r}")
    finally:
        healthy.stop_all()

    # No processor: acknowledged, never counted.
    broken = LocalServices(binary, infra, log_dir, "verify-test-noproc-", {"CLICKSTREAM_CONSUMER_GROUP": group})
    try:
        for service in ("analytics", "gateway", "ingestion"):
            broken.start(service)
        started = time.monotonic()
        run = verify(binary, "--ingest", broken.url("ingestion"), "--gateway", broken.url("gateway"), "--events", "50",
                     "--pairs", "5", "--timeout", "3", "--database-url", infra["DATABASE_URL"])
        elapsed = time.monotonic() - started
        print(run.stdout)
        lost_lines = re.findall(r"expected \d+, gateway says 0 \(lost\)", run.stdout)
        if run.returncode != 1 or len(lost_lines) != 5 or "0 of 5 pairs exact" not in run.stdout \
                or "0 of 5 counters" not in run.stdout or "result: NOT EXACT" not in run.stdout:
            failures.append(f"no processor: exit {run.returncode}, output {run.stdout[-1500:]!r}")
        if elapsed > 60:
            failures.append(f"no processor: took {elapsed:.0f} s with a 3 s timeout")
    finally:
        broken.stop_all()

    for failure in failures:
        print(f"verify_test: FAIL: {failure}")
    if not failures:
        print("verify_test: PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
