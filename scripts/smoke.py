#!/usr/bin/env python3
"""End-to-end smoke test against a running clickstream stack (scripts/up.sh).

Posts click events for a set of (user_id, page_url) pairs to ingestion, where a fraction of the posts
re-send an event_id that was already acknowledged (duplicates must not be counted), then polls the
gateway until every pair's count equals the number of distinct acknowledged event_ids, or the deadline
(counted from the last acknowledgement) passes.

Some ids are chosen to catch encoding mistakes: 'a__+__b' + 'c' vs 'a' + 'b__+__c' (a naive joined
key collides), and page_urls with '/', '?', '&', '=', '+', '%', '#', spaces and non-ASCII characters.

Python 3 standard library only. Exit status 0 when all counts are exact within the deadline, else 1.
"""

import argparse
import collections
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
import uuid


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ingest-url", default="http://127.0.0.1:8080", help="ingestion base URL")
    p.add_argument("--query-url", default="http://127.0.0.1:8081", help="gateway base URL")
    p.add_argument("--events", type=int, default=2000, help="number of POST /ingest requests")
    p.add_argument("--pairs", type=int, default=100, help="distinct (user_id, page_url) pairs")
    p.add_argument("--repeat-fraction", type=float, default=0.2,
                   help="fraction of posts that re-send an already acknowledged event_id")
    p.add_argument("--concurrency", type=int, default=16, help="worker threads (one keep-alive connection each)")
    p.add_argument("--deadline-s", type=float, default=2.0,
                   help="time after the last acknowledgement within which all counts must be exact")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    a = p.parse_args()
    if a.events < 1 or a.pairs < 1 or a.concurrency < 1:
        p.error("--events, --pairs and --concurrency must be at least 1")
    if not 0.0 <= a.repeat_fraction < 1.0:
        p.error("--repeat-fraction must be in [0, 1)")
    return a


class Endpoint:
    """host/port/path prefix of a base URL; makes one keep-alive connection per caller."""

    def __init__(self, base_url):
        u = urllib.parse.urlsplit(base_url)
        if u.scheme != "http" or not u.hostname:
            sys.exit(f"smoke: unsupported URL {base_url!r} (expected http://host:port)")
        self.base_url = base_url
        self.host, self.port = u.hostname, u.port or 80
        self.prefix = u.path.rstrip("/")

    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=10)


