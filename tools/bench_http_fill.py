#!/usr/bin/env python3
"""Conversations for `tools/bench http`: starts COUNT conversations on DESK of a running kefu and
prints one "conversation_id customer_token" per line; with --messages M, first posts M customer
messages (each with a client_msg_id, as the widget sends) to every one of them, over keep-alive
connections from several threads. Exits non-zero on any response that is not 2xx."""
import argparse
import http.client
import json
import sys
import threading

QUESTIONS = ["How do I place an order?", "How long does delivery take?", "how do I return an item",
             "where is my order", "do you ship abroad", "can I change my delivery address"]


def post(conn, path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request("POST", path, json.dumps(body), headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status // 100 != 2:
        raise RuntimeError(f"POST {path}: HTTP {resp.status}: {data[:200]!r}")
    return json.loads(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--desk", default="shop")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--messages", type=int, default=0)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    out, errors, lock = [], [], threading.Lock()

    def work(k):
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        try:
            for i in range(k, args.count, args.threads):
                started = post(conn, f"/v1/desks/{args.desk}/conversations", {"locale": "en"})
                cid, token = started["conversation_id"], started["customer_token"]
                for m in range(args.messages):
                    post(conn, f"/v1/conversations/{cid}/messages",
                         {"text": QUESTIONS[m % len(QUESTIONS)], "client_msg_id": f"fill-{cid}-{m}"}, token)
                with lock:
                    out.append(f"{cid} {token}")
        except Exception as e:  # reported after the threads end
            with lock:
                errors.append(str(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("bench_http_fill: " + errors[0])
    print("\n".join(out))


if __name__ == "__main__":
    main()
