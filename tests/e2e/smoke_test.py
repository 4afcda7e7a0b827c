#!/usr/bin/env python3
"""The README's smoke check as an end-to-end test: scripts/smoke.py's scenario (2,000 posts over 100 pairs, a
fifth of them re-sending an acknowledged event_id, pairs built to catch encoding mistakes; every count exact
through the gateway, by query string and by JSON body) run against `clickstream all` started here, as
scripts/up.sh starts it, on the test infrastructure. So the command a newcomer runs is the scenario CI runs.

Usage: smoke_test.py CLICKSTREAM_BINARY   (run by CTest with the `infra` fixture; CLICKSTREAM_TEST_STATE names it)
"""
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from local_services import LocalServices, read_infra_env  # noqa: E402


def main():
    if len(sys.argv) != 2 or not os.environ.get("CLICKSTREAM_TEST_STATE"):
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> smoke_test.py CLICKSTREAM_BINARY", file=sys.stderr)
        return 2
    state = os.environ["CLICKSTREAM_TEST_STATE"]
    services = LocalServices(sys.argv[1], read_infra_env(state), os.path.join(state, "logs"), "smoke-test-",
                             {"CLICKSTREAM_CONSUMER_GROUP": f"smoke-test-{os.getpid()}-{time.time_ns()}"})
    try:
        services.start("all")
        # The deadline is generous: CI machines are slower than the 2 s a local stack needs.
        smoke = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "smoke.py"),
                                "--ingest-url", services.url("ingestion"), "--query-url", services.url("gateway"),
                                "--deadline-s", "20"])
    finally:
        statuses = services.stop_all()
    if smoke.returncode != 0:
        print(f"smoke_test: FAIL: scripts/smoke.py exited {smoke.returncode}")
        return 1
    if statuses.get("all") != 0:
        print(f"smoke_test: FAIL: clickstream all did not exit cleanly on SIGTERM ({statuses.get('all')}); see "
              f"{services.log_path('all')}")
        return 1
    print("smoke_test: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
