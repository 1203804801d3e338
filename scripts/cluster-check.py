#!/usr/bin/env python3
"""The checks of `scripts/cluster test` against a running cluster (standard library only).

1. Staleness: an article is edited through instance A while it is read through instance B
   (whose response cache holds the old version) and through nginx. For each edit, the time from
   A's 2xx to B first serving the new version is measured (p50/p99/max printed). Every read is
   checked: none may show a version older than the newest one acknowledged more than BOUND
   seconds before the read began (the documented bound, docs/deployment.md).
2. Webhook once: a receiver on loopback, registered through the API for every event, gets each
   event of phase 1 exactly once (both instances run delivery workers), with a valid Standard
   Webhooks signature, and the deliveries list says one attempt each.
3. Failover: writers create articles through nginx while instance A is killed with SIGKILL.
   - Acknowledged (2xx) writes are never lost: each is read back afterwards.
   - A request that began after A was gone must succeed (nginx passes it to B).
   - A request in flight when A died may fail, with a 502 only. Such a write is "unknown", not
     "lost": it may or may not have committed (A can die between its commit and its answer), as
     with any HTTP API; the client must look before it retries. The check reports how many
     were in flight and how many of those committed, and that each committed one is whole.
   - Reads through nginx never fail, before, during or after.
Exits non-zero on the first failed check.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOUND = 1.0  # seconds: the documented staleness bound across instances (target of PRODUCT.md §9)


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def say(message):
    print(message, flush=True)


class Client:
    """One kept-alive HTTP connection (one per thread); a broken connection is reopened."""

    def __init__(self, base, token=None):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.token = token
        self.conn = None

    def request(self, method, path, body=None):
        """(status, json-or-None); status 0 when no HTTP answer came (the error is printed)."""
        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            self.conn.request(method, path, body=data, headers=headers)
            res = self.conn.getresponse()
            raw = res.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            self.conn = None
            return 0, {"error": repr(e)}
        if res.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            return res.status, json.loads(raw) if raw else None
        except ValueError:
            return res.status, {"raw": raw[:200].decode(errors="replace")}


def expect(status, body, want, what):
    if status != want:
        fail(f"{what}: expected {want}, got {status}: {body}")
    return body


def story(headline):
    return {
        "headline": headline,
        "standfirst": "Written by the cluster check.",
        "body": [{"type": "paragraph", "text": "The cluster check wrote this."}],
    }


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- webhook receiver -------------------------------------------------------------------------

class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = []  # (webhook-id, timestamp, signature, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.deliveries.append((
                        self.headers.get("webhook-id"),
                        self.headers.get("webhook-timestamp"),
                        self.headers.get("webhook-signature"),
                        body,
                    ))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return list(self.deliveries)


def verify_signature(secret, wid, ts, sig, body):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    return any(part.split(",", 1)[-1] == expected for part in (sig or "").split())


# --- phases -----------------------------------------------------------------------------------

def staleness(args, token, rounds):
    a, b, lb = Client(args.a, token), Client(args.b), Client(args.lb)
    created = expect(*a.request("POST", "/api/v1/admin/articles", story("Cluster staleness v0")), 201, "create on A")
    article_id, slug = created["id"], created["slug"]
    expect(*a.request("POST", f"/api/v1/admin/articles/{article_id}/publish", {}), 200, "publish on A")
    path = f"/api/v1/articles/{slug}"

    def version(status, body, who):
        if status != 200:
            fail(f"read through {who}: {status} {body}")
        return int(body["headline"].rsplit("v", 1)[1])

    acked = [(0.0, 0)]  # (time of A's 2xx, version), in order
    reads = []  # (began, version, who)
    reads_lock = threading.Lock()
    stop = threading.Event()

    def lb_reader():
        client = Client(args.lb)
        while not stop.is_set():
            began = time.monotonic()
            v = version(*client.request("GET", path), "nginx")
            with reads_lock:
                reads.append((began, v, "nginx"))
            time.sleep(0.005)

    reader = threading.Thread(target=lb_reader, daemon=True)
    reader.start()
    lags = []
    for n in range(1, rounds + 1):
        # B has the current version cached (read twice: the second is a cache hit).
        for _ in range(2):
            began = time.monotonic()
            v = version(*b.request("GET", path), "B")
            with reads_lock:
                reads.append((began, v, "B"))
        status, body = a.request("PATCH", f"/api/v1/admin/articles/{article_id}", {"headline": f"Cluster staleness v{n}"})
        expect(status, body, 200, f"edit {n} on A")
        at = time.monotonic()
        acked.append((at, n))
        while True:
            began = time.monotonic()
            v = version(*b.request("GET", path), "B")
            with reads_lock:
                reads.append((began, v, "B"))
            if v >= n:
                lags.append(max(0.0, time.monotonic() - at))
                break
            if time.monotonic() - at > 5:
                fail(f"B still serves version {v} 5 s after edit {n} was acknowledged by A")
            time.sleep(0.001)
        # A random pause, so the edits do not fall into step with the listener's 50 ms polls
        # (in step, every edit would land at the same point of the cycle).
        time.sleep(random.uniform(0.02, 0.12))
    stop.set()
    reader.join()

    # Every read: not older than the newest version acknowledged BOUND before it began.
    late = []
    for began, v, who in reads:
        due = max((ver for at, ver in acked if at + BOUND < began), default=0)
        if v < due:
            late.append((who, v, due))
    by_who = {w: sum(1 for r in reads if r[2] == w) for w in ("B", "nginx")}
    p50, p99, worst = (percentile(lags, 50), percentile(lags, 99), max(lags))
    say(f"staleness: {len(lags)} edits through A; B served each new version after "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms "
        f"(bound {BOUND * 1000:.0f} ms)")
    say(f"staleness: {by_who['B']} reads through B and {by_who['nginx']} through nginx checked; "
        f"{len(late)} older than the bound allows")
    if late:
        fail(f"reads older than the bound: {late[:5]}")
    if worst >= BOUND:
        fail(f"the staleness bound was exceeded: {worst:.3f} s")
    # Events phase 1 caused: one article.published and one article.updated per edit.
    return article_id, rounds + 1


def webhook_once(args, token, receiver, secret, webhook_id, expected):
    deadline = time.monotonic() + 30
    while len(receiver.snapshot()) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # room for a duplicate to show up
    got = receiver.snapshot()
    ids = [d[0] for d in got]
    dupes = {i for i in ids if ids.count(i) > 1}
    bad = [d[0] for d in got if not verify_signature(secret, *d)]
    types = {}
    for d in got:
        kind = json.loads(d[3])["type"]
        types[kind] = types.get(kind, 0) + 1
    say(f"webhook: {len(got)} deliveries of {len(set(ids))} events, expected {expected}; "
        f"by type {types}; {len(dupes)} delivered twice; {len(bad)} bad signatures")
    if len(set(ids)) != expected or dupes or bad or len(got) != expected:
        fail("a webhook event was not delivered exactly once with a valid signature")
    lb = Client(args.lb, token)
    status, page = lb.request("GET", f"/api/v1/admin/webhooks/{webhook_id}/deliveries?limit=100")
    expect(status, page, 200, "deliveries list")
    items = page["data"]
    while page.get("next_cursor"):
        status, page = lb.request("GET", f"/api/v1/admin/webhooks/{webhook_id}/deliveries?limit=100&cursor={page['next_cursor']}")
        expect(status, page, 200, "deliveries list")
        items += page["data"]
    odd = [d for d in items if d["status"] != "succeeded" or d["attempts"] != 1]
    say(f"webhook: the deliveries list has {len(items)} entries, {len(odd)} not 'succeeded after one attempt'")
    if len(items) != expected or odd:
        fail(f"deliveries list: {odd[:3]}")


def failover(args, token, article_slug, headline):
    writers, duration, kill_after = 4, 5.0, 1.5
    results = []  # (began, ended, status, headline, id)
    reads = []  # (began, status)
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w):
        client = Client(args.lb, token)
        i = 0
        while not stop.is_set():
            headline = f"Failover w{w} n{i}"
            began = time.monotonic()
            status, body = client.request("POST", "/api/v1/admin/articles", story(headline))
            ended = time.monotonic()
            with lock:
                results.append((began, ended, status, headline, (body or {}).get("id"), body))
            i += 1

    def reader():
        client = Client(args.lb)
        while not stop.is_set():
            began = time.monotonic()
            status, body = client.request("GET", f"/api/v1/articles/{article_slug}")
            right = status == 200 and body.get("headline") == headline
            with lock:
                reads.append((began, status if right else f"{status} {body}"[:200]))
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(writers)]
    threads += [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(kill_after)
    with open(args.a_pidfile) as f:
        pid = int(f.read().strip())
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    # Gone once its port refuses connections. (Not when /proc shows the process a zombie: the
    # main thread is one while the others still close its sockets, and nginx can still connect
    # in those milliseconds; such a request is in flight, not after.)
    a_addr = urllib.parse.urlsplit(args.a)
    while True:
        try:
            socket.create_connection((a_addr.hostname, a_addr.port), timeout=1).close()
        except ConnectionRefusedError:
            break
        except OSError:
            pass
        if time.monotonic() - killed > 5:
            fail("instance A still accepts connections 5 s after SIGKILL")
        time.sleep(0.001)
    gone = time.monotonic()
    time.sleep(duration - kill_after)
    stop.set()
    for t in threads:
        t.join(timeout=40)

    before = [r for r in results if r[1] < killed]
    in_flight = [r for r in results if r[0] < gone <= r[1] or (r[0] < gone and r[1] >= killed)]
    after = [r for r in results if r[0] >= gone]
    acked = [r for r in results if 200 <= r[2] < 300]
    say(f"failover: A killed (SIGKILL) {kill_after:.1f} s into {writers} writers through nginx; "
        f"{len(results)} writes: {len(before)} before, {len(in_flight)} in flight, {len(after)} after "
        f"(A's port refused connections {1000 * (gone - killed):.1f} ms after the signal)")
    wrong_before = [r[:4] for r in before if r[2] != 201]
    wrong_after = [r[:4] + (r[5],) for r in after if r[2] != 201]
    wrong_in_flight = [r[:4] + (r[5],) for r in in_flight if r[2] not in (201, 502)]
    if wrong_before or wrong_after or wrong_in_flight:
        fail(f"writes failed: before {wrong_before[:3]}, after {wrong_after[:3]}, in flight {wrong_in_flight[:3]}")
    if len(after) < writers:
        fail(f"too few writes after the failover to judge ({len(after)})")

    # Every acknowledged write is there, whole.
    lb = Client(args.lb, token)
    lost = []
    for r in acked:
        status, body = lb.request("GET", f"/api/v1/admin/articles/{r[4]}")
        if status != 200 or body.get("headline") != r[3]:
            lost.append((r[3], status))
    # In-flight failures: did they commit? Every article's headline, through the admin list.
    headlines, cursor = set(), None
    while True:
        query = "/api/v1/admin/articles?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, page = lb.request("GET", query)
        expect(status, page, 200, "admin article list")
        headlines.update(a["headline"] for a in page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    unknown = [r for r in in_flight if r[2] == 502]
    committed = [r for r in unknown if r[3] in headlines]
    bad_reads = [r for r in reads if r[1] != 200]  # failed, or not the article's current version
    say(f"failover: {len(acked)} acknowledged writes, {len(lost)} lost; {len(unknown)} in flight "
        f"answered 502 ({len(committed)} of them had committed); "
        f"{len(reads)} reads through nginx, {len(bad_reads)} failed")
    if lost:
        fail(f"acknowledged writes lost: {lost[:5]}")
    if bad_reads:
        fail(f"reads through nginx failed: {bad_reads[:5]}")
    status, body = Client(args.lb).request("GET", "/readyz")
    expect(status, body, 200, "readyz through nginx after the failover")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lb", required=True)
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--a-pidfile", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("CLUSTER_ROUNDS", "60")))
    args = parser.parse_args()
    started = time.monotonic()

    lb = Client(args.lb)
    status, body = lb.request("POST", "/api/v1/auth/login", {"email": args.email, "password": args.password})
    token = expect(status, body, 200, "login through nginx")["access_token"]

    receiver = Receiver()
    status, hook = Client(args.lb, token).request(
        "POST", "/api/v1/admin/webhooks", {"url": receiver.url, "events": ["*"], "description": "cluster check"})
    expect(status, hook, 201, "webhook registration through nginx")

    article_id, events = staleness(args, token, args.rounds)
    webhook_once(args, token, receiver, hook["secret"], hook["id"], events)
    status, article = Client(args.lb, token).request("GET", f"/api/v1/admin/articles/{article_id}")
    expect(status, article, 200, "the staleness article")
    failover(args, token, article["slug"], article["headline"])
    say(f"cluster check passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
