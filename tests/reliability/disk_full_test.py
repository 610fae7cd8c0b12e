#!/usr/bin/env python3
"""`kefu serve` on a data directory that fills up, then turns read-only: a small tmpfs mounted here.

Writes get 503 with a clear JSON error and Retry-After, reads keep working, the server takes writes
again once space returns (no restart: the store reopens LevelDB itself), and every acknowledged
message is in the history exactly once, also after a restart. Exits 77 (meson: skipped) where a
tmpfs cannot be mounted; tests/reliability/store_fault_test covers the store layer everywhere.

Usage: disk_full_test.py KEFU_BINARY
"""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

KEFU = sys.argv[1]
ADMIN = "disk-test-admin-token-0123456789"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Kefu:
    def __init__(self, data, logs):
        self.data, self.logs, self.proc, self.base, self.starts = data, logs, None, None, 0

    def start(self):
        self.starts += 1
        out = os.path.join(self.logs, "out-%d.txt" % self.starts)
        self.err = os.path.join(self.logs, "err-%d.txt" % self.starts)
        env = dict(os.environ, KEFU_ADMIN_TOKEN=ADMIN)
        self.proc = subprocess.Popen([KEFU, "serve", "--listen", "127.0.0.1:0", "--data", self.data, "--no-ip-limits",
                                      "--quiet"], stdout=open(out, "w"), stderr=open(self.err, "w"), env=env)
        deadline = time.time() + 180
        while time.time() < deadline:
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", open(out).read())
            if m:
                self.base = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        fail("kefu serve did not start: " + open(self.err).read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        if code != 0:
            fail("kefu serve exited with %d after SIGTERM: %s" % (code, open(self.err).read()[-2000:]))

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null"), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null"), dict(e.headers)


