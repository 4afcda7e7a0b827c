#!/usr/bin/env python3
"""The container image, built and run: builds the image from the repository's Dockerfile with Podman
(scripts/container.sh), runs the four services as four containers (read-only root, uid 10001, the host's network)
against the test infrastructure, and runs the end-to-end scenario (scripts/smoke.py) against them; the gateway must
serve the dashboard the image built. Each container
must then stop cleanly on SIGTERM, as a Kubernetes pod is stopped. Prints the build time and the image's size.

Usage: image_test.py   (run by CTest with the `infra` fixture; CLICKSTREAM_TEST_STATE names it)
"""
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from local_services import SERVICES, LocalServices, read_infra_env  # noqa: E402

IMAGE = "clickstream:test"
UID = "10001"


def podman(*args, check=True):
    done = subprocess.run(["podman", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({done.returncode}): {done.stdout.strip()}")
    return done


def container_command(run_id):
    def command(service):
        return ["podman", "run", "--rm", "--name", f"{run_id}-{service}", "--network=host", "--read-only",
                f"--user={UID}:{UID}", "--env=CLICKSTREAM_*", "--env=KAFKA_*", "--env=DATABASE_URL",
                "--env=REDIS_ADDR", IMAGE, service]
    return command


def check_container(name):
    """Runs as uid 10001 on a root file system it cannot write."""
    uid = podman("exec", name, "id", "-u").stdout.strip()
    if uid != UID:
        return f"{name} runs as uid {uid}, not {UID}"
    if podman("exec", name, "touch", "/usr/local/bin/written", check=False).returncode == 0:
        return f"{name} could write to its root file system"
    return None


def check_dashboard(gateway_url):
    """The image's gateway serves the dashboard its own stage built: the page, and its script with uPlot inside."""
    failures = []
    for path, must_hold in (("/dashboard/", b"dashboard.js"), ("/dashboard/dashboard.js", b"u-legend")):
        try:
            with urllib.request.urlopen(gateway_url + path, timeout=10) as answer:
                body = answer.read()
        except (urllib.error.URLError, OSError) as error:
            failures.append(f"GET {path} from the image's gateway failed: {error}")
            continue
        if must_hold not in body:
            failures.append(f"GET {path} from the image's gateway: {len(body)} bytes without {must_hold!r}")
    return failures


def main():
    state = os.environ.get("CLICKSTREAM_TEST_STATE")
    if not state:
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> image_test.py", file=sys.stderr)
        return 2
    started = time.monotonic()
    build = subprocess.run([os.path.join(REPO, "scripts", "container.sh"), "build", IMAGE])
    if build.returncode != 0:
        print("image_test: FAIL: the image did not build")
        return 1
    build_s = time.monotonic() - started
    conf = subprocess.run([os.path.join(REPO, "scripts", "container.sh"), "env"], stdout=subprocess.PIPE, text=True)
    os.environ["CONTAINERS_CONF"] = conf.stdout.strip().split("=", 1)[1]
    size_mib = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout.strip()) / 2**20

    run_id = f"clickstream-test-{os.getpid()}"
    services = LocalServices(None, read_infra_env(state), os.path.join(state, "logs"), "image-test-",
                             {"CLICKSTREAM_CONSUMER_GROUP": f"image-test-{os.getpid()}-{time.time_ns()}"},
                             command=container_command(run_id))
    failures = []
    try:
        for service in SERVICES:
            services.start(service, timeout=120)
        failures += [f for f in (check_container(f"{run_id}-{s}") for s in SERVICES) if f]
        smoke = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "smoke.py"),
                                "--ingest-url", services.url("ingestion"), "--query-url", services.url("gateway"),
                                "--deadline-s", "20"])
        if smoke.returncode != 0:
            failures.append(f"scripts/smoke.py exited {smoke.returncode}")
        failures += check_dashboard(services.url("gateway"))
    finally:
        statuses = services.stop_all()
        for service in SERVICES:
            podman("rm", "--force", "--ignore", f"{run_id}-{service}", check=False)
    failures += [f"the {service} container did not exit cleanly on SIGTERM ({status}); see "
                 f"{services.log_path(service)}" for service, status in statuses.items() if status != 0]
    print(f"image_test: image {IMAGE}: {size_mib:.0f} MiB, built in {build_s:.0f} s (base images included when "
          f"they had to be made)")
    for failure in failures:
        print(f"image_test: FAIL: {failure}")
    if failures:
        return 1
    print("image_test: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
