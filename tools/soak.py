#!/usr/bin/env python3
"""Soak test of `kefu serve` (tools/bench soak MINUTES): a mixed load for MINUTES, the server's memory
(RSS) sampled every 10 s.

The load: customer threads start conversations, ask FAQs, ask for a person and rate; agent threads
stay online, claim, reply and resolve; SSE listeners follow conversations for a few seconds each and
resume with Last-Event-ID; long polls and history reads.

Memory that grows with data (one in-memory record per conversation, by design) must be told apart
from a leak, so the run has two halves:
  1. "growing": new conversations all the time. Reported: bytes of RSS per conversation.
  2. "steady": the same request mix on the conversations of the first half only (they are resolved
     and reopened, read and streamed), no new ones. Whatever still grows here is not data: the
     bounded caches (live-event rings, LevelDB's 32 MiB block cache and 16 MiB memtable, the stats
     accumulator) must have filled in the first half, so RSS must stay flat.
Pass: RSS growth over the steady half under STEADY_LIMIT_MB (default 24, half of LevelDB's caches).

Usage: soak.py KEFU_BINARY MINUTES WORK_DIR
"""
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

KEFU, MINUTES, WORK = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ADMIN = "soak-admin-token-0123456789abcdefghij"  # at least 32 characters (kefu refuses shorter)
STEADY_LIMIT_MB = float(os.environ.get("STEADY_LIMIT_MB", "24"))
AGENTS = [("shop", "soak-a%d" % i, 4) for i in range(3)] + [("hr", "soak-h%d" % i, 4) for i in range(2)]
SHOP = ["How do I place an order?", "what payment methods do you accept", "where is my refund", "talk to a human",
        "my parcel is broken"]
HR = ["我想请年假怎么申请", "how many days of annual leave do I have", "转人工", "how do I change my bank account"]


class Api:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def call(self, method, path, body=None, token=None, headers=None, timeout=30):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            h = dict(headers or {})
            if token:
                h["Authorization"] = "Bearer " + token
            data = None
            if body is not None:
                data = json.dumps(body)
                h["Content-Type"] = "application/json"
            try:
                self.conn.request(method, path, data, h)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw and raw[:1] in b"{[" else None)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    return 0, None
        return 0, None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.conversations = []  # (id, token)

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def customer(port, stats, stop, growing, seed):
    rng = random.Random(seed)
    api = Api(port)
    while not stop.is_set():
        if growing.is_set() or not stats.conversations:
            desk = rng.choice(["shop", "hr"])
            status, body = api.call("POST", "/v1/desks/%s/conversations" % desk, {"locale": "en"})
            if status != 201:
                stats.add("queue_full" if status == 429 else "errors")
                time.sleep(0.1)
                continue
            conv = (body["conversation_id"], body["customer_token"], desk)
            with stats.lock:
                stats.conversations.append(conv)
            stats.add("conversations")
        else:
            with stats.lock:
                conv = rng.choice(stats.conversations)
        cid, token, desk = conv
        for _ in range(rng.randint(1, 4)):
            text = rng.choice(SHOP if desk == "shop" else HR)
            status, body = api.call("POST", "/v1/conversations/%s/messages" % cid, {"text": text}, token)
            # 429: the desk's queue is full (max_queue), a refusal by design, not an error.
            stats.add("messages" if status == 200 else "queue_full" if status == 429 else "errors")
            time.sleep(rng.uniform(0.05, 0.3))
        if rng.random() < 0.3:
            api.call("GET", "/v1/conversations/%s/messages?after=0" % cid, token=token)
            stats.add("reads")
        if rng.random() < 0.2:
            api.call("GET", "/v1/conversations/%s/poll?after=1000000&timeout=1" % cid, token=token)
            stats.add("polls")
        if rng.random() < 0.2:
            status, _ = api.call("POST", "/v1/conversations/%s/csat" % cid, {"rating": rng.randint(1, 5)}, token)
            stats.add("csat" if status == 200 else "csat_refused")


def agent(port, desk, username, stats, stop, seed):
    rng = random.Random(seed)
    api = Api(port)
    token = None
    while not stop.is_set():
        if token is None:
            status, body = api.call("POST", "/v1/agent/login",
                                    {"desk": desk, "username": username, "password": "password-" + username})
            if status != 200:
                time.sleep(0.5)
                continue
            token = body["token"]
            api.call("PUT", "/v1/agent/presence", {"status": "online"}, token)
        status, body = api.call("GET", "/v1/agent/conversations", token=token)
        if status != 200:
            token = None
            continue
        for v in body["conversations"]:
            api.call("POST", "/v1/agent/conversations/%s/reply" % v["conversation_id"],
                     {"text": "Thanks, looking into it (%d)" % rng.randint(0, 1 << 30)}, token)
            stats.add("replies")
            if rng.random() < 0.5:
                api.call("POST", "/v1/agent/conversations/%s/resolve" % v["conversation_id"], {}, token)
                stats.add("resolved")
        if rng.random() < 0.3:
            api.call("GET", "/v1/agent/queue", token=token)
            api.call("GET", "/v1/agent/stats", token=token)
        time.sleep(rng.uniform(0.1, 0.4))


