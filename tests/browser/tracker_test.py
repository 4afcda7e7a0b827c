#!/usr/bin/env python3
"""Browser collection, in a real browser (Debian's Chromium, driven by Playwright): web pages served from their own
origins load ingestion's tracker script from its renamed path, and their page views and clicks are counted exactly,
checked against the raw rows of click_events:

- a post whose answer is lost (delivered, then the connection dropped before the page saw the answer) is posted
  again with the same event_ids, and counts once;
- clicks made just before leaving the page still arrive, by navigator.sendBeacon's text/plain body, and the next
  page load posting them again counts nothing twice;
- a page from an origin ingestion does not allow gets nothing counted;
- the preflight and the tracker's own route answer as documented.

Usage: tracker_test.py CLICKSTREAM_BINARY   (run by CTest with the `infra` fixture; CLICKSTREAM_TEST_STATE names it)
"""
import html
import http.server
import os
import secrets
import sys
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import chromium, waiting_in  # noqa: E402
from local_services import LocalServices, read_infra_env  # noqa: E402
from test_checks import Failed, answer, check, eventually, raw, serve  # noqa: E402

TRACKER_PATH = "/t/cs.js"


def shop(tracker_url):
    """A web site of its own origin: every page loads the tracker for the user its address names."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            user = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("user", [""])[0]
            body = (f'<!doctype html><html><head><title>shop</title><script src="{html.escape(tracker_url)}" '
                    f'data-user-id="{html.escape(user)}" defer></script></head><body><h1>shop</h1>'
                    '<button id="buy">Buy</button></body></html>').encode()
            answer(self, 200, body, "text/html; charset=utf-8")

    return serve(Page)


def request(method, url, headers):
    """(status, headers, body) of one request, errors included."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers), timeout=10) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def run(context, services, database_url, allowed, refused):
    ingest = services.url("ingestion")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def rows(user):
        """The raw rows of a user: (event_type, count) sorted, and how many distinct event_ids they hold."""
        found = raw(database_url, "SELECT coalesce(string_agg(t || ':' || n, ',' ORDER BY t), ''), "
                                  "coalesce(sum(n), 0) FROM (SELECT event_type t, count(*) n FROM click_events "
                                  "WHERE user_id = :'u' GROUP BY event_type) c;", u=user)
        distinct = int(raw(database_url, "SELECT count(DISTINCT event_id) FROM click_events WHERE user_id = :'u';",
                           u=user)[0])
        return found[0], int(found[1]), distinct

    # The tracker's own route, renamed; the default name is then no route at all.
    status, headers, body = request("GET", ingest + TRACKER_PATH, {})
    with open(os.path.join(REPO, "web", "tracker", "tracker.js"), "rb") as f:
        check(status == 200 and body == f.read(), f"GET {TRACKER_PATH}: {status}, not the repository's tracker.js")
    check(headers.get("Content-Type", "").startswith("text/javascript"), f"tracker type {headers.get('Content-Type')}")
    check(request("GET", ingest + "/tracker.js", {})[0] == 404, "the default tracker path still answers")
    status, headers, _ = request("OPTIONS", ingest + "/ingest/batch",
                                 {"Origin": allowed, "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "content-type,x-api-key"})
    check(status == 204 and headers.get("Access-Control-Allow-Origin") == allowed and
          "X-API-Key" in headers.get("Access-Control-Allow-Headers", ""), f"preflight: {status} {dict(headers)}")
    check(request("OPTIONS", ingest + "/ingest/batch", {"Origin": refused})[0] == 403, "preflight of another origin")

    # 1. A lost answer: the first post reaches ingestion, its answer never reaches the page.
    user = "shopper-" + secrets.token_urlsafe(48)
    lost = []

    def lose_first_answer(route):
        if not lost and route.request.method == "POST":
            lost.append(route.fetch().status)  # delivered and answered...
            route.abort("connectionreset")  # ...but the page sees the connection drop
        else:
            route.continue_()

    page.route("**/ingest/batch", lose_first_answer)
    page.goto(f"{allowed}/products?user={user}")
    for _ in range(4):
        page.click("#buy")
    eventually(lambda: rows(user), lambda r: r[1] >= 5, "the first shopper's events", wait=waiting_in(page))
    page.wait_for_timeout(3000)  # a few more flushes: nothing may arrive twice
    check(lost == [200], f"the lost answer was {lost}: the retry was not exercised")
    check(rows(user) == ("click:4,page_view:1", 5, 5), f"first shopper's rows: {rows(user)}")
    page.unroute("**/ingest/batch")

    # 2. Leaving at once: the clicks go by beacon (counted by a wrapper the page gets before the tracker).
    user = "leaver-" + secrets.token_urlsafe(48)
    page.add_init_script("""{
      const send = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (url, body) => {
        const sent = send(url, body);
        if (sent) sessionStorage.setItem('beacons', String(Number(sessionStorage.getItem('beacons') || 0) + 1));
        return sent;
      };
    }""")
    page.goto(f"{allowed}/cart?user={user}")
    page.wait_for_function("() => window.clickstream !== undefined")
    for _ in range(3):
        page.click("#buy")
    page.goto("about:blank")  # before the tracker's next flush
    eventually(lambda: rows(user), lambda r: r[1] >= 4, "the leaver's clicks", wait=waiting_in(page))
    # Back on the site: its pending events (beaconed, never acknowledged) are posted again, and count once.
    page.goto(f"{allowed}/cart?user={user}")
    eventually(lambda: rows(user), lambda r: r[1] >= 5, "the leaver's second page view", wait=waiting_in(page))
    page.wait_for_timeout(3000)
    check(rows(user) == ("click:3,page_view:2", 5, 5), f"leaver's rows: {rows(user)}")
    beacons = page.evaluate("() => Number(sessionStorage.getItem('beacons') || 0)")
    check(beacons >= 1, "leaving the page sent no beacon")
    pending = page.evaluate("() => JSON.parse(localStorage.getItem('clickstream:pending') || '[]').length")
    check(pending == 0, f"{pending} events still pending after their acknowledgement")

    # 3. A site ingestion does not allow.
    user = "elsewhere-" + secrets.token_urlsafe(48)
    attempts = []

    def watch(route):
        attempts.append(route.request.url)
        route.continue_()

    page.route("**/ingest/batch", watch)
    page.goto(f"{refused}/?user={user}")
    for _ in range(2):
        page.click("#buy")
    eventually(lambda: len(attempts), lambda n: n >= 1, "a post from the refused origin", wait=waiting_in(page))
    page.wait_for_timeout(3000)
    check(rows(user)[1] == 0, f"events from an origin not allowed were counted: {rows(user)}")
    check(not errors, f"errors in the pages: {errors}")


def main():
    if len(sys.argv) != 2 or not os.environ.get("CLICKSTREAM_TEST_STATE"):
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> tracker_test.py CLICKSTREAM_BINARY", file=sys.stderr)
        return 2
    binary, state = sys.argv[1], os.environ["CLICKSTREAM_TEST_STATE"]
    infra = read_infra_env(state)
    services = None
    sites = []
    try:
        services = LocalServices(binary, infra, os.path.join(state, "logs"), "tracker-test-", {
            "CLICKSTREAM_CONSUMER_GROUP": f"tracker-test-{os.getpid()}-{time.time_ns()}",
            "CLICKSTREAM_TRACKER_PATH": TRACKER_PATH})
        sites = [shop(services.url("ingestion") + TRACKER_PATH) for _ in range(2)]
        (_, allowed), (_, refused) = sites
        services.env["CLICKSTREAM_INGEST_CORS_ORIGINS"] = f"https://shop.example, {allowed}"
        services.start("all")
        with chromium() as context:
            run(context, services, infra["DATABASE_URL"], allowed, refused)
    except Failed as failure:
        print(f"tracker_test: FAIL: {failure}")
        return 1
    finally:
        if services:
            services.stop_all()
        for server, _ in sites:
            server.shutdown()
    print("tracker_test: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