def fill(path):
    """Writes a file until the file system is full (down to single bytes)."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            while True:
                try:
                    f.write(b"\0" * chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break


def main():
    work = tempfile.mkdtemp(prefix="kefu-disk-")
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    if subprocess.call(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt], stderr=subprocess.DEVNULL) != 0:
        print("SKIP: cannot mount a tmpfs here (needs root and mount rights); store_fault_test covers the store layer")
        shutil.rmtree(work)
        return 77
    kefu = Kefu(os.path.join(mnt, "data"), work)
    try:
        return run(kefu, mnt)
    finally:
        if kefu.proc and kefu.proc.poll() is None:
            kefu.proc.kill()
            kefu.proc.wait()
        subprocess.call(["umount", "-l", mnt])
        shutil.rmtree(work, ignore_errors=True)


def post(kefu, conv, acked, cmid, expect_ok=None):
    status, body, headers = kefu.call("POST", "/v1/conversations/%s/messages" % conv["id"],
                                      {"text": "How do I place an order? " + cmid, "client_msg_id": cmid}, conv["token"])
    if status == 200:
        acked.append(cmid)
    elif status == 503:
        err = body.get("error", {})
        if err.get("code") != "unavailable" or "data directory refused the write" not in err.get("message", ""):
            fail("503 without a clear error: %r" % body)
        if headers.get("Retry-After") is None:
            fail("503 without Retry-After")
    else:
        fail("POST message: HTTP %d %r" % (status, body))
    if expect_ok is not None and (status == 200) != expect_ok:
        fail("POST message %s: HTTP %d, expected %s" % (cmid, status, "200" if expect_ok else "503"))
    return status


def post_until_accepted(kefu, conv, acked, cmid, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if post(kefu, conv, acked, cmid) == 200:
            return
        time.sleep(0.2)
    fail("writes did not resume within %d s after the disk came back" % seconds)


def check_history(kefu, conv, acked, when):
    status, body, _ = kefu.call("GET", "/v1/conversations/%s/messages?limit=1000" % conv["id"], token=conv["token"])
    if status != 200:
        fail("%s: history HTTP %d %r" % (when, status, body))
    seqs = [m["seq"] for m in body["messages"]]
    if seqs != list(range(1, len(seqs) + 1)):
        fail("%s: seqs are not 1..n: %r" % (when, seqs))
    seen = {}
    for m in body["messages"]:
        if m["kind"] == "customer":
            seen[m.get("client_msg_id")] = seen.get(m.get("client_msg_id"), 0) + 1
    for cmid in acked:
        if seen.get(cmid) != 1:
            fail("%s: acknowledged message %s is there %s times" % (when, cmid, seen.get(cmid, 0)))
    for cmid, n in seen.items():
        if n > 1:
            fail("%s: message %s is there %d times" % (when, cmid, n))
    return len(body["messages"])


def run(kefu, mnt):
    kefu.start()
    status, body, _ = kefu.call("POST", "/v1/desks/shop/conversations", {"locale": "en"})
    if status != 201:
        fail("start: %d %r" % (status, body))
    conv = {"id": body["conversation_id"], "token": body["customer_token"]}
    acked = []
    for i in range(20):
        post(kefu, conv, acked, "before-%d" % i, expect_ok=True)

    # --- The disk fills up.
    filler = os.path.join(mnt, "filler")
    fill(filler)
    refused = 0
    for i in range(40):  # the log's last page may still take a record or two
        if post(kefu, conv, acked, "full-%d" % i) == 503:
            refused += 1
            if refused == 5:
                break
    if refused < 5:
        fail("writes on a full disk were not refused")
    status, body, _ = kefu.call("POST", "/v1/desks/shop/conversations", {"locale": "en"})
    if status != 503:
        fail("starting a conversation on a full disk: HTTP %d" % status)
    # Reads keep working.
    n = check_history(kefu, conv, acked, "disk full")
    status, body, _ = kefu.call("GET", "/v1/conversations/" + conv["id"], token=conv["token"])
    if status != 200 or body["conversation"]["last_seq"] != n:
        fail("conversation view on a full disk: %d %r" % (status, body))
    if kefu.call("GET", "/healthz")[0] != 200:
        fail("/healthz on a full disk")
    print("disk full: %d writes refused with 503, reads fine (%d messages)" % (refused, n))

    # --- Space returns: writes resume without a restart.
    os.unlink(filler)
    t0 = time.time()
    post_until_accepted(kefu, conv, acked, "after-space-0")
    print("space returned: writes resumed after %.1f s" % (time.time() - t0))
    for i in range(1, 10):
        post(kefu, conv, acked, "after-space-%d" % i, expect_ok=True)
    check_history(kefu, conv, acked, "after space returned")

    # --- Read-only: tmpfs refuses a read-only remount while files are open for writing on some
    # kernels; then this part is reported and skipped.
    if subprocess.call(["mount", "-o", "remount,ro", mnt], stderr=subprocess.DEVNULL) == 0:
        refused = 0
        for i in range(10):
            if post(kefu, conv, acked, "ro-%d" % i) == 503:
                refused += 1
        if refused == 0:
            fail("writes on a read-only data directory were not refused")
        check_history(kefu, conv, acked, "read-only")
        if subprocess.call(["mount", "-o", "remount,rw", mnt]) != 0:
            fail("cannot remount read-write")
        post_until_accepted(kefu, conv, acked, "after-ro-0")
        print("read-only: %d writes refused with 503, reads fine, writes resumed after remount" % refused)
    else:
        print("note: this kernel refuses a read-only remount of a tmpfs with open files; read-only part skipped "
              "(store_fault_test injects EROFS instead)")

    # --- A restart on the same directory: everything acknowledged is there, once.
    kefu.stop()
    kefu.start()
    n = check_history(kefu, conv, acked, "after restart")
    post(kefu, conv, acked, "after-restart", expect_ok=True)
    kefu.stop()
    print("ok: %d acknowledged messages, each exactly once after the outages and a restart (%d in history)" %
          (len(acked), n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
