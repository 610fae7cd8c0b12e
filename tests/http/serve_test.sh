#!/usr/bin/env bash
# `kefu serve` as a process, with the demo desks: it starts on a free port (--listen HOST:0) with a
# fresh data directory, answers, writes the admin token with mode 0600, refuses a second kefu on the
# same data directory (exit 1, a clear message), and on SIGTERM shuts down cleanly (exit 0).
set -euo pipefail
kefu=$1
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- stderr of kefu serve:" >&2; cat "$dir/err" >&2 || true; exit 1; }

mkfifo "$dir/out"
"$kefu" serve --listen 127.0.0.1:0 --data "$dir/data" > "$dir/out" 2> "$dir/err" &
pid=$!
exec 3< "$dir/out"
read -r -t 60 -u 3 first || fail "no startup line"
[[ $first =~ ^kefu\ is\ listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] || fail "unexpected first line: $first"
port=${BASH_REMATCH[1]}
welcome=$(timeout 5 cat <&3 | head -n 12 || true)  # the rest of the welcome (URLs, desks, demo agents)
base="http://127.0.0.1:$port"

[ "$(curl -sf "$base/healthz")" = '{"status":"ok"}' ] || fail "/healthz"
[ "$(stat -c %a "$dir/data/admin_token")" = 600 ] || fail "admin token mode is not 0600"
token=$(cat "$dir/data/admin_token")
curl -sf -H "Authorization: Bearer $token" "$base/v1/admin/desks/hr/stats" > /dev/null || fail "admin stats with the token"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$base/v1/admin/desks/hr/stats")
[ "$code" = 401 ] || fail "admin stats with a wrong token gave $code"
curl -sf -H 'Content-Type: application/json' -d '{"desk":"hr","username":"li.na","password":"demo-li.na-8080"}' \
  "$base/v1/agent/login" | grep -q '"token"' || fail "demo agent login"
start=$(curl -sf -H 'Content-Type: application/json' -d '{"locale":"zh"}' "$base/v1/desks/hr/conversations") || fail "start"
grep -q '"customer_token"' <<< "$start" || fail "start returned no token"
# A question the bot cannot answer, escalated: `kefu kb gaps` reports it once the server has stopped.
conv=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["conversation_id"], d["customer_token"])' <<< "$start")
read -r conv_id conv_token <<< "$conv"
curl -sf -H "Authorization: Bearer $conv_token" -H 'Content-Type: application/json' \
  -d '{"text":"can I bring my dog to the office party"}' "$base/v1/conversations/$conv_id/messages" > /dev/null || fail "message"
curl -sf -X POST -H "Authorization: Bearer $conv_token" "$base/v1/conversations/$conv_id/handoff" > /dev/null || fail "handoff"

set +e
"$kefu" serve --listen 127.0.0.1:0 --data "$dir/data" > /dev/null 2> "$dir/err2"
second=$?
set -e
[ "$second" = 1 ] || fail "a second kefu on the same data directory exited with $second"
grep -q "in use by another kefu" "$dir/err2" || { cat "$dir/err2" >&2; fail "no clear message for the second kefu"; }

kill -TERM "$pid"
set +e
wait "$pid"
status=$?
set -e
pid=
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
grep -q "stopped" "$dir/err" || fail "no shutdown message"
gaps=$("$kefu" kb gaps --data "$dir/data" --desk hr --since 1d) || fail "kb gaps exited $?"
grep -q "can I bring my dog to the office party" <<< "$gaps" || fail "kb gaps does not show the question: $gaps"
echo "ok: kefu serve on port $port"
