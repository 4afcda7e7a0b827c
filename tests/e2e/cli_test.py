#!/usr/bin/env python3
"""`clickstream post` and `clickstream tail` against `clickstream all` on the test infrastructure, checked against the
raw rows of click_events:

- post: 1,600 NDJSON events (long random ids; some without an event_id; some posted twice in the file; some
  invalid; a line that is no JSON) through a proxy that loses the first answer after ingestion counted the batch and
  answers the second request 503. Every valid event must be counted exactly once per pair, the summary must give the
  refusals by reason with the first event of each, and the exit code 1. Posted again, only the events that had no
  event_id are new (their ids are made as the file is read), as the README says.
- post on a terminal (a pty): a JSON array from standard input, a progress bar drawn in place, exit 0.
- tail: a user's pages, then one pair, printing the counts as they change while events arrive, until SIGINT stops
  it with exit 0. Bad usage exits 2 naming the option.

Usage: cli_test.py CLICKSTREAM_BINARY   (CTest, `infra` fixture; CLICKSTREAM_TEST_STATE names it)
"""
import http.server
import json
import os
import pty
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from local_services import LocalServices, read_infra_env  # noqa: E402
from local_services import http as http_call  # noqa: E402
from test_checks import Failed, answer, check, pair_rows, serve, settled  # noqa: E402


def flaky_proxy(target):
    """In front of ingestion: the first request is forwarded and its answer dropped (the connection closes without
    one), the second answered 503 without forwarding, the rest forwarded."""
    seen = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(len(body))
            if len(seen) == 2:
                answer(self, 503, b'{"error":"unavailable","message":"proxy says try later"}',
                       headers=[("Retry-After", "1")])
                return
            request = urllib.request.Request(target + self.path, data=body, method="POST",
                                             headers={"Content-Type": self.headers["Content-Type"]})
            with urllib.request.urlopen(request, timeout=30) as forwarded:
                status, data = forwarded.status, forwarded.read()
            if len(seen) == 1:
                self.close_connection = True  # counted, but the client never hears so
                return
            answer(self, status, data)

    server, url = serve(Proxy)
    return server, url, seen


def make_file(path, users, pages):
    """Writes the events; returns (expected counts per pair, the number of id-less events per pair, lines)."""
    expected, idless, lines, posted = {}, {}, [], []
    for i in range(1450):
        user, page = users[i % len(users)], pages[(i * 7) % len(pages)]
        event = {"user_id": user, "page_url": page, "event_type": "click"}
        if i % 29 != 0:
            event["event_id"] = f"post-{secrets.token_hex(12)}-{i}"
        if i % 61 == 0:
            event["page_url"] = ""  # invalid: refused, never counted
        else:
            expected[(user, page)] = expected.get((user, page), 0) + 1
            if "event_id" not in event:
                idless[(user, page)] = idless.get((user, page), 0) + 1
        lines.append(json.dumps(event))
        if "event_id" in event and event["page_url"]:
            posted.append(lines[-1])
    lines[700:700] = posted[:149]  # the same events again, later in the file: counted once
    lines.append("{this is not json")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n\n")
    return expected, idless, lines


def test_post(binary, services, database_url, workdir):
    users = ["poster-" + secrets.token_urlsafe(90) for _ in range(5)]
    pages = ["/p/" + secrets.token_urlsafe(250) for _ in range(11)]
    path = os.path.join(workdir, "events.ndjson")
    expected, idless, lines = make_file(path, users, pages)
    invalid = sum(1 for line in lines if '"page_url": ""' in line)
    proxy, proxy_url, seen = flaky_proxy(services.url("ingestion"))
    try:
        run = subprocess.run([binary, "post", path, "--ingest", proxy_url, "--batch-size", "400"],
                             capture_output=True, text=True, timeout=300)
    finally:
        proxy.shutdown()
    print(run.stdout, run.stderr, sep="\n")
    check(run.returncode == 1, f"post exit {run.returncode}")
    check(len(seen) >= 6, f"the proxy saw {len(seen)} requests: the lost answer and the 503 were not retried")
    check(f"{len(lines)} events: {len(lines) - invalid - 1} accepted, {invalid + 1} refused" in run.stdout,
          "post's summary")
    first_invalid = next(i for i, line in enumerate(lines, 1) if '"page_url": ""' in line)
    check(f"  {invalid}\t{first_invalid}\tinvalid_argument page_url: page_url must not be empty" in run.stdout,
          "the refusals by reason")
    check(f"  1\t{len(lines)}\tinvalid_argument: body is not valid JSON" in run.stdout, "the line that is no JSON")
    check("posted " in run.stderr and "\r" not in run.stderr, "plain progress lines off a terminal")
    settled(lambda: pair_rows(database_url, users), expected, "raw rows per pair differ from the file's valid events")

    again = subprocess.run([binary, "post", path, "--ingest", services.url("ingestion")],
                           capture_output=True, text=True, timeout=300)
    check(again.returncode == 1, f"second post exit {again.returncode}")
    expected_again = {pair: count + idless.get(pair, 0) for pair, count in expected.items()}
    check(sum(idless.values()) > 0, "the file has no event without an event_id")
    settled(lambda: pair_rows(database_url, users), expected_again,
            "posted again, only the events without an event_id may count again")


