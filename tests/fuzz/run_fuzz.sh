#!/usr/bin/env bash
# Fuzzes one libFuzzer target for ${KEFU_FUZZ_SECONDS:-15} seconds: new inputs go to WORK_DIR (never
# into the repository's seed corpus), a crash is written to WORK_DIR/crash-* and fails the run.
# Usage: run_fuzz.sh BINARY SEED_DIR WORK_DIR
set -euo pipefail
binary=$1 seeds=$2 work=$3
seconds=${KEFU_FUZZ_SECONDS:-15}
mkdir -p "$work/corpus"
rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*  # findings of an earlier run
# A non-zero exit or a crash file is a failure; -error_exitcode makes libFuzzer's own reports fail.
# Not 77: meson reads 77 as "skipped" (a crash once passed CI that way), and not under `set -e`,
# which ended the script at libFuzzer's exit before the findings below were reported.
set +e
"$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=65536 -print_final_stats=1 \
  -error_exitcode=1 -artifact_prefix="$work/" "$work/corpus" "$seeds" 2>&1 | tail -n 40
status=${PIPESTATUS[0]}
set -e
if compgen -G "$work/crash-*" > /dev/null || compgen -G "$work/leak-*" > /dev/null || compgen -G "$work/timeout-*" > /dev/null; then
  echo "run_fuzz: findings kept in $work:" >&2
  ls -l "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null >&2 || true
  exit 1
fi
exit "$status"
