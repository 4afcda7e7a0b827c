"""What the end-to-end and browser tests share: failing with a message, reading the raw rows with psql, waiting
for a value to settle, and small HTTP servers of their own (a web site, a proxy, a stand-in) on a free port.
Standard library only: the tests run under the system Python or the tools venv alike."""
import http.server
import subprocess
import threading
import time


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def psql_rows(database_url, sql, **values):
    """The rows of a query, each a list of its fields as text; `values` are bound by psql as :'name' (never pasted
    into the SQL), so any text stays one value."""
    args = ["psql", database_url, "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    for name, value in values.items():
        args += ["-v", f"{name}={value}"]
    done = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=60)
    check(done.returncode == 0, f"psql failed: {done.stderr}")
    return [line.split("\t") for line in done.stdout.splitlines()]


def raw(database_url, sql, **values):
    """The one row of a query on the raw tables (psql_rows)."""
    rows = psql_rows(database_url, sql, **values)
    check(len(rows) == 1, f"{len(rows)} rows, not one, from {sql.strip()}")
    return rows[0]


def pair_rows(database_url, users):
    """{(user, page): its rows in click_events} for the users."""
    rows = {}
    for user in users:
        for page, count in psql_rows(database_url, "SELECT page_url, count(*) FROM click_events WHERE user_id = :'u' "
                                     "GROUP BY 1;", u=user):
            rows[(user, page)] = int(count)
    return rows


def eventually(read, good, what, timeout=30, wait=None, describe=None):
    """Reads until `good(read())` and returns what it read; after `timeout` seconds fails with `what` and
    `describe(seen)` (by default its repr). `wait(seconds)` sleeps between reads: a Playwright page's
    wait_for_timeout, whose synchronous API runs the page's handlers only while it is called."""
    deadline = time.monotonic() + timeout
    while True:
        seen = read()
        if good(seen):
            return seen
        if time.monotonic() > deadline:
            shown = describe(seen) if describe else repr(seen)[:2000]
            raise Failed(f"{what}: not seen within {timeout} s; last seen {shown}")
        (wait or time.sleep)(0.2)


def settled(read, expected, what, timeout=120):
    """Reads until it equals `expected` (the raw rows once the processor has applied what ingestion acknowledged,
    a moment later); fails with the first entries that differ."""
    eventually(read, lambda seen: seen == expected, what, timeout,
               describe=lambda seen: repr(sorted(set(seen.items()) ^ set(expected.items()))[:4]))


def serve(handler_class):
    """Serves `handler_class` (quiet) on a free local port in a thread of its own: (server, its URL)."""
    class Quiet(handler_class):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def answer(handler, status, body, content_type="application/json", headers=()):
    """Writes a whole answer from a BaseHTTPRequestHandler: the status, the headers with the body's length, the body."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