def test_post_on_a_terminal(binary, services, database_url):
    user = "terminal-" + secrets.token_urlsafe(40)
    events = [{"event_id": f"tty-{secrets.token_hex(10)}", "user_id": user, "page_url": "/tty", "event_type": "view"}
              for _ in range(300)]
    master, slave = pty.openpty()
    process = subprocess.Popen([binary, "post", "--ingest", services.url("ingestion"), "--batch-size", "20"],
                               stdin=subprocess.PIPE, stdout=slave, stderr=slave)
    os.close(slave)
    process.stdin.write(json.dumps(events).encode())
    process.stdin.close()
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=120)
    os.close(master)
    text = output.decode(errors="replace")
    check(process.returncode == 0, f"terminal post exit {process.returncode}: {text[-500:]!r}")
    check(re.search(r"\r\[#+\] 100% 300 events \(300 accepted, 0 refused\)", text) is not None,
          f"no progress bar on the terminal: {text[:500]!r}")
    check("300 events: 300 accepted, 0 refused" in text, "terminal summary")
    settled(lambda: pair_rows(database_url, [user]), {(user, "/tty"): 300}, "the terminal's events")


def test_tail(binary, services, database_url):
    user = "tailed-" + secrets.token_urlsafe(60)
    pages = ["/t/" + secrets.token_urlsafe(30) for _ in range(2)]

    def post(page, n):
        body = "\n".join(json.dumps({"event_id": secrets.token_hex(16), "user_id": user, "page_url": page,
                                     "event_type": "click"}) for _ in range(n))
        status, answer = http_call("POST", services.url("ingestion") + "/ingest/batch", body, "application/x-ndjson")
        check(status == 200, f"tail's posts: {status} {answer}")

    post(pages[0], 1)
    settled(lambda: pair_rows(services.database_url, [user]), {(user, pages[0]): 1}, "tail's first event")
    gateway = services.url("gateway")
    watch = subprocess.Popen([binary, "tail", "--gateway", gateway, "--user-id", user, "--interval-ms", "200"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pair = subprocess.Popen([binary, "tail", "--gateway", gateway, "--user-id", user, "--page-url", pages[1],
                             "--interval-ms", "200"], stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    post(pages[0], 2)
    time.sleep(2)
    post(pages[1], 3)
    settled(lambda: pair_rows(services.database_url, [user]), {(user, pages[0]): 3, (user, pages[1]): 3},
            "tail's events")
    time.sleep(1.5)  # a few more asks
    for process in (watch, pair):
        process.send_signal(signal.SIGINT)
    out, err = watch.communicate(timeout=30)
    pair_out, _ = pair.communicate(timeout=30)
    print(out, err, pair_out, sep="\n")
    check(watch.returncode == 0 and pair.returncode == 0, f"tail exit {watch.returncode}, {pair.returncode}: {err}")
    lines = [line.split("\t") for line in out.splitlines()]
    check(all(len(line) == 4 and re.fullmatch(r"\d\d:\d\d:\d\d", line[0]) for line in lines), f"tail lines: {lines}")
    raw_counts = pair_rows(services.database_url, [user])
    for page in pages:
        mine = [line for line in lines if line[3] == page]
        check(mine and int(mine[-1][1]) == raw_counts[(user, page)], f"tail's last count of a page: {mine}")
        check(sum(int(line[2]) for line in mine) == raw_counts[(user, page)], f"tail's changes of a page: {mine}")
    first = [int(line[1]) for line in lines if line[3] == pages[0]]
    check(first[0] == 1 and first == sorted(first) and len(first) >= 2, f"the first page: 1, then its changes: {first}")
    pair_counts = [int(line.split("\t")[1]) for line in pair_out.splitlines()]
    check(pair_counts[0] == 0 and pair_counts[-1] == 3 and pair_counts == sorted(pair_counts),
          f"tail of one pair: {pair_counts}")

    stopped = subprocess.Popen([binary, "tail", "--gateway", gateway], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    stopped.send_signal(signal.SIGINT)
    check(stopped.wait(timeout=5) == 0, "tail did not stop cleanly on SIGINT")


def test_usage(binary):
    for args, named in ((["post", "--batch-size", "0"], "--batch-size"), (["post", "--ingest", "localhost"], "--ingest"),
                        (["tail", "--page-url", "/x"], "--user-id"), (["tail", "--interval-ms", "5"], "--interval-ms")):
        run = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
        check(run.returncode == 2 and named in run.stderr, f"{args}: exit {run.returncode}, {run.stderr!r}")
    for command in ("post", "tail"):
        run = subprocess.run([binary, command, "--help"], capture_output=True, text=True, timeout=30)
        check(run.returncode == 0 and "exit codes" in run.stdout, f"{command} --help")


def main():
    if len(sys.argv) != 2 or not os.environ.get("CLICKSTREAM_TEST_STATE"):
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> cli_test.py CLICKSTREAM_BINARY", file=sys.stderr)
        return 2
    binary, state = sys.argv[1], os.environ["CLICKSTREAM_TEST_STATE"]
    infra = read_infra_env(state)
    services = LocalServices(binary, infra, os.path.join(state, "logs"), "cli-test-",
                             {"CLICKSTREAM_CONSUMER_GROUP": f"cli-test-{os.getpid()}-{time.time_ns()}"})
    services.database_url = infra["DATABASE_URL"]
    workdir = os.path.join(state, f"cli-test-{os.getpid()}")
    os.makedirs(workdir, exist_ok=True)
    try:
        services.start("all")
        test_usage(binary)
        test_post(binary, services, infra["DATABASE_URL"], workdir)
        test_post_on_a_terminal(binary, services, infra["DATABASE_URL"])
        test_tail(binary, services, infra["DATABASE_URL"])
    except Failed as failure:
        print(f"cli_test: FAIL: {failure}")
        return 1
    finally:
        services.stop_all()
    print("cli_test: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
