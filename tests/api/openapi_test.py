#!/usr/bin/env python3
"""The OpenAPI documents against the live services: `clickstream all` on the test infrastructure serves each
document at GET /openapi.json exactly as the repository keeps it (api/*.openapi.json), and schemathesis
(tests/api/schemathesis.toml) runs every documented operation of both services with valid and invalid inputs
(examples, boundary values, then fuzzing), checking that no answer is a 5xx and that every answer (its status,
content type, headers and body) matches the document.

One check is left out: positive_data_acceptance, which expects every request the schema allows to be accepted. An
event's validity depends on the clock (time_stamp must lie within CLICKSTREAM_EVENT_MAX_AGE_S and
CLICKSTREAM_EVENT_MAX_SKEW_S of now) and on UTF-8 byte lengths (2,048 bytes, where JSON Schema counts characters),
which no schema can say; such refusals are 400s that name the field.

Usage: openapi_test.py CLICKSTREAM_BINARY   (CTest, `infra` fixture; CLICKSTREAM_TEST_STATE names it)
CLICKSTREAM_SCHEMATHESIS_SEED picks the seed (default 1, so a run is repeatable); CLICKSTREAM_SCHEMATHESIS_EXAMPLES
the examples per operation (default 50).
"""
import os
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from local_services import LocalServices, read_infra_env  # noqa: E402

SCHEMATHESIS = os.path.join(REPO, ".state", "tools", "venv", "bin", "schemathesis")


def main():
    if len(sys.argv) != 2 or not os.environ.get("CLICKSTREAM_TEST_STATE"):
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> openapi_test.py CLICKSTREAM_BINARY", file=sys.stderr)
        return 2
    binary, state = sys.argv[1], os.environ["CLICKSTREAM_TEST_STATE"]
    seed = os.environ.get("CLICKSTREAM_SCHEMATHESIS_SEED", "1")
    examples = os.environ.get("CLICKSTREAM_SCHEMATHESIS_EXAMPLES", "50")
    services = LocalServices(binary, read_infra_env(state), os.path.join(state, "logs"), "openapi-test-",
                             {"CLICKSTREAM_CONSUMER_GROUP": f"openapi-test-{os.getpid()}-{time.time_ns()}"})
    failures = []
    try:
        services.start("all")
        for service in ("ingestion", "gateway"):
            url = services.url(service)
            with urllib.request.urlopen(url + "/openapi.json", timeout=10) as answer:
                served = answer.read()
            with open(os.path.join(REPO, "api", f"{service}.openapi.json"), "rb") as f:
                if served != f.read():
                    failures.append(f"{service}: GET /openapi.json is not api/{service}.openapi.json")
            run = subprocess.run(
                [SCHEMATHESIS, "--config-file", os.path.join(REPO, "tests", "api", "schemathesis.toml"), "run",
                 url + "/openapi.json", "--url", url, "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                 "--phases", "examples,coverage,fuzzing", "--max-examples", examples, "--seed", seed, "--workers", "2",
                 "--no-color"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
            summary = [line for line in run.stdout.splitlines() if "generated" in line or "Selected" in line]
            print(f"{service}: schemathesis exit {run.returncode}; {'; '.join(s.strip() for s in summary)}")
            if run.returncode != 0:
                print(run.stdout[-20000:])
                failures.append(f"{service}: schemathesis found failures (seed {seed}; output above)")
    finally:
        services.stop_all()
    for failure in failures:
        print(f"openapi_test: FAIL: {failure}")
    if not failures:
        print("openapi_test: PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
