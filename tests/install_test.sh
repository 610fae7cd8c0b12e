#!/usr/bin/env bash
# kefu runs from anywhere: the binary copied to a folder outside the source tree, started from yet
# another folder with no flag but a free port, serves the demo desks (built into the binary) and
# answers from their KBs; `meson install` installs a kefu that does the same, the demo desks as a
# config that validates as is, and the documentation.
# Usage: install_test.sh KEFU BUILD_DIR PREFIX
set -euo pipefail
kefu=$1
build=$2
prefix=$3
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- stderr of kefu serve:" >&2; cat "$dir/err" >&2 || true; exit 1; }

# serves BINARY from a fresh working folder (no --config, no --data: ./data there), asks the HR desk
# a question and stops it.
serves_demo() {
  local binary=$1 work
  work=$(mktemp -d "$dir/work.XXXX")
  rm -f "$dir/out"
  mkfifo "$dir/out"
  (cd "$work" && exec "$binary" serve --listen 127.0.0.1:0 --quiet > "$dir/out" 2> "$dir/err") &
  pid=$!
  exec 3< "$dir/out"
  read -r -t 60 -u 3 first || fail "$binary: no startup line"
  [[ $first =~ ^kefu\ is\ listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] || fail "$binary: unexpected first line: $first"
  local base="http://127.0.0.1:${BASH_REMATCH[1]}"
  start=$(curl -sf -H 'Content-Type: application/json' -d '{}' "$base/v1/desks/hr/conversations") || fail "start"
  read -r conv_id conv_token < <(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["conversation_id"], d["customer_token"])' <<< "$start")
  reply=$(curl -sf -H "Authorization: Bearer $conv_token" -H 'Content-Type: application/json' \
    -d '{"text":"how do I apply for annual leave"}' "$base/v1/conversations/$conv_id/messages") || fail "message"
  grep -q 'HR portal' <<< "$reply" || fail "$binary: the HR desk did not answer from its KB: $reply"
  [ -f "$work/data/demo/kefu.demo.json" ] || fail "no copy of the demo desks in ./data/demo"
  kill -TERM "$pid"
  wait "$pid" || fail "$binary: exit status $? after SIGTERM"
  pid=
  exec 3<&-
  echo "ok   $binary serves the demo desks from $work"
}

mkdir "$dir/elsewhere"
cp "$kefu" "$dir/elsewhere/kefu"
serves_demo "$dir/elsewhere/kefu"

meson install -C "$build" --no-rebuild --quiet --destdir "$dir/dest" > "$dir/install.log" 2>&1 ||
  { cat "$dir/install.log" >&2; fail "meson install"; }
root="$dir/dest$prefix"
serves_demo "$root/bin/kefu"
"$root/bin/kefu" config check "$root/share/kefu/kefu.demo.json" > "$dir/check" 2>&1 ||
  { cat "$dir/check" >&2; fail "the installed demo config does not validate"; }
for doc in README.md docs/api.md docs/config.md docs/kb-format.md docs/perf/matcher_build.svg docs/console.png; do
  [ -f "$root/share/doc/kefu/$doc" ] || fail "meson install did not install $doc"
done
echo "ok   meson install: binary, demo desks, documentation"