class Client:
    """One persistent connection, reopened after an error."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """Returns (status, body bytes); status is 'error:<Type>' when no response arrived."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = self.endpoint.connect()
            try:
                self.conn.request(method, self.endpoint.prefix + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                return resp.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                # A keep-alive connection the server closed between requests: retry once on a new one.
                # (For POSTs this re-sends the same event_id, which ingestion must tolerate anyway.)
                self.close()
                if attempt == 1:
                    return f"error:{type(e).__name__}", b""
            except (OSError, http.client.HTTPException) as e:
                self.close()
                return f"error:{type(e).__name__}", b""
        return "error:unreachable", b""

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def make_pairs(run, n):
    """n distinct (user_id, page_url) pairs, the first few chosen to exercise encoding."""
    special = [
        (f"{run}-a__+__b", "c"),  # naive "user__+__page" key: {run}-a__+__b__+__c
        (f"{run}-a", "b__+__c"),  # ... the very same string
        (f"{run}-user with spaces", "/search?q=a b&lang=en#top"),
        (f"{run}-ünïcødé-用户", "/produits/été?x=1&y=2"),
        (f"{run}-plus+sign", "/a+b=c&d=%20e%2F"),
        (f"{run}-emoji-\U0001F600", "https://example.com/path/to/page?utm_source=x&utm_medium=y"),
        (f"{run}-semi;colon", "/p;q=1/r?s=t&u=v w"),
        (f"{run}-quote\"'", "/it's \"quoted\"\\back"),
    ]
    pages = ["/", "/home", "/products/42?ref=a&b=c", "/search?q=x y", "/naïve/café", "/a/b/c/",
             "https://shop.example/cart?items=1,2,3", "/über uns"]
    pairs = special[:n]
    i = 0
    while len(pairs) < n:
        pairs.append((f"{run}-u{i}", f"{pages[i % len(pages)]}#{i}" if i % 3 else pages[i % len(pages)] + f"?n={i}"))
        i += 1
    assert len(set(pairs)) == len(pairs)
    return pairs


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    run = "smoke-" + uuid.uuid4().hex[:12]
    ingest, query = Endpoint(args.ingest_url), Endpoint(args.query_url)
    pairs = make_pairs(run, args.pairs)

    n_repeats = int(round(args.events * args.repeat_fraction))
    n_new = args.events - n_repeats
    # New events spread over the pairs (every pair gets at least one when n_new >= pairs).
    new_events = [(f"{run}-e{i}", i % len(pairs)) for i in range(n_new)]
    rng.shuffle(new_events)
    # The order of posts: the first ones are all new so that repeats have acknowledged ids to pick from.
    kinds = ["new"] * n_new + ["repeat"] * n_repeats
    head = min(n_new, max(2 * args.concurrency, 1))
    tail = kinds[head:]
    rng.shuffle(tail)
    kinds = kinds[:head] + tail

    lock = threading.Lock()
    acked_cond = threading.Condition(lock)
    next_post = [0]
    new_iter = iter(new_events)
    acked_ids = []  # (event_id, pair index), in acknowledgement order
    acked_set = set()
    statuses = collections.Counter()  # status -> posts
    non200_examples = {}
    unacked_pairs = collections.Counter()  # pair index -> new posts without a 200 (count may be ambiguous)
    repeats_sent = [0]
    repeats_skipped = [0]
    last_ack = [None]
    new_done = [0]

    def payload(event_id, pair_index):
        user_id, page_url = pairs[pair_index]
        return json.dumps({"event_id": event_id, "user_id": user_id, "event_type": "click",
                           "page_url": page_url}, ensure_ascii=False).encode()

    def post_worker():
        client = Client(ingest)
        headers = {"Content-Type": "application/json"}
        try:
            while True:
                with lock:
                    if next_post[0] >= len(kinds):
                        return
                    kind = kinds[next_post[0]]
                    next_post[0] += 1
                    if kind == "new":
                        event_id, pair_index = next(new_iter)
                if kind == "repeat":
                    with acked_cond:
                        # Wait for an acknowledged id (only while new posts are still outstanding).
                        while not acked_ids and new_done[0] < n_new:
                            acked_cond.wait(0.1)
                        if not acked_ids:
                            repeats_skipped[0] += 1
                            continue
                        event_id, pair_index = acked_ids[rng.randrange(len(acked_ids))]
                        repeats_sent[0] += 1
                status, body = client.request("POST", "/ingest", payload(event_id, pair_index), headers)
                now = time.monotonic()
                with acked_cond:
                    statuses[status] += 1
                    if status == 200:
                        last_ack[0] = now
                        if kind == "new" and event_id not in acked_set:
                            acked_set.add(event_id)
                            acked_ids.append((event_id, pair_index))
                    else:
                        non200_examples.setdefault(status, body[:200].decode("utf-8", "replace"))
                        if kind == "new":
                            unacked_pairs[pair_index] += 1
                    if kind == "new":
                        new_done[0] += 1
                    acked_cond.notify_all()
        finally:
            client.close()

    # Fail early and clearly when the stack is not there.
    for ep in (ingest, query):
        status, _ = Client(ep).request("GET", "/readyz")
        if status != 200:
            print(f"smoke: {ep.base_url}/readyz answered {status}; is the stack up? (scripts/up.sh)",
                  file=sys.stderr)
            return 1

    print(f"smoke: run {run}: {args.events} posts ({n_new} new, {n_repeats} repeats) over {len(pairs)} pairs, "
          f"concurrency {args.concurrency}")
    t_start = time.monotonic()
    threads = [threading.Thread(target=post_worker, daemon=True) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_posted = time.monotonic()

    expected = [0] * len(pairs)
    for _, pair_index in acked_ids:
        expected[pair_index] += 1
    posts = sum(statuses.values())
    acked = statuses.get(200, 0)
    post_s = t_posted - t_start
    print(f"  posts: {posts} in {post_s * 1000:.0f} ms ({posts / post_s:.0f}/s); acknowledged (200): {acked}; "
          f"repeats sent: {repeats_sent[0]}" + (f", skipped: {repeats_skipped[0]}" if repeats_skipped[0] else ""))
    non200 = {s: c for s, c in statuses.items() if s != 200}
    if non200:
        print("  non-200: " + ", ".join(f"{s}: {c}" for s, c in sorted(non200.items(), key=str)))
        for s, body in sorted(non200_examples.items(), key=lambda kv: str(kv[0])):
            print(f"    e.g. {s}: {body}")
    else:
        print("  non-200: none")
    print(f"  distinct acknowledged events: {len(acked_ids)}")
    if last_ack[0] is None:
        print("FAIL: no post was acknowledged")
        return 1

    # --- Poll the gateway until every count is exact --------------------------------------------------

    deadline = last_ack[0] + args.deadline_s
    observed = [None] * len(pairs)  # last (status, count or body) per pair
    exact_at = [None] * len(pairs)
    echo_errors = {}

    def query_path(i):
        user_id, page_url = pairs[i]
        return "/analytics/events?" + urllib.parse.urlencode({"user_id": user_id, "page_url": page_url})

    def check(i, status, body):
        """Records the answer for pair i; True when the count is exact."""
        if status != 200:
            observed[i] = (status, body[:200].decode("utf-8", "replace"))
            return False
        try:
            doc = json.loads(body)
            count = doc["count"]
        except (ValueError, KeyError, TypeError):
            observed[i] = (status, body[:200].decode("utf-8", "replace"))
            return False
        user_id, page_url = pairs[i]
        if doc.get("user_id") != user_id or doc.get("page_url") != page_url:
            echo_errors[i] = (doc.get("user_id"), doc.get("page_url"))
        observed[i] = (status, count)
        return count == expected[i]

    def poll(indices, path_and_body):
        """Queries the given pairs with `concurrency` threads; returns those not exact."""
        work = list(indices)
        pending = []
        wlock = threading.Lock()

        def worker():
            client = Client(query)
            try:
                while True:
                    with wlock:
                        if not work:
                            return
                        i = work.pop()
                    path, body, headers = path_and_body(i)
                    status, data = client.request("GET", path, body, headers)
                    ok = check(i, status, data)
                    with wlock:
                        if ok:
                            if exact_at[i] is None:
                                exact_at[i] = time.monotonic()
                        else:
                            pending.append(i)
            finally:
                client.close()

        ts = [threading.Thread(target=worker, daemon=True) for _ in range(min(args.concurrency, len(work)) or 1)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sorted(pending)

    by_query_string = lambda i: (query_path(i), None, {})  # noqa: E731
    pending = list(range(len(pairs)))
    rounds = 0
    while pending:
        rounds += 1
        pending = poll(pending, by_query_string)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.02)

    ok = not pending
    if ok:
        all_exact_ms = (max(exact_at) - last_ack[0]) * 1000
        print(f"  all {len(pairs)} counts exact {max(all_exact_ms, 0):.0f} ms after the last acknowledgement "
              f"({rounds} polling round(s), deadline {args.deadline_s * 1000:.0f} ms)")
        # Counts must stay exact (a late duplicate would push one over), and the JSON-body form of the
        # query must agree: check the pairs built to catch encoding mistakes that way.
        recheck = poll(range(len(pairs)), by_query_string)
        body_pairs = list(range(min(len(pairs), 8)))
        by_json_body = lambda i: ("/analytics/events", json.dumps(  # noqa: E731
            {"user_id": pairs[i][0], "page_url": pairs[i][1]}, ensure_ascii=False).encode(),
            {"Content-Type": "application/json"})
        body_bad = poll(body_pairs, by_json_body)
        if recheck:
            print(f"  re-check: {len(recheck)} count(s) changed after being exact")
        else:
            print(f"  re-check: all {len(pairs)} counts still exact")
        if body_bad:
            print(f"  JSON-body GET: {len(body_bad)} of {len(body_pairs)} pair(s) wrong")
        else:
            print(f"  JSON-body GET: {len(body_pairs)} pair(s) exact")
        pending = sorted(set(recheck) | set(body_bad))
        ok = not pending
    else:
        print(f"  not exact {args.deadline_s * 1000:.0f} ms after the last acknowledgement "
              f"({len(pending)} of {len(pairs)} pairs, {rounds} polling rounds)")
    if echo_errors:
        ok = False
        print(f"  {len(echo_errors)} answer(s) echoed a different user_id/page_url than asked for:")
        for i, (u, p) in list(echo_errors.items())[:10]:
            print(f"    asked {pairs[i]!r}, got {(u, p)!r}")

    if not ok:
        if pending:
            print(f"  mismatches ({min(len(pending), 10)} of {len(pending)} shown):")
            for i in pending[:10]:
                user_id, page_url = pairs[i]
                note = f" ({unacked_pairs[i]} unacknowledged post(s) for this pair)" if unacked_pairs[i] else ""
                print(f"    user_id={user_id!r} page_url={page_url!r}: expected {expected[i]}, "
                      f"got {observed[i][1]!r} (HTTP {observed[i][0]}){note}")
        print("FAIL")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