def listener(port, stats, stop, seed):
    """Follows a random conversation's SSE stream for a few seconds, then another, resuming by seq."""
    rng = random.Random(seed)
    while not stop.is_set():
        with stats.lock:
            if not stats.conversations:
                conv = None
            else:
                conv = rng.choice(stats.conversations[-200:])
        if conv is None:
            time.sleep(0.2)
            continue
        cid, token, _ = conv
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/v1/conversations/%s/events" % cid,
                         headers={"Authorization": "Bearer " + token, "Last-Event-ID": str(rng.randint(0, 3))})
            r = conn.getresponse()
            end = time.time() + rng.uniform(1, 6)
            while time.time() < end and not stop.is_set():
                if not r.fp.readline():
                    break
            stats.add("sse_streams")
        except (OSError, http.client.HTTPException):
            stats.add("sse_timeouts")
        finally:
            conn.close()


def main():
    shutil.rmtree(os.path.join(WORK, "data"), ignore_errors=True)  # a rerun starts from an empty store
    os.makedirs(WORK, exist_ok=True)
    out, err = open(os.path.join(WORK, "out.txt"), "w"), open(os.path.join(WORK, "err.txt"), "w")
    proc = subprocess.Popen([KEFU, "serve", "--listen", "127.0.0.1:0", "--data", os.path.join(WORK, "data"),
                             "--no-ip-limits", "--quiet", "--threads", "96"],
                            stdout=out, stderr=err, env=dict(os.environ, KEFU_ADMIN_TOKEN=ADMIN))
    port = None
    for _ in range(1800):
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(os.path.join(WORK, "out.txt")).read())
        if m:
            port = int(m.group(1))
            break
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if port is None:
        print(open(os.path.join(WORK, "err.txt")).read(), file=sys.stderr)
        sys.exit("kefu serve did not start")
    admin = Api(port)
    for desk, username, capacity in AGENTS:
        admin.call("POST", "/v1/admin/desks/%s/agents" % desk,
                   {"username": username, "password": "password-" + username, "capacity": capacity}, ADMIN)
    stats, stop, growing = Stats(), threading.Event(), threading.Event()
    growing.set()
    threads = [threading.Thread(target=customer, args=(port, stats, stop, growing, i)) for i in range(8)]
    threads += [threading.Thread(target=agent, args=(port, d, u, stats, stop, 100 + i)) for i, (d, u, _) in
                enumerate(AGENTS)]
    threads += [threading.Thread(target=listener, args=(port, stats, stop, 200 + i)) for i in range(6)]
    for t in threads:
        t.start()

    seconds = MINUTES * 60
    start = time.time()
    samples = []  # (t, rss_kb, conversations, phase)
    print("machine: %d cores; kefu pid %d on port %d; %.0f minutes: growing half, then steady half" %
          (os.cpu_count(), proc.pid, port, MINUTES))
    print("%7s %8s %9s %14s %9s %8s %7s %s" % ("t (s)", "phase", "RSS MB", "conversations", "messages", "replies",
                                               "SSE", "store MB"))
    while time.time() - start < seconds:
        time.sleep(min(10, max(0, seconds - (time.time() - start))))
        t = time.time() - start
        if growing.is_set() and t >= seconds / 2:
            growing.clear()
        phase = "growing" if growing.is_set() else "steady"
        with stats.lock:
            c = dict(stats.counts)
            n = len(stats.conversations)
        store = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(os.path.join(WORK, "data"))
                    for f in fs if os.path.exists(os.path.join(dp, f)))
        rss = rss_kb(proc.pid)
        samples.append((t, rss, n, phase))
        print("%7.0f %8s %9.1f %14d %9d %8d %7d %8.1f" % (t, phase, rss / 1024, n, c.get("messages", 0),
                                                          c.get("replies", 0), c.get("sse_streams", 0), store / 2**20),
              flush=True)
    stop.set()
    for t in threads:
        t.join()
    with stats.lock:
        c = dict(stats.counts)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)

    growing_s = [s for s in samples if s[3] == "growing"]
    steady_s = [s for s in samples if s[3] == "steady"]
    print()
    print("requests: %s" % ", ".join("%s %d" % kv for kv in sorted(c.items())))
    if len(growing_s) >= 3:
        a, b = growing_s[len(growing_s) // 3], growing_s[-1]
        if b[2] > a[2]:
            print("growing half: %.0f bytes of RSS per new conversation (from t=%.0f s to %.0f s, %d conversations)" %
                  ((b[1] - a[1]) * 1024 / (b[2] - a[2]), a[0], b[0], b[2] - a[2]))
    ok = True
    if len(steady_s) >= 2:
        base = steady_s[0][1]
        peak = max(s[1] for s in steady_s)
        last = steady_s[-1][1]
        growth = (last - base) / 1024
        print("steady half: RSS %.1f MB at its start, %.1f MB peak, %.1f MB at the end: %+.1f MB over %.0f s "
              "(limit %.0f MB)" % (base / 1024, peak / 1024, last / 1024, growth, steady_s[-1][0] - steady_s[0][0],
                                   STEADY_LIMIT_MB))
        ok = growth < STEADY_LIMIT_MB
    if c.get("errors", 0):
        print("errors: %d requests failed" % c["errors"])
        ok = False
    if code != 0:
        print("kefu serve exited with %d after SIGTERM" % code)
        ok = False
    print("soak: " + ("PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
