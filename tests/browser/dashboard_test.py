#!/usr/bin/env python3
"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against `clickstream all` on the test
infrastructure, with query keys required:

- Without a key the page says what is wrong and asks for one; with it, the numbers come.
- The time zone defaults to the browser's (New York here), and a custom range is read as New York wall time.
- Events posted while the page is open (long random ids, a page URL holding markup, every batch posted twice) show
  up without a reload: the totals, the chart and its table, the top pages and event types, each checked against
  the raw rows of click_events, not against what the test posted, so a lost and a double-counted event cannot cancel;
  the numbers say how fresh they are (the answers' freshness), with nothing waiting once all is applied.
- A user's drill-down lists exactly that user's pages and counts, the markup shown as text and never run; the exact
  count of one pair comes with its freshness; a later post updates the drill-down live.

Usage: dashboard_test.py CLICKSTREAM_BINARY [SCREENSHOT.png]   (CTest, `infra` fixture; CLICKSTREAM_TEST_STATE)
"""
import datetime
import json
import os
import secrets
import sys
import time
import urllib.parse
import urllib.request
import zoneinfo

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import chromium  # noqa: E402
from local_services import LocalServices, http, read_infra_env  # noqa: E402
from test_checks import Failed, check, eventually, raw  # noqa: E402

ZONE = "America/New_York"
TIMEOUT_S = 30
TIMEOUT_MS = TIMEOUT_S * 1000


def number(text):
    return int(text.replace(",", "").replace("+", "").replace("\u202f", "").strip())


class Stack:
    def __init__(self, services, key, database_url):
        self.services, self.key, self.database_url = services, key, database_url

    def post(self, events):
        """Posts the events twice, as a client that never saw the first answer would; returns the position."""
        body = "\n".join(json.dumps(event) for event in events)
        for _ in range(2):
            status, answer = http("POST", self.services.url("ingestion") + "/ingest/batch", body,
                                  content_type="application/x-ndjson", timeout=30)
            check(status == 200, f"batch post: {status} {answer[:300]}")
            answer = json.loads(answer)
            check(answer["accepted"] == len(events), f"batch post: {answer}")
        return answer["position"]

    def wait_counted(self, event, position):
        """Until the gateway's count of the event's pair includes the position (read-your-writes)."""
        query = urllib.parse.urlencode({"user_id": event["user_id"], "page_url": event["page_url"],
                                        "position": position})
        deadline = time.monotonic() + 120
        while True:
            request = urllib.request.Request(f"{self.services.url('gateway')}/analytics/events?{query}",
                                             headers={"X-API-Key": self.key})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            check(time.monotonic() < deadline, "the posted events were not counted within 120 s")
            time.sleep(0.5)

    def page_counts(self, page_url):
        clicks, users = raw(self.database_url, "SELECT count(*), count(DISTINCT user_id) FROM click_events "
                                               "WHERE page_url = :'page';", page=page_url)
        return int(clicks), int(users)


def events_of(user, page, count, event_type, at):
    return [{"event_id": f"dash-{secrets.token_hex(16)}", "user_id": user, "page_url": page, "event_type": event_type,
             "time_stamp": at} for _ in range(count)]


def table(page, selector):
    """The text of each cell of each row of a table body."""
    return page.eval_on_selector_all(f"{selector} tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def run(page, stack, screenshot):
    url = stack.services.url("gateway")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)

    # No key yet: the problem is shown and a key asked for.
    page.goto(url + "/dashboard/")
    page.wait_for_selector("#key-form:not([hidden])", timeout=TIMEOUT_MS)
    check("401" in page.text_content("#problem"), f"no-key problem: {page.text_content('#problem')!r}")
    page.fill("#api-key", stack.key)
    page.click("#key-form button")
    page.wait_for_selector("#problem[hidden]", state="attached", timeout=TIMEOUT_MS)
    check(page.input_value("#time-zone") == ZONE, f"time zone picked: {page.input_value('#time-zone')!r}")

    # A custom range in New York wall time, two hours around now; the raw rows in it are what it must show.
    zone = zoneinfo.ZoneInfo(ZONE)
    now = datetime.datetime.now(tz=zone).replace(second=0, microsecond=0)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(hours=1)
    page.select_option("#range", "custom")
    page.fill("#from", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#to", end.strftime("%Y-%m-%dT%H:%M"))
    page.dispatch_event("#to", "change")

    def raw_in_range():
        return int(raw(stack.database_url, "SELECT count(*) FROM click_events WHERE time_stamp >= :'a' AND "
                                           "time_stamp < :'b';", a=start.isoformat(), b=end.isoformat())[0])

    before_in_range, before_all = raw_in_range(), int(raw(stack.database_url, "SELECT count(*) FROM click_events;")[0])
    eventually(lambda: page.text_content("#range-total"), lambda t: number(t) == before_in_range,
               f"clicks in range before posting ({before_in_range} raw rows)")
    chart_before = page.locator("#chart").screenshot()

    # Two users, three pages (one URL holding markup), two event types; long random ids.
    users = [secrets.token_urlsafe(120) for _ in range(2)]
    pages = ["/p/" + secrets.token_urlsafe(300), "https://shop.example/" + secrets.token_urlsafe(200) + "?q=a&b=c",
             '/x"><img src=x onerror="window.__xss=1">' + secrets.token_urlsafe(40)]
    kind = "dash-" + secrets.token_hex(8)
    at = datetime.datetime.now(tz=datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    events = (events_of(users[0], pages[0], 5, "click", at) + events_of(users[1], pages[0], 3, kind, at) +
              events_of(users[0], pages[1], 4, "click", at) + events_of(users[0], pages[2], 2, kind, at))
    position = stack.post(events)
    stack.wait_counted(events[-1], position)

    # Without a reload, the totals move by exactly the distinct events: the raw rows agree.
    after_in_range, after_all = raw_in_range(), int(raw(stack.database_url, "SELECT count(*) FROM click_events;")[0])
    check(after_in_range == before_in_range + len(events), f"raw rows in range {before_in_range} -> {after_in_range}")
    eventually(lambda: page.text_content("#range-total"), lambda t: number(t) == after_in_range,
               f"clicks in range after posting ({after_in_range} raw rows)")
    eventually(lambda: page.text_content("#all-total"), lambda t: number(t) == after_all,
               f"all clicks after posting ({after_all} raw rows, {before_all} before)")
    # How fresh they are, from the answers' own freshness: once all posted is applied, nothing is waiting.
    eventually(lambda: page.text_content("#freshness"),
               lambda t: "newest event counted" in t and "last batch applied" in t and " 0 records not yet applied" in t,
               "the numbers' freshness once everything posted is applied")
    series = table(page, "#series-table")
    check(sum(number(row[1]) for row in series) == after_in_range, f"series table sums to {series}")
    page.wait_for_timeout(300)  # the bars' redraw
    check(page.locator("#chart").screenshot() != chart_before, "the chart did not change")

    # Every top page and event type shown is exact against the raw rows, in non-increasing order.
    shown = table(page, "#top-pages")
    check(len(shown) >= 1, "no top pages shown")
    for rank, page_url, clicks, users_shown in shown:
        check(stack.page_counts(page_url) == (number(clicks), number(users_shown)),
              f"top page {page_url[:60]!r}: shown {clicks}/{users_shown}, raw {stack.page_counts(page_url)}")
    check([number(r[2]) for r in shown] == sorted((number(r[2]) for r in shown), reverse=True), "top pages order")
    types = {name: number(clicks) for name, clicks in table(page, "#event-types")}
    raw_kind = int(raw(stack.database_url, "SELECT count(*) FROM click_events WHERE event_type = :'t';", t=kind)[0])
    check(raw_kind == 5 and types.get(kind) == raw_kind, f"event type {kind}: shown {types.get(kind)}, raw {raw_kind}")

    # Click through to a user: exactly that user's pages, the markup as text.
    page.fill("#user-id", users[0])
    page.click("#user-form button")
    page.wait_for_selector("#user-view:not([hidden])", timeout=TIMEOUT_MS)
    check(f"user={users[0]}" in page.url, f"the address does not name the user: {page.url}")
    expected = sorted(((pages[0], 5), (pages[1], 4), (pages[2], 2)), key=lambda p: -p[1])
    user_rows = lambda: [(r[1], number(r[2])) for r in table(page, "#user-pages") if len(r) >= 3]  # noqa: E731
    eventually(user_rows, lambda rows: rows == expected, f"the user's pages {expected}")
    check(page.evaluate("window.__xss") is None, "a page URL's markup ran")

    # One pair's exact count, with its freshness.
    page.locator("#user-pages tbody tr", has_text=pages[1]).get_by_role("button").click()
    eventually(lambda: page.text_content("#pair"), lambda t: " 4 times." in t and "Read from" in t,
               "the pair's exact count")

    # A later click arrives live in the drill-down.
    more = events_of(users[0], pages[2], 4, "click", at)
    stack.wait_counted(more[-1], stack.post(more))
    expected = [(pages[2], 6), (pages[0], 5), (pages[1], 4)]
    eventually(user_rows, lambda rows: rows == expected, "the drill-down after another post")

    if screenshot:
        page.fill("#user-id", "")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=screenshot, full_page=True)
    check(not errors, f"errors in the page: {errors}")


def main():
    if len(sys.argv) not in (2, 3) or not os.environ.get("CLICKSTREAM_TEST_STATE"):
        print("usage: CLICKSTREAM_TEST_STATE=<infra state dir> dashboard_test.py BINARY [SCREENSHOT]", file=sys.stderr)
        return 2
    binary, state = sys.argv[1], os.environ["CLICKSTREAM_TEST_STATE"]
    screenshot = sys.argv[2] if len(sys.argv) == 3 else None
    infra = read_infra_env(state)
    key = secrets.token_urlsafe(24)
    services = LocalServices(binary, infra, os.path.join(state, "logs"), "dashboard-test-", {
        "CLICKSTREAM_CONSUMER_GROUP": f"dashboard-test-{os.getpid()}-{time.time_ns()}",
        "CLICKSTREAM_QUERY_API_KEYS": key})
    try:
        services.start("all")
        with chromium(timezone_id=ZONE, viewport={"width": 1280, "height": 1000}, locale="en-US") as browser:
            run(browser.new_page(), Stack(services, key, infra["DATABASE_URL"]), screenshot)
    except Failed as failure:
        print(f"dashboard_test: FAIL: {failure}")
        return 1
    finally:
        services.stop_all()
    print("dashboard_test: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
