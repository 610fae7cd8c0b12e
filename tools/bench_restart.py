#!/usr/bin/env python3
"""Restart of `kefu serve` after a history of resolved conversations (tools/bench restart).

For each COUNT: a fresh data directory; kefu serve with the shop desk and a one-minute idle timeout;
COUNT conversations, each with two customer questions the bot answers (over HTTP, with a
client_msg_id each); then kefu's own idle timer resolves them all (the stats say so); kill -9; kefu
serve again on the same directory. Reported: seconds from the restart to the first /healthz answer,
the server's RSS once it answers (and 5 s later), and the data directory's size.

Usage: bench_restart.py KEFU_BINARY WORK_DIR COUNT [COUNT...]
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

KEFU, WORK, COUNTS = sys.argv[1], sys.argv[2], [int(c) for c in sys.argv[3:]]
ADMIN = "bench-restart-admin-token-0123456789"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUESTIONS = ["How do I place an order?", "how do I return an item", "where is my order", "do you ship abroad"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start(config, data, port):
    env = dict(os.environ, KEFU_ADMIN_TOKEN=ADMIN)
    return subprocess.Popen([KEFU, "serve", "--config", config, "--data", data, "--listen", f"127.0.0.1:{port}",
                             "--no-ip-limits", "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_healthy(port, deadline_s=120):
    start_t = time.monotonic()
    while time.monotonic() - start_t < deadline_s:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return time.monotonic() - start_t
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError("kefu did not answer /healthz")


def request(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    if r.status // 100 != 2:
        raise RuntimeError(f"{method} {path}: HTTP {r.status} {data[:200]!r}")
    return json.loads(data) if data else None


def fill(port, count, threads=8):
    errors = []

    def work(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for i in range(k, count, threads):
                s = request(conn, "POST", "/v1/desks/shop/conversations", {"locale": "en"})
                for m in range(2):
                    request(conn, "POST", f"/v1/conversations/{s['conversation_id']}/messages",
                            {"text": QUESTIONS[(i + m) % len(QUESTIONS)], "client_msg_id": f"r{i}-{m}"},
                            s["customer_token"])
        except Exception as e:
            errors.append(str(e))

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError(errors[0])


def resolved(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return request(conn, "GET", "/v1/admin/desks/shop/stats", token=ADMIN)["resolved"]


def dir_mb(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 1e6


def run(count):
    work = os.path.join(WORK, f"restart-{count}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with open(os.path.join(ROOT, "kefu.demo.json")) as f:
        demo = json.load(f)
    desk = next(d for d in demo["desks"] if d["id"] == "shop")
    desk["knowledge_bases"] = [os.path.join(ROOT, p) for p in desk["knowledge_bases"]]
    desk["settings"] = {"idle_timeout_minutes": 1}
    config = os.path.join(work, "kefu.json")
    with open(config, "w") as f:
        json.dump({"desks": [desk]}, f)
    data, port = os.path.join(work, "data"), free_port()
    p = start(config, data, port)
    wait_healthy(port)
    t0 = time.monotonic()
    fill(port, count)
    filled = time.monotonic() - t0
    while resolved(port) < count:  # the idle timer resolves each after a minute
        time.sleep(2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    port = free_port()
    p = start(config, data, port)
    healthy = wait_healthy(port)
    rss_now = rss_mb(p.pid)
    time.sleep(5)
    rss_later = rss_mb(p.pid)
    p.terminate()
    p.wait()
    row = {"conversations": count, "fill_seconds": round(filled, 1), "restart_to_healthz_seconds": round(healthy, 3),
           "rss_mb": round(rss_now, 1), "rss_mb_after_5s": round(rss_later, 1), "data_mb": round(dir_mb(data), 1)}
    print(json.dumps(row), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return row


def main():
    rows = [run(c) for c in COUNTS]
    if len(rows) >= 2:
        print(f"RSS after restart: {rows[-1]['rss_mb']:.1f} MB with {rows[-1]['conversations']} resolved conversations, "
              f"{rows[0]['rss_mb']:.1f} MB with {rows[0]['conversations']}: "
              f"{rows[-1]['rss_mb'] - rows[0]['rss_mb']:+.1f} MB")


if __name__ == "__main__":
    main()
